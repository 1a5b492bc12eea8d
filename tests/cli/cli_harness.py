"""Runs the real ``babyapi`` command: plain subprocesses, a pseudo-terminal, a stalling server."""

from __future__ import annotations

import contextlib
import errno
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Optional

SECRET = "s3cret-test-key"
# The child makes the pty its controlling terminal, so Ctrl-C typed into it is a real SIGINT.
_PTY_BOOT = (
    "import fcntl, os, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'babyapi', *sys.argv[1:]])\n"
)


def _interruptible() -> None:
    """In the child before exec: Ctrl-C as a terminal delivers it. A suite started in the
    background (``make test &``, a CI runner) inherits SIGINT ignored, and Python keeps an
    ignored SIGINT ignored, so without this the Ctrl-C tests would test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli_env(base_url: Optional[str], **extra: str) -> dict[str, str]:
    """The environment without the user's BabyAPI settings, pointed at ``base_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BABYAPI_", "BABY_API"))}
    env.pop("NO_COLOR", None)
    env["TERM"] = "dumb"
    env["PYTHONUNBUFFERED"] = "1"
    if base_url is not None:
        env["BABYAPI_BASE_URL"] = base_url
        env["BABYAPI_API_KEY"] = "test-key"
    env.update(extra)
    return env


class CLI:
    """Runs ``python -m babyapi`` against one server."""

    def __init__(self, base_url: Optional[str]) -> None:
        self.base_url = base_url

    def env(self, **extra: str) -> dict[str, str]:
        return cli_env(self.base_url, **extra)

    def run(
        self,
        *args: str,
        input: Optional[str] = None,
        env: Optional[dict[str, str]] = None,
        timeout: float = 20,
    ) -> subprocess.CompletedProcess[str]:
        # subprocess.run kills the child when the timeout expires.
        return subprocess.run(
            [sys.executable, "-m", "babyapi", *args],
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env() if env is None else env,
        )

    def popen(self, *args: str, env: Optional[dict[str, str]] = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "babyapi", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env() if env is None else env,
            preexec_fn=_interruptible,
        )

    def pty(self, *args: str, env: Optional[dict[str, str]] = None) -> PtySession:
        return PtySession(list(args), self.env() if env is None else env)


class PtySession:
    """The command with a pseudo-terminal as stdin, stdout and stderr; reads are bounded."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _PTY_BOOT, *args],
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
                preexec_fn=_interruptible,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        self.output = ""
        self._cursor = 0

    def read_until(self, needle: str, timeout: float = 10) -> str:
        """Read until ``needle`` appears after the previous match; return all output so far."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.output.find(needle, self._cursor)
            if found >= 0:
                self._cursor = found + len(needle)
                return self.output
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} not seen in {timeout}s; got {self.output!r}")
            if not self._read(remaining):
                raise AssertionError(f"{needle!r} not seen before EOF; got {self.output!r}")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], min(timeout, 0.5))
        if not ready:
            return True
        try:
            data = os.read(self.master, 4096)
        except OSError as exc:  # EIO: the child closed the terminal
            if exc.errno == errno.EIO:
                return False
            raise
        if not data:
            return False
        self.output += data.decode("utf-8", "replace")
        return True

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 10) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)  # keep draining so the child never blocks on a full terminal
        return self.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        os.close(self.master)


class StallServer:
    """Accepts on 127.0.0.1, answers a stream with ``first`` SSE events, then never finishes.

    With ``first=None`` it never answers at all, so the client waits until interrupted.
    """

    def __init__(self, first: Optional[list[str]] = None) -> None:
        self.first = first
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = threading.Event()
        self.stopping = threading.Event()
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> StallServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for conn in [self.sock, *self.conns]:
            with contextlib.suppress(OSError):
                conn.close()
        self.thread.join(timeout=5)

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()
            if self.first is None:
                continue
            try:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                events = "".join(f"data: {event}\n\n" for event in self.first)
                conn.sendall(head + events.encode())
            except OSError:
                continue
