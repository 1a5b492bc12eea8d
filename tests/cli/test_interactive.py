"""The interactive chat session, driven through a pseudo-terminal.

Keys are typed only once the prompt is back, as a person would: an EOF typed while
no read is pending is lost when readline switches the terminal out of line mode.
"""

from __future__ import annotations

import json

from cli_harness import CLI, PtySession, StallServer

PROMPT = "> "


def say(session: PtySession, line: str, expect: str = "") -> None:
    """Type a line, wait for ``expect`` and then for the next prompt."""
    session.send(line + "\n")
    if expect:
        session.read_until(expect)
    session.read_until(PROMPT)


def test_session_keeps_history_and_understands_commands(cli: CLI) -> None:
    session = cli.pty("chat", "-m", "babyapi-tiny")
    try:
        session.read_until("Ctrl-D to exit")
        session.read_until(PROMPT)
        say(session, "Hello there")
        say(session, "/help", "/reset")
        say(session, "/model mistral", "model: mistral")
        say(session, "/system You are terse.", "system prompt set")
        say(session, "/system", "system prompt: You are terse.")
        say(session, "And again")
        say(session, "/reset", "conversation cleared")
        say(session, "/bogus", "unknown command /bogus")
        session.send("\x04")  # Ctrl-D
        assert session.wait() == 0
    finally:
        session.close()


def test_exit_command_and_ctrl_c_at_the_prompt(cli: CLI) -> None:
    session = cli.pty("chat", "-m", "babyapi-tiny")
    try:
        session.read_until(PROMPT)
        # Ctrl-C with no reply running: the session stays. CPython's readline misses a SIGINT
        # that lands before it starts waiting for a key, so a Ctrl-C that early is pressed again.
        for _attempt in range(5):
            session.send("\x03")
            try:
                session.read_until("Ctrl-D or /exit to leave", timeout=1.0)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError(f"Ctrl-C at the prompt was never acknowledged: {session.output!r}")
        session.read_until(PROMPT)
        session.send("/exit\n")
        assert session.wait() == 0
    finally:
        session.close()


def test_api_error_in_a_turn_keeps_the_session(cli: CLI) -> None:
    session = cli.pty("chat", "-m", "no-such-model")
    try:
        session.read_until(PROMPT)
        say(session, "Hello", "404")
        assert "/model NAME" in session.output and "-m MODEL" not in session.output
        say(session, "/model babyapi-tiny", "model: babyapi-tiny")
        say(session, "Hello")
        session.send("/exit\n")
        assert session.wait() == 0
    finally:
        session.close()


def test_ctrl_c_stops_a_reply_and_keeps_the_session() -> None:
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "partial-answer"}}]})
    with StallServer(first=[chunk]) as server:
        session = CLI(server.base_url).pty("chat", "-m", "stalled")
        try:
            session.read_until(PROMPT)
            session.send("Tell me a long story\n")
            session.read_until("partial-answer")
            session.send("\x03")  # the server never finishes: only Ctrl-C ends this reply
            session.read_until("[reply stopped]")
            session.read_until(PROMPT)
            say(session, "/model", "model: stalled")
            session.send("\x04")
            assert session.wait() == 0
        finally:
            session.close()


def test_colour_and_tables_only_on_a_terminal(cli: CLI) -> None:
    coloured = cli.pty("models", env=cli.env(TERM="xterm"))
    try:
        coloured.read_until("mistral")
        assert coloured.wait() == 0
        assert "\x1b[1m" in coloured.output
        assert "OWNED BY" in coloured.output
    finally:
        coloured.close()
    plain = cli.pty("models", env=cli.env(TERM="xterm", NO_COLOR="1"))
    try:
        plain.read_until("mistral")
        assert plain.wait() == 0
        assert "\x1b[" not in plain.output
        assert "OWNED BY" in plain.output
    finally:
        plain.close()
