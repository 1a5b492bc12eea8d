"""LocalServer's lifecycle, the command line, and what `import babyapi` loads."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from babyapi.server import LocalServer, add_serve_arguments, create_app


def test_local_server_start_stop_frees_the_port() -> None:
    server = LocalServer(api_key="secret-key")
    server.start()
    try:
        assert server.running
        assert server.base_url == f"http://127.0.0.1:{server.port}" == server.url
        assert server.openai_base_url.endswith("/v1")
        assert "secret-key" not in repr(server)
        assert httpx.get(server.base_url + "/health").status_code == 200
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
    assert not server.running
    server.stop()  # idempotent
    with socket.socket() as probe:  # the port is released
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", server.port))


def test_stop_is_bounded_with_a_request_in_flight() -> None:
    threads_before = threading.active_count()
    with LocalServer(shutdown_timeout_s=2.0) as server:
        url = server.base_url + "/health"

        def hang() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server goes away mid-request
                httpx.get(url, headers={"x-babyapi-fault": "hang=30"}, timeout=30)

        caller = threading.Thread(target=hang, daemon=True)
        caller.start()
        time.sleep(0.2)
        started = time.monotonic()
    assert time.monotonic() - started < 15.0  # 2 s to drain, not the 30 s the request hangs
    caller.join(5)
    assert threading.active_count() <= threads_before


def test_create_app_validates_its_limit() -> None:
    with pytest.raises(ValueError):
        create_app(max_body_bytes=0)


def test_add_serve_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    args = parser.parse_args(["--port", "9001", "--api-key", "k"])
    assert (args.host, args.port, args.api_key, args.max_body_bytes) == (
        "127.0.0.1",
        9001,
        "k",
        1_048_576,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_python_dash_m_serves_until_interrupted() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "babyapi.server", "--port", str(port), "--api-key", "k"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(base + "/v1/models", headers={"Authorization": "Bearer k"})
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200
        assert httpx.get(base + "/v1/models").status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == 0


def test_import_babyapi_does_not_load_the_server_stack() -> None:
    code = (
        "import sys, babyapi, babyapi.server;"
        "heavy = {'starlette', 'uvicorn'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"


def test_missing_starlette_gives_an_install_hint() -> None:
    # A None entry in sys.modules makes the import fail as if not installed.
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "import babyapi.server\n"
        "try:\n"
        "    babyapi.server.LocalServer\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'babyapi[server]'" in out.stdout


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _server_threads(port: int) -> list[str]:
    """This server's thread, if it still runs (other tests keep servers of their own)."""
    return [t.name for t in threading.enumerate() if t.name == f"babyapi-server-{port}"]


def test_a_taken_port_fails_start_with_the_os_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = LocalServer(port=port)
        with pytest.raises(OSError) as info:
            server.start()
        assert info.value.errno == errno.EADDRINUSE
        assert not server.running and _server_threads(port) == []
    server.port = 0  # the same object starts on a free port afterwards
    with server:
        assert httpx.get(server.base_url + "/health").status_code == 200


def test_a_start_that_fails_after_binding_frees_the_port() -> None:
    with socket.socket() as sock:  # a port known to be free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = LocalServer(port=port, max_body_bytes=0)  # refused by the app, after the bind
    with pytest.raises(ValueError):
        server.start()
    assert not server.running and _server_threads(port) == []
    assert _port_is_free(port), "the socket bound for the failed start was left open"


# The server thread dying is the point; its traceback is expected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_server_thread_that_dies_starting_up_is_reported_and_cleaned_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    async def fails(self: uvicorn.Server, sockets: object = None) -> None:
        raise SystemExit(1)  # what uvicorn itself does when its startup fails

    monkeypatch.setattr(uvicorn.Server, "startup", fails)
    server = LocalServer()
    with pytest.raises(RuntimeError, match=r"did not start on http://127\.0\.0\.1:"):
        server.start()
    assert not server.running
    for _ in range(100):  # bounded: the thread may take a moment to finish exiting
        if not _server_threads(server.port):
            break
        time.sleep(0.05)
    assert _server_threads(server.port) == []
    assert _port_is_free(server.port)


def test_an_unknown_log_level_is_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="log_level must be one of critical, error, warning"):
        LocalServer(log_level="verbose")
