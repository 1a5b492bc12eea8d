"""BabyAPI's standard-library transport: ``http.client``'s parser on a pool of our own sockets.

httpx spends most of a keep-alive round trip in its own layers (httpcore's pool, h11, its
models); ``http.client`` parses an answer in a third of the CPU time (benchmarks/RESULTS.md).
What httpx gives besides speed is kept here, with the standard library only:

- a pool per (scheme, host, port, proxy) under the shared limits (``_config``): a wait for a
  free slot is bounded by the pool timeout; idle connections expire after ``KEEPALIVE_S``; an
  idle socket that turned readable (the server closed it) is replaced before it is used;
  answers with ``Connection: close`` are not kept; a forked child never reuses a socket;
- per-phase timeouts: connect (and the TLS handshake), write, and each wait for data;
- TLS verified against httpx's trust store (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``);
- proxies from the environment (``_net_env``): http:// ones, in absolute form for http://
  targets and through a CONNECT tunnel for https:// ones, credentials from the proxy URL;
- gzip and deflate bodies decoded; every failure mapped onto the seam's kinds as httpx's are.

Imported only when a client first sends on it: ``import babyapi`` does not load it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.cookiejar
import os
import select
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import zlib
from typing import Iterator, NamedTuple, Optional, Protocol, cast

import httpx

from babyapi._answer import WireAnswer
from babyapi._config import KEEPALIVE_S, MAX_CONNECTIONS, MAX_IDLE_CONNECTIONS
from babyapi._net_env import http_proxy_for, trust_store
from babyapi._wire import FailureKind, Response, Timeouts, TransportError, WireRequest

__all__ = ["StdlibResponse", "StdlibTransport"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Endpoints whose route is kept (see StdlibTransport._route).
_MAX_ROUTES = 256
# What one read of a streamed body asks for: at most one HTTP chunk arrives per read.
_READ_SIZE = 65536
# Methods whose request carries a body, so an empty one says Content-Length: 0 (as httpx does).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# httpx's words for the same events, so messages match on both transports.
_DISCONNECTED = "Server disconnected without sending a response."
_CLOSED = "Cannot send a request, as the client has been closed."


class _Route(NamedTuple):
    """Where a request to one URL goes, worked out once per URL."""

    key: tuple[str, str, int, Optional[str]]  # the pool this URL's connections live in
    dial: tuple[str, int]  # where the TCP connection goes: the server or the proxy
    tls_host: Optional[str]  # the name TLS verifies, for https:// targets
    tunnel: Optional[str]  # "host:port" to CONNECT to through the proxy, for https:// targets
    line_target: str  # what the request line names: the path, or the whole URL via a proxy
    host: str  # the Host header
    proxy_auth: Optional[str]  # Proxy-Authorization, from the proxy URL's credentials


class _Connection:
    """One socket, the pool it belongs to, and the process that opened it."""

    __slots__ = ("idle_since", "key", "pid", "sock", "timeout")

    def __init__(self, sock: socket.socket, key: tuple[str, str, int, Optional[str]]) -> None:
        self.sock = sock
        self.key = key
        self.pid = os.getpid()
        self.idle_since = 0.0
        self.timeout: Optional[float] = sock.gettimeout()

    def bound(self, seconds: Optional[float]) -> None:
        """Bound each following socket operation by ``seconds`` (a syscall, so only on change)."""
        if seconds != self.timeout:
            self.sock.settimeout(seconds)
            self.timeout = seconds

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class StdlibResponse(WireAnswer):
    """An answer ``http.client`` parsed, read as the core reads any (see ``WireAnswer``)."""

    __slots__ = ("_connection", "_decoder", "answer")

    def __init__(
        self,
        answer: http.client.HTTPResponse,
        sent: WireRequest,
        connection: Optional[_Connection],
    ) -> None:
        super().__init__(sent, answer.status, answer.reason, answer.getheaders(), None)
        #: http.client's own response (its body being read, or read).
        self.answer = answer
        # The connection the body is still coming in on; None once it went back to the pool.
        self._connection = connection
        self._decoder = _decoder_for(answer.getheader("content-encoding"))

    @property
    def charset(self) -> Optional[str]:
        return self.answer.msg.get_content_charset()

    def _wire_headers(self) -> list[tuple[bytes, bytes]]:
        # http.client decodes headers as latin-1; back to the bytes that came, so httpx.Headers
        # reads them as it reads its own (ascii, else utf-8, else latin-1).
        return [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in cast("list[tuple[str, str]]", self._raw)
        ]


class _Pool:
    """Idle connections by route, and a count of every connection open, under one lock."""

    def __init__(self) -> None:
        # Re-entrant: the cyclic garbage collector may finalize a stream, which gives its
        # connection back, at any allocation, including one made while this thread holds it.
        self.lock = threading.Condition(threading.RLock())
        self.idle: dict[tuple[str, str, int, Optional[str]], list[_Connection]] = {}
        self.idle_count = 0
        self.open = 0  # connections open or opening: in use plus idle
        self.busy: set[_Connection] = set()
        self.pid = os.getpid()
        self.closed = False

    def take(
        self, key: tuple[str, str, int, Optional[str]], wait_s: Optional[float]
    ) -> Optional[_Connection]:
        """An idle connection of ``key`` to reuse, or None with a slot reserved for a new one."""
        lock = self.lock
        with lock:
            deadline: Optional[float] = None
            while True:
                if self.closed:
                    raise RuntimeError(_CLOSED)
                connection = self._idle_of(key)
                if connection is not None:
                    self.busy.add(connection)
                    return connection
                if self.open < MAX_CONNECTIONS:
                    self.open += 1
                    return None
                if self.idle_count:
                    self._drop_oldest_idle()  # room for a connection to another server
                    continue
                now = time.monotonic()
                if deadline is None and wait_s is not None:
                    deadline = now + wait_s
                if deadline is not None and now >= deadline:
                    raise TransportError(
                        "pool_timeout",
                        f"no connection came free within {wait_s:g} s "
                        f"({MAX_CONNECTIONS} are in use)",
                        TimeoutError("pool timeout"),
                    )
                lock.wait(None if deadline is None else deadline - now)

    def _idle_of(self, key: tuple[str, str, int, Optional[str]]) -> Optional[_Connection]:
        """The most recently used live connection of ``key``; dead and expired ones are closed."""
        stack = self.idle.get(key)
        if not stack:
            return None
        oldest_alive = time.monotonic() - KEEPALIVE_S
        while stack:
            connection = stack.pop()
            self.idle_count -= 1
            if connection.idle_since >= oldest_alive and not _readable(connection.sock):
                return connection
            # Expired, or readable while idle: closed by the server (or it sent what nobody
            # asked for). Either way it cannot carry a request, as httpcore judges it too.
            if connection.idle_since < oldest_alive:
                # The rest of the stack is older still.
                expired = stack[:]
                stack.clear()
                self.idle_count -= len(expired)
                self.open -= len(expired)
                for old in expired:
                    old.close()
            connection.close()
            self.open -= 1
        return None

    def _drop_oldest_idle(self) -> None:
        oldest = min(
            (stack[0] for stack in self.idle.values() if stack), key=lambda c: c.idle_since
        )
        self.idle[oldest.key].remove(oldest)
        self.idle_count -= 1
        self.open -= 1
        oldest.close()

    def give_back(self, connection: _Connection, reusable: bool) -> None:
        """A connection done with its exchange: kept idle if it can carry another, else closed."""
        with self.lock:
            self.busy.discard(connection)
            if (
                reusable
                and not self.closed
                and self.idle_count < MAX_IDLE_CONNECTIONS
                and connection.pid == self.pid
            ):
                connection.idle_since = time.monotonic()
                self.idle.setdefault(connection.key, []).append(connection)
                self.idle_count += 1
            else:
                connection.close()
                self.open -= 1
            self.lock.notify()

    def adopt(self, connection: _Connection) -> None:
        """A new connection fills the slot ``take`` reserved for it."""
        with self.lock:
            self.busy.add(connection)

    def free_slot(self) -> None:
        """A slot reserved for a connection that could not be made."""
        with self.lock:
            self.open -= 1
            self.lock.notify()

    def close(self) -> list[_Connection]:
        """Mark the pool closed; every connection it holds, idle or busy, to close."""
        with self.lock:
            self.closed = True
            every = [c for stack in self.idle.values() for c in stack] + list(self.busy)
            self.idle.clear()
            self.busy.clear()
            self.idle_count = self.open = 0
            self.lock.notify_all()
        return every


class StdlibTransport:
    """BabyAPI's sender on the standard library: our own pool of ``http.client`` exchanges."""

    def __init__(self) -> None:
        self._pool = _Pool()
        self._routes: dict[str, _Route] = {}
        self._proxies: dict[str, Optional[str]] = {}
        self._tls: Optional[ssl.SSLContext] = None
        self._tls_lock = threading.Lock()
        # Cookies servers set (a load balancer's sticky session), kept as httpx's client keeps
        # them; made on the first Set-Cookie, so calls to servers that set none pay nothing.
        self._cookies: Optional[http.cookiejar.CookieJar] = None

    @property
    def is_closed(self) -> bool:
        return self._pool.closed

    # Sending -------------------------------------------------------------------------------

    def send(self, request: WireRequest, *, stream: bool) -> StdlibResponse:
        """Send on a pooled connection; the body is read unless ``stream``."""
        pool = self._current_pool()
        if pool.closed:
            raise RuntimeError(_CLOSED)
        route = self._route(request)
        timeouts = request.timeouts
        connection = pool.take(route.key, timeouts.pool)
        if connection is None:
            try:
                connection = self._connect(route, timeouts)
            except BaseException:
                pool.free_slot()
                raise
            pool.adopt(connection)
        try:
            cookie = self._cookie_for(request) if self._cookies is not None else None
            answer = _exchange(connection, route, request, cookie)
        except BaseException:
            pool.give_back(connection, reusable=False)
            raise
        if answer.msg.get("set-cookie") is not None:
            self._keep_cookies(request, answer)
        response = StdlibResponse(answer, request, connection)
        if not stream:
            self.read(response)
        return response

    def read(self, response: Response) -> None:
        answer = _stdlib_response(response)
        connection = answer._connection
        try:
            body = answer.answer.read()
            decoder = answer._decoder
            if decoder is not None:
                body = _decoded(decoder, body, final=True)
        except BaseException as exc:
            self._release(answer, reusable=False)
            if isinstance(exc, Exception):
                raise _read_failure(exc) from exc
            raise
        answer.fill(body)
        self._release(answer, reusable=connection is not None and not answer.answer.will_close)

    def chunks(self, response: Response, read_s: Optional[float]) -> Iterator[bytes]:
        answer = _stdlib_response(response)
        connection = answer._connection
        if connection is None:  # already read to its end
            return
        connection.bound(read_s)
        raw = answer.answer
        decoder = answer._decoder
        try:
            while True:
                chunk = raw.read1(_READ_SIZE)
                if not chunk:
                    break
                if decoder is not None:
                    chunk = _decoded(decoder, chunk, final=False)
                    if not chunk:
                        continue
                yield chunk
            if decoder is not None:
                tail = _decoded(decoder, b"", final=True)
                if tail:
                    yield tail
        except Exception as exc:
            self._release(answer, reusable=False)
            raise _read_failure(exc) from exc
        answer.is_closed = True
        self._release(answer, reusable=not raw.will_close)

    def close_response(self, response: Response) -> None:
        answer = _stdlib_response(response)
        # A body left unread keeps its bytes on the wire: that connection cannot carry another.
        answer.is_closed = True
        self._release(answer, reusable=False)

    def close(self) -> None:
        """Close every connection: idle ones now, and those of answers still being read."""
        pool = self._pool
        if pool.pid != os.getpid():
            return  # the parent's sockets are the parent's to close
        for connection in pool.close():
            # A thread may be blocked reading on it: shutdown wakes it, close alone would not.
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
            connection.close()

    # Pieces ----------------------------------------------------------------------------------

    def _current_pool(self) -> _Pool:
        """The pool of this process: a forked child starts an empty one (see _Pool.pid)."""
        pool = self._pool
        if pool.pid != os.getpid():
            # Not closed: the parent's sockets stay the parent's. A closed transport stays so.
            fresh = _Pool()
            fresh.closed = pool.closed
            self._pool = pool = fresh
        return pool

    def _release(self, answer: StdlibResponse, *, reusable: bool) -> None:
        connection = answer._connection
        if connection is None:
            return
        answer._connection = None
        answer.answer.close()
        pool = self._pool
        if connection.pid == pool.pid:
            pool.give_back(connection, reusable)
        # else: a response of the parent's, read in a forked child; its socket is left alone.

    def _route(self, request: WireRequest) -> _Route:
        """The route of a request's URL, kept per URL text (one string per endpoint)."""
        known = self._routes.get(request.target)
        if known is not None:
            return known
        route = self._route_of(request.url)
        if len(self._routes) >= _MAX_ROUTES:
            self._routes.clear()  # URLs with per-call query strings must not pile up
        self._routes[request.target] = route
        return route

    def _route_of(self, url: httpx.URL) -> _Route:
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            exc = httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'."
            )
            raise TransportError("invalid_url", str(exc), exc)
        if not url.host:
            exc2 = httpx.InvalidURL("Request URL is missing a host.")
            raise TransportError("invalid_url", str(exc2), exc2)
        host = url.host
        port = url.port or _DEFAULT_PORTS[scheme]
        netloc = url.netloc.decode("ascii")
        path = url.raw_path.decode("ascii")
        proxy = http_proxy_for(url, self._proxies, "the standard-library transport")
        tls_host = host if scheme == "https" else None
        if proxy is None:
            return _Route(
                (scheme, host, port, None), (host, port), tls_host, None, path, netloc, None
            )
        proxy_url = urllib.parse.urlsplit(proxy)
        dial = (proxy_url.hostname or "", proxy_url.port or 80)
        auth = _basic_auth(proxy_url)
        if scheme == "http":
            # Forwarded in absolute form: one pool of connections to the proxy for every target.
            key = ("http", dial[0], dial[1], proxy)
            return _Route(key, dial, None, None, str(url), netloc, auth)
        tunnel = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        return _Route((scheme, host, port, proxy), dial, tls_host, tunnel, path, netloc, auth)

    def _cookie_for(self, request: WireRequest) -> Optional[str]:
        """The Cookie header of the cookies kept for this URL (a caller's own Cookie wins)."""
        jar = self._cookies
        if jar is None or "cookie" in request.headers:
            return None
        asked = urllib.request.Request(request.target)
        jar.add_cookie_header(asked)
        return asked.unredirected_hdrs.get("Cookie")

    def _keep_cookies(self, request: WireRequest, answer: http.client.HTTPResponse) -> None:
        if self._cookies is None:
            self._cookies = http.cookiejar.CookieJar()
        try:
            self._cookies.extract_cookies(answer, urllib.request.Request(request.target))
        except Exception:
            return

    def _tls_context(self) -> ssl.SSLContext:
        # Loaded on first https:// use only: the certificate bundle costs tens of milliseconds.
        with self._tls_lock:
            if self._tls is None:
                self._tls = trust_store()  # httpx's: certifi, or SSL_CERT_FILE / SSL_CERT_DIR
            return self._tls

    def _connect(self, route: _Route, timeouts: Timeouts) -> _Connection:
        """A new connection for ``route``: TCP, then the proxy's tunnel, then TLS."""
        connect_s = timeouts.connect
        try:
            sock = socket.create_connection(route.dial, timeout=connect_s)
        except socket.timeout as exc:
            raise TransportError("connect_timeout", str(exc) or "timed out", exc) from exc
        except OSError as exc:
            raise TransportError("connect", str(exc) or type(exc).__name__, exc) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if route.tunnel is not None:
                _open_tunnel(sock, route, timeouts)
            if route.tls_host is not None:
                sock.settimeout(connect_s)
                sock = _handshake(self._tls_context(), sock, route.tls_host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock, route.key)


