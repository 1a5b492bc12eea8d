"""Start servers in their own process groups, wait until they answer, and stop every process."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Callable

Ready = Callable[[bytes], bool]

# What a server writes to its log when another process holds its port.
PORT_TAKEN_SIGNS = ("Address already in use", "couldn't bind", "address already in use")


class ServerError(Exception):
    """A server did not come up; the message names it and its log."""


def free_port() -> int:
    """Ask the kernel for a loopback port nobody holds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int, who: str) -> None:
    """Fail by name when `port` on 127.0.0.1 is already taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise ServerError(
                f"port {port} on 127.0.0.1 is already taken, so {who} cannot "
                "start there; free it or set BABYAPI_INTEROP_PORT to another base port"
            ) from None


def get(url: str, timeout: float = 3.0) -> bytes | None:
    """GET `url`; return the body on 200, None on any failure."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bytes(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def all_models_loaded(count: int) -> Ready:
    """Readiness for llama-server's router: `count` models report status "loaded"."""

    def ready(body: bytes) -> bool:
        try:
            models = json.loads(body).get("data", [])
        except ValueError:
            return False
        loaded = [m for m in models if (m.get("status") or {}).get("value") == "loaded"]
        return len(loaded) >= count

    return ready


def answers(body: bytes) -> bool:
    """Readiness: any 200 answer to GET /v1/models."""
    return True


class Server:
    """One server process (and whatever it spawns), in a process group of its own."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str | Path],
        port: int,
        log: Path,
        ready: Ready = answers,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.cmd = [str(c) for c in cmd]
        self.port = port
        self.log = log
        self.ready = ready
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in /v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Launch the server; its output goes to its log."""
        check_port_free(self.port, self.name)
        with self.log.open("w") as out:
            out.write(f"$ {' '.join(self.cmd)}\n")
            out.flush()
            # A new session makes the server the leader of its own process group, so
            # stop() can end its children too (vLLM's engine core, llama-server's models).
            self.process = subprocess.Popen(
                self.cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def wait_ready(self, deadline: float) -> None:
        """Poll GET /v1/models until ready; raise ServerError on exit or past `deadline`."""
        assert self.process is not None
        while True:
            body = get(f"{self.base_url}/models")
            if body is not None and self.ready(body):
                return
            code = self.process.poll()
            if code is not None:
                raise ServerError(self.exit_reason(code))
            if time.monotonic() > deadline:
                raise ServerError(
                    f"{self.name} was not ready on port {self.port} in time "
                    f"(raise BABYAPI_INTEROP_READY_TIMEOUT); log: {self.log}"
                )
            time.sleep(0.5)

    def exit_reason(self, code: int) -> str:
        """Say why the server ended during start-up, naming its log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        if any(sign in text for sign in PORT_TAKEN_SIGNS):
            return (
                f"{self.name} could not bind port {self.port} on 127.0.0.1: it is already "
                f"taken; log: {self.log}"
            )
        return f"{self.name} exited during start-up with status {code}; log: {self.log}"

    def stop(self) -> None:
        """TERM the whole process group, KILL what is left after 20 s, and reap the leader."""
        if self.process is not None:
            stop_group(self.process, grace=20.0)


def stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """End every process in `process`'s group: TERM, then KILL after `grace` seconds."""
    group = process.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        end = time.monotonic() + wait
        while group_alive(group) and time.monotonic() < end:
            process.poll()
            time.sleep(0.1)
        if not group_alive(group):
            break
    process.wait(timeout=5)


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM if `make interop` itself is killed (Linux only).

    A killed harness runs no cleanup; this way its servers still end instead of lingering.
    """
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def group_alive(group: int) -> bool:
    """Whether a live (not zombie) process of process group `group` remains."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        # After the command name come: state, ppid, pgrp, ...
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
