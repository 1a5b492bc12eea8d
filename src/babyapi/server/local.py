"""LocalServer: the local BabyAPI on a free port in a background thread, for tests and examples."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Optional, Type

import uvicorn
from uvicorn.config import LOG_LEVELS

from babyapi.server.app import DEFAULT_MAX_BODY_BYTES, create_app
from babyapi.server.runner import bind, make_config


class LocalServer:
    """Run the server in a thread; ``with LocalServer() as srv:`` gives ``srv.base_url``.

    The socket is bound before the thread starts, so ``port=0`` picks a free
    port with no race, and ``base_url`` is known as soon as ``start()`` returns.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        log_level: str = "warning",
        startup_timeout_s: float = 10.0,
        shutdown_timeout_s: float = 5.0,
    ) -> None:
        if log_level not in LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
        self.api_key = api_key
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self.log_level = log_level
        self.startup_timeout_s = startup_timeout_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self._server: Optional[uvicorn.Server] = None
        self._thread: Optional[threading.Thread] = None
        self._socket: Optional[socket.socket] = None

    def __repr__(self) -> str:
        # Never the key: reprs end up in logs and test reports.
        state = "running" if self.running else "stopped"
        return f"<LocalServer {self.base_url} {state}>"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``, the value for a client's ``base_url``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """Same as ``base_url``."""
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        """``base_url`` + ``/v1``, as the OpenAI SDK and others expect it."""
        return self.base_url + "/v1"

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LocalServer:
        """Bind, start serving in a daemon thread and wait until ready."""
        if self._thread is not None:
            raise RuntimeError("LocalServer is already started")
        sock = bind(self.host, self.port)
        self._socket = sock
        self.port = sock.getsockname()[1]
        try:
            server = self._serve_in_thread(sock)
        except BaseException:
            self.stop()  # a failed start leaves no socket or thread behind
            raise
        thread = self._thread
        deadline = time.monotonic() + self.startup_timeout_s
        while not server.started:
            if thread is None or not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local BabyAPI server did not start on {self.base_url}")
            time.sleep(0.005)
        return self

    def _serve_in_thread(self, sock: socket.socket) -> uvicorn.Server:
        app = create_app(api_key=self.api_key, max_body_bytes=self.max_body_bytes)
        config = make_config(
            app,
            self.host,
            self.port,
            log_level=self.log_level,
            # Bounded, so a test that leaves a hanging or streaming request
            # behind cannot stall stop().
            timeout_graceful_shutdown=max(1, int(self.shutdown_timeout_s / 2)),
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"babyapi-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return server

    def stop(self) -> None:
        """Ask the server to exit and join its thread (bounded wait); safe to call twice."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(self.shutdown_timeout_s)
            if thread.is_alive():
                server.force_exit = True
                thread.join(1.0)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()