def _exchange(
    connection: _Connection, route: _Route, request: WireRequest, cookie: Optional[str]
) -> http.client.HTTPResponse:
    """Write the request and read the answer's head on ``connection``."""
    timeouts = request.timeouts
    connection.bound(timeouts.write)
    sock = connection.sock
    broken: Optional[OSError] = None
    try:
        sock.sendall(_head(route, request, cookie) + (request.content or b""))
    except socket.timeout as exc:
        raise TransportError("write_timeout", str(exc) or "timed out", exc) from exc
    except OSError as exc:
        # The server may have answered before it stopped reading (a 413, say): as httpcore
        # does, read what it said, and report the broken write only if it said nothing.
        broken = exc
    connection.bound(timeouts.read)
    answer = http.client.HTTPResponse(sock, method=request.method)
    try:
        answer.begin()
    except Exception as exc:
        answer.close()
        if broken is not None:
            raise TransportError("write", str(broken) or type(broken).__name__, broken) from exc
        raise _read_failure(exc) from exc
    return answer


def _head(route: _Route, request: WireRequest, cookie: Optional[str]) -> bytes:
    """The request line and headers, as bytes (values are checked for line breaks upstream)."""
    lines = [f"{request.method} {route.line_target} HTTP/1.1\r\nHost: {route.host}\r\n"]
    headers = request.headers
    if "accept-encoding" not in headers:
        lines.append(f"Accept-Encoding: {WireAnswer.accept_encoding}\r\n")
    content = request.content
    if content is not None:
        lines.append(f"Content-Length: {len(content)}\r\n")
    elif request.method in _BODY_METHODS:
        lines.append("Content-Length: 0\r\n")
    if route.proxy_auth is not None and route.tunnel is None:
        lines.append(f"Proxy-Authorization: {route.proxy_auth}\r\n")
    if cookie is not None:
        lines.append(f"Cookie: {cookie}\r\n")
    for name, value in headers.items():
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8")


