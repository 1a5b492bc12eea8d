"""Running the app under uvicorn: the config both ``serve`` and ``LocalServer`` use."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Iterable, List, Optional, Tuple, Type

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from babyapi.server.app import DEFAULT_MAX_BODY_BYTES, SCOPE_TRANSPORT, create_app


class CoalescingTransport:
    """A transport wrapper that sends everything written in one loop iteration in one write.

    uvicorn writes a response's head and body separately, which costs two
    send() syscalls per response; on small requests that is a large share of
    the server's time. Deferring to the end of the iteration (call_soon)
    merges them at no cost in latency. Everything but writing is delegated.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: List[bytes] = []

    def write(self, data: bytes) -> None:
        """Queue data; the first write of an iteration schedules the flush."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def writelines(self, lines: Iterable[bytes]) -> None:
        """Queue several buffers."""
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Hand queued data to the real transport now."""
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        """Bytes not yet sent, queued ones included."""
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def close(self) -> None:
        """Flush, then close (a graceful close must not lose the last response)."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop queued data and the connection at once."""
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def instrument(app: Any, transport: asyncio.BaseTransport) -> Tuple[Any, Any]:
    """Return (coalescing transport, app that puts it in each request's scope).

    ASGI has no way to drop a connection without answering, and the ``reset``
    and ``stream-cut-after`` drills need exactly that; the scope entry lets
    them reach the socket.
    """
    assert isinstance(transport, asyncio.Transport)
    wrapped = CoalescingTransport(transport, asyncio.get_running_loop())
    inner: ASGIApp = app

    async def with_transport(scope: Scope, receive: Receive, send: Send) -> None:
        scope[SCOPE_TRANSPORT] = wrapped
        await inner(scope, receive, send)

    return wrapped, with_transport


class H11WithTransport(H11Protocol):
    """uvicorn's h11 protocol with coalesced writes and the transport in the scope."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        wrapped, self.app = instrument(self.app, transport)
        super().connection_made(wrapped)


def protocol_class() -> Type[asyncio.Protocol]:
    """The fastest available HTTP/1.1 protocol: httptools when installed, else h11."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools comes with `uvicorn[standard]`, not with babyapi[server]
        return H11WithTransport

    class HttpToolsWithTransport(HttpToolsProtocol):
        """uvicorn's httptools protocol with coalesced writes and the transport in the scope."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            wrapped, self.app = instrument(self.app, transport)
            super().connection_made(wrapped)

    return HttpToolsWithTransport


def make_config(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    log_level: str = "warning",
    timeout_graceful_shutdown: Optional[int] = None,
) -> uvicorn.Config:
    """A uvicorn config tuned for a small, fast local server."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        # Access lines cost a log record per request; keep them for info/debug only.
        access_log=log_level in ("info", "debug", "trace"),
        http=protocol_class(),
        ws="none",
        lifespan="off",
        # Trust no proxy headers: it is a local server, and the middleware costs time.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=timeout_graceful_shutdown,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: a free port); OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: Optional[str] = None,
    log_level: str = "warning",
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    sock: Optional[socket.socket] = None,
) -> None:
    """Run the local BabyAPI server until interrupted (blocking); on ``sock`` when given."""
    app = create_app(api_key=api_key, max_body_bytes=max_body_bytes)
    server = uvicorn.Server(make_config(app, host, port, log_level=log_level))
    server.run(sockets=None if sock is None else [sock])
