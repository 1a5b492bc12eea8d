"""babyapi serve delegates to babyapi.server."""

from __future__ import annotations

import signal
import socket
import time

from cli_harness import CLI


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_serve_help_comes_from_the_server(offline_cli: CLI) -> None:
    result = offline_cli.run("serve", "--help")
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout
    assert "--api-key" in result.stdout


def test_serve_answers_the_cli_and_stops_on_sigint(offline_cli: CLI) -> None:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = offline_cli.popen("serve", "--port", str(port), "--api-key", "serve-key")
    try:
        client = CLI(base_url)
        env = client.env(BABYAPI_API_KEY="serve-key")
        deadline = time.monotonic() + 15
        while not _accepts(port):
            assert server.poll() is None, server.communicate(timeout=5)
            assert time.monotonic() < deadline, "babyapi serve did not start listening"
            time.sleep(0.05)
        result = client.run("models", "--max-retries", "0", env=env)
        assert result.returncode == 0, result.stderr
        assert "mistral" in result.stdout
        denied = client.run("models", "--api-key", "other", "--max-retries", "0")
        assert denied.returncode == 1
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=10)
        assert server.returncode in (0, 130)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=5)


def test_serve_on_a_busy_port_is_one_line_and_exit_3(offline_cli: CLI) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = offline_cli.run("serve", "--port", str(port))
    assert result.returncode == 3
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("babyapi serve: cannot listen on 127.0.0.1:")
    assert "in use" in line
    assert "BabyAPI local server on" not in result.stderr  # no banner for a server that never ran


def test_serve_with_a_port_out_of_range_is_one_line_and_exit_2(offline_cli: CLI) -> None:
    result = offline_cli.run("serve", "--port", "99999")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--port must be 0 to 65535" in line
    assert "Traceback" not in result.stderr


def test_serve_banner_comes_once_listening_and_says_which_key(offline_cli: CLI) -> None:
    port = _free_port()
    server = offline_cli.popen("serve", "--port", str(port))
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        assert _accepts(port), "the banner came before the server was listening"
        assert f"http://127.0.0.1:{port}" in banner
        assert "any non-empty key" in banner
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=5)