def _open_tunnel(sock: socket.socket, route: _Route, timeouts: Timeouts) -> None:
    """CONNECT through the proxy; a refusal is a ``proxy`` failure, with the proxy's status."""
    head = f"CONNECT {route.tunnel} HTTP/1.1\r\nHost: {route.tunnel}\r\n"
    if route.proxy_auth is not None:
        head += f"Proxy-Authorization: {route.proxy_auth}\r\n"
    try:
        sock.settimeout(timeouts.write)
        sock.sendall((head + "\r\n").encode("ascii"))
    except socket.timeout as exc:
        raise TransportError("write_timeout", str(exc) or "timed out", exc) from exc
    except OSError as exc:
        raise TransportError("write", str(exc) or type(exc).__name__, exc) from exc
    sock.settimeout(timeouts.read)
    answer = http.client.HTTPResponse(sock, method="CONNECT")
    try:
        answer.begin()
    except Exception as exc:
        raise _read_failure(exc) from exc
    finally:
        answer.close()  # the head only: what follows is the tunnel's
    if not 200 <= answer.status < 300:
        exc3 = httpx.ProxyError(f"{answer.status} {answer.reason}")
        raise TransportError("proxy", str(exc3), exc3)


def _handshake(context: ssl.SSLContext, sock: socket.socket, host: str) -> ssl.SSLSocket:
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except socket.timeout as exc:
        raise TransportError("connect_timeout", str(exc) or "timed out", exc) from exc
    except OSError as exc:  # ssl.SSLError (a refused certificate, not TLS) is one
        raise TransportError("connect", str(exc) or type(exc).__name__, exc) from exc


