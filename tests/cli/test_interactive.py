"""The interactive chat session, driven through a pseudo-terminal."""

from __future__ import annotations

import json

from cli_harness import CLI, StallServer


def test_session_keeps_history_and_understands_commands(cli: CLI) -> None:
    session = cli.pty("chat", "-m", "babyapi-tiny")
    try:
        session.read_until("Ctrl-D to exit")
        session.read_until("> ")
        session.send("Hello there\n")
        session.read_until("> ")
        session.send("/help\n")
        session.read_until("/reset")
        session.send("/model mistral\n")
        session.read_until("model: mistral")
        session.send("/system You are terse.\n")
        session.read_until("system prompt set")
        session.send("/system\n")
        session.read_until("system prompt: You are terse.")
        session.send("And again\n")
        session.read_until("> ")
        session.send("/reset\n")
        session.read_until("conversation cleared")
        session.send("/bogus\n")
        session.read_until("unknown command /bogus")
        session.send("\x04")  # Ctrl-D
        assert session.wait() == 0
    finally:
        session.close()


def test_exit_command_and_ctrl_c_at_the_prompt(cli: CLI) -> None:
    session = cli.pty("chat", "-m", "babyapi-tiny")
    try:
        session.read_until("> ")
        session.send("\x03")  # Ctrl-C with no reply running: the session stays
        session.read_until("Ctrl-D or /exit to leave")
        session.send("/exit\n")
        assert session.wait() == 0
    finally:
        session.close()


def test_api_error_in_a_turn_keeps_the_session(cli: CLI) -> None:
    session = cli.pty("chat", "-m", "no-such-model")
    try:
        session.read_until("> ")
        session.send("Hello\n")
        session.read_until("404")
        session.send("/model babyapi-tiny\n")
        session.read_until("model: babyapi-tiny")
        session.send("Hello\n")
        session.read_until("> ")
        session.send("/exit\n")
        assert session.wait() == 0
    finally:
        session.close()


def test_ctrl_c_stops_a_reply_and_keeps_the_session() -> None:
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "partial-answer"}}]})
    with StallServer(first=[chunk]) as server:
        session = CLI(server.base_url).pty("chat", "-m", "stalled")
        try:
            session.read_until("> ")
            session.send("Tell me a long story\n")
            session.read_until("partial-answer")
            session.send("\x03")
            session.read_until("[reply stopped]")
            session.send("/model\n")
            session.read_until("model: stalled")
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
