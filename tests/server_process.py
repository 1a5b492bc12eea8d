"""The local BabyAPI server in a child process, as a user runs it (``python -m babyapi.server``).

A separate process gives the server its own interpreter (its own GIL and memory), so tests
can load it from many client threads, measure the client process alone, and read exactly
what the server prints (stdout and stderr, in one log).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import IO, Optional, Type

__all__ = ["ServerProcess"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """``with ServerProcess(api_key="k") as server:`` serves on ``server.base_url`` until exit."""

    def __init__(
        self, api_key: str, *, log_level: str = "warning", startup_timeout_s: float = 20.0
    ) -> None:
        self.api_key = api_key
        self.log_level = log_level
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.process: Optional[subprocess.Popen[bytes]] = None
        self._log: Optional[IO[bytes]] = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        """Start the server and wait until it accepts connections.

        Started again after ``stop()`` or ``kill()``, it comes back on the same port.
        """
        self.port = self.port or _free_port()
        if self._log is None:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115  # lives until close()
        env = {**os.environ, "BABYAPI_SERVER_API_KEY": self.api_key}
        command = [sys.executable, "-m", "babyapi.server", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--log-level", self.log_level],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while not self._accepts():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def output(self) -> str:
        """Everything the server has printed so far (uvicorn's access lines go to stdout)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def wait_for_output(self, *texts: str, timeout_s: float = 10.0) -> bool:
        """Wait (bounded) until the server has printed one of ``texts``."""
        deadline = time.monotonic() + timeout_s
        while not any(text in self.output() for text in texts):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL): no goodbye to open connections."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def close(self) -> None:
        """Stop the server and drop its captured output."""
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