def _read_failure(exc: Exception) -> TransportError:
    """The seam's failure for what reading an answer raised, as httpx types the same event."""
    if isinstance(exc, TransportError):
        return exc
    kind: FailureKind
    message = str(exc) or type(exc).__name__
    if isinstance(exc, socket.timeout):
        kind, message = "read_timeout", str(exc) or "timed out"
    elif isinstance(exc, http.client.RemoteDisconnected):
        kind, message = "remote_closed", _DISCONNECTED
    elif isinstance(exc, http.client.IncompleteRead):
        kind = "remote_closed"
        message = (
            f"peer closed connection without sending complete message body ({_shortfall(exc)})"
        )
    elif isinstance(exc, (http.client.HTTPException, ValueError)):
        # Not HTTP, or HTTP broken (a bad status line, chunk size or header): h11's verdict
        # on the same bytes is a RemoteProtocolError.
        kind = "remote_closed"
    elif isinstance(exc, zlib.error):
        kind = "decode"
    elif isinstance(exc, OSError):
        kind = "read"
    else:
        kind = "protocol"
    return TransportError(kind, message, exc)


def _shortfall(exc: http.client.IncompleteRead) -> str:
    """How much of a body was missing, in httpx's words."""
    if exc.expected is None:
        return "incomplete chunked read"
    received = len(exc.partial)
    return f"received {received} bytes, expected {received + exc.expected}"


