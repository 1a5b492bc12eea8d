"""API errors exit 1 with one line on stderr; SIGINT exits 130."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from cli_harness import CLI, SECRET, StallServer


@pytest.fixture
def secured(secured_server: str) -> CLI:
    return CLI(secured_server)


def test_wrong_api_key_is_one_line_and_exit_1(secured: CLI) -> None:
    result = secured.run("models", "--api-key", "wrong-key-123")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "401" in lines[0]
    assert "--api-key" in lines[0]  # what to do
    assert "wrong-key-123" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_right_api_key_works(secured: CLI) -> None:
    result = secured.run("models", env=secured.env(BABYAPI_API_KEY=SECRET))
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_debug_shows_the_traceback(secured: CLI) -> None:
    result = secured.run("--debug", "models")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("babyapi: models failed")


def test_unknown_model_names_the_status_and_request_id(cli: CLI) -> None:
    result = cli.run("infer", "-m", "no-such-model", "Hello")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "404" in line
    assert "babyapi models" in line
    assert "\n" not in line


def test_unreachable_server_is_exit_1(offline_cli: CLI) -> None:
    result = offline_cli.run("models", "--max-retries", "0")
    assert result.returncode == 1
    assert offline_cli.base_url is not None
    assert offline_cli.base_url in result.stderr
    assert "Traceback" not in result.stderr


def test_sigint_while_waiting_exits_130() -> None:
    with StallServer(first=None) as server:
        cli = CLI(server.base_url)
        proc = cli.popen("models")
        try:
            assert server.accepted.wait(15), "the command never connected"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
            assert proc.returncode == 130
            assert "Traceback" not in err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=5)


def _blocked_reading_a_pipe(pid: int, timeout: float = 15) -> None:
    """Wait until the process sleeps reading its stdin pipe (Linux /proc); else give it a second.

    A pipe wait alone is not enough: something imported at start-up may wait on a pipe of its
    own, and a Ctrl-C there is not the one under test. /proc/PID/syscall names the file
    descriptor being read (its first argument) where the kernel lets us see it.
    """
    wchan = Path(f"/proc/{pid}/wchan")
    if not wchan.exists():
        time.sleep(1)
        return
    deadline = time.monotonic() + timeout
    while not ("pipe" in wchan.read_text() and _reading_fd_0(pid)):
        assert time.monotonic() < deadline, "the command never started reading stdin"
        time.sleep(0.02)


def _reading_fd_0(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return True  # not ours to see: the pipe wait has to do
    return len(fields) > 1 and fields[1] == "0x0"


def test_sigint_while_reading_stdin_exits_130(offline_cli: CLI) -> None:
    proc = offline_cli.popen("chat")
    try:
        assert proc.stdin is not None
        proc.stdin.write("partial prompt")
        proc.stdin.flush()
        # The command reads stdin until EOF, which never comes: only a SIGINT ends it.
        _blocked_reading_a_pipe(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 130
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)


def test_a_timeout_names_the_option_and_its_value(cli: CLI) -> None:
    result = cli.run(
        "--timeout", "0.3", "--max-retries", "0", "models", "-H", "x-babyapi-fault: hang=1"
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "(--timeout 0.3)" in line and "0.3s" in line
    assert "raise --timeout" in line


def test_a_stalled_stream_names_the_option_and_its_value(cli: CLI) -> None:
    result = cli.run(
        "chat", "--timeout", "0.3", "-m", "mistral", "-H", "x-babyapi-fault: chunk-delay=1", "Hi"
    )
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert "(--timeout 0.3)" in line, line
    assert "reachable" not in line
