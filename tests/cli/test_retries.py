"""babyapi chat and complete --stream retry what fails before any data, as --max-retries says.

The SDK never retries a stream; the command line is an application that does, with the
SDK's rule. Drills ask for ``retry-after=0`` so no test waits for a backoff.
"""

from __future__ import annotations

from cli_harness import CLI

PROMPT = "> "


def drill(spec: str) -> list[str]:
    return ["-H", f"x-babyapi-fault: {spec}"]


def test_chat_survives_two_503s_before_the_stream_starts(cli: CLI) -> None:
    result = cli.run("chat", "-m", "mistral", *drill("fail-first=2;status=503;retry-after=0"), "Hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr == ""


def test_complete_stream_retries_a_429_too(cli: CLI) -> None:
    result = cli.run(
        "complete",
        "--stream",
        "--max-tokens",
        "8",
        *drill("fail-first=1;status=429;retry-after=0"),
        "Once upon a time",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_max_retries_zero_means_one_attempt(cli: CLI) -> None:
    result = cli.run(
        "chat",
        "--max-retries",
        "0",
        *drill("fail-first=1;status=503;retry-after=0"),
        "-m",
        "mistral",
        "Hi",
    )
    assert result.returncode == 1
    assert "HTTP 503" in result.stderr
    assert "gave up" not in result.stderr


def test_giving_up_says_after_how_many_attempts(cli: CLI) -> None:
    result = cli.run("chat", "-m", "mistral", *drill("fail-first=9;status=503;retry-after=0"), "Hi")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "HTTP 503" in line
    assert "gave up after 3 attempts" in line
    assert "--max-retries 2" in line  # the option, not the Python setting


def test_a_stream_cut_after_data_is_not_retried_nor_blamed_on_the_network(cli: CLI) -> None:
    result = cli.run("chat", "-m", "mistral", *drill("fail-first=1;stream-cut-after=3"), "Hi")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert "STREAM_INTERRUPTED" in line
    assert "reachable" not in line
    assert "try again" in line
    assert "error.partial" not in line


def test_interactive_chat_retries_each_turn(cli: CLI) -> None:
    session = cli.pty("chat", "-m", "mistral", *drill("fail-first=1;status=503;retry-after=0"))
    try:
        session.read_until(PROMPT)
        session.send("Hello\n")
        output = session.read_until(PROMPT)
        assert "503" not in output
        session.send("/exit\n")
        assert session.wait() == 0
    finally:
        session.close()


def test_complete_stream_json_retries_too(cli: CLI) -> None:
    result = cli.run(
        "complete",
        "--stream",
        "--json",
        "--max-tokens",
        "4",
        *drill("fail-first=1;status=503;retry-after=0"),
        "Once",
    )
    assert result.returncode == 0, result.stderr
    assert all(line.startswith("{") for line in result.stdout.splitlines())
    assert len(result.stdout.splitlines()) >= 2