def _readable(sock: socket.socket) -> bool:
    """Whether an idle socket has something to read: the server closed it, or sent junk."""
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        if not hasattr(select, "poll"):  # Windows: select() has no limit on socket numbers there
            return bool(select.select([sock], [], [], 0)[0])
        poller = select.poll()  # not select(): it fails on descriptors above 1023
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


# Decoding ----------------------------------------------------------------------------------


class _Deflate:
    """deflate as servers send it: zlib-wrapped, or raw (httpx's DeflateDecoder accepts both)."""

    __slots__ = ("_first", "_inner")

    def __init__(self) -> None:
        self._inner = zlib.decompressobj()
        self._first = True

    def decompress(self, data: bytes) -> bytes:
        first, self._first = self._first, False
        try:
            return self._inner.decompress(data)
        except zlib.error:
            if not first:
                raise
            self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inner.decompress(data)

    def flush(self) -> bytes:
        return self._inner.flush()


class _Decoder(Protocol):
    """zlib's decompressor, or ``_Deflate``."""

    def decompress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


def _decoder_for(encoding: Optional[str]) -> Optional[_Decoder]:
    if encoding is None:
        return None
    name = encoding.strip().lower()
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Deflate()
    return None  # identity, or one we never asked for: passed on as httpx does


def _decoded(decoder: _Decoder, data: bytes, *, final: bool) -> bytes:
    out = decoder.decompress(data) if data else b""
    if final:
        out += decoder.flush()
    return out


def _basic_auth(proxy: urllib.parse.SplitResult) -> Optional[str]:
    if proxy.username is None:
        return None
    user = urllib.parse.unquote(proxy.username)
    password = urllib.parse.unquote(proxy.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _stdlib_response(response: Response) -> StdlibResponse:
    assert isinstance(response, StdlibResponse)  # answers of this transport are its own
    return response
