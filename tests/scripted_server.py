"""A small, scriptable HTTP/1.1 server for the SDK's integration tests.

Standard library only (``socket`` + ``threading``) so the test suite exercises the
real client/network stack without depending on any server framework.  Each test
scripts the replies it wants (including broken ones: early disconnects, truncated
bodies, stalled streams) and then inspects what the client actually sent.

Typical use::

    server.script(Reply.json({"id": "x"}), Reply.sse([{"delta": "hi"}]))
    ...  # drive the client against server.base_url
    assert server.requests[0].json()["model"] == "m"
"""

from __future__ import annotations

import contextlib
import json as _json
import selectors
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable, Literal, Optional, Union
from urllib.parse import parse_qs, urlsplit

__all__ = ["DropMode", "Headers", "Recorded", "Reply", "ScriptedServer"]

DropMode = Literal["before_headers", "after_headers", "mid_chunks"]
Body = Union[bytes, str, dict[str, Any], list[Any]]
Handler = Callable[["Recorded"], "Reply"]

_DROP_MODES = ("before_headers", "after_headers", "mid_chunks")
# Guards against a runaway client filling memory with a header section.
_MAX_HEAD_BYTES = 64 * 1024
# Upper bound for any single scripted pause (delay / hang) so a typo such as
# ``hang_after_chunks_s=3600`` cannot wedge the suite past pytest's timeout.
_DEFAULT_MAX_PAUSE_S = 30.0
# How often blocking waits re-check the stop flag.  stop() also shuts sockets
# down, which wakes those waits immediately; this is only a fallback.
_POLL_S = 0.1


def _get_header(headers: Mapping[str, str], name: str) -> str | None:
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return _get_header(headers, name) is not None


def _merge_headers(
    defaults: Mapping[str, str], overrides: Mapping[str, str] | None
) -> dict[str, str]:
    """Case-insensitive merge: a caller's ``Content-Type`` replaces our ``content-type``."""
    merged = dict(defaults)
    for key, value in (overrides or {}).items():
        for existing in [k for k in merged if k.lower() == key.lower()]:
            del merged[existing]
        merged[key] = value
    return merged


def _sse_frame(event: str | bytes | dict[str, Any]) -> bytes:
    if isinstance(event, bytes):
        # Raw bytes are sent verbatim so tests can craft comments, `event:` lines,
        # CRLF line endings or deliberately malformed frames.
        return event
    payload = event if isinstance(event, str) else _json.dumps(event)
    # A multi-line payload needs one `data:` field per line to survive SSE parsing.
    return "".join(f"data: {line}\n" for line in payload.split("\n")).encode() + b"\n"


@dataclass(frozen=True)
class Reply:
    """One scripted response.

    ``body`` is used for ordinary (Content-Length) responses; ``chunks`` switches to
    chunked transfer encoding and sends each element as one HTTP chunk.
    ``hang_after_chunks_s`` pauses after the body data and before the message is
    finished (terminating 0-chunk, or the close for ``drop``), which is what makes a
    client-side read timeout fire.  Empty chunks are skipped because a zero-length
    chunk would terminate the stream on the wire.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    delay_s: float = 0.0
    chunks: Optional[list[bytes]] = None
    chunk_delay_s: float = 0.0
    drop: Optional[DropMode] = None
    hang_after_chunks_s: float = 0.0

    def __post_init__(self) -> None:
        if self.drop is not None and self.drop not in _DROP_MODES:
            raise ValueError(f"drop must be one of {_DROP_MODES}, got {self.drop!r}")
        if self.drop == "mid_chunks" and self.chunks is None:
            raise ValueError("drop='mid_chunks' needs chunks")
        if self.chunks is not None and self.body not in (b"", ""):
            raise ValueError("give either body or chunks, not both")
        if min(self.delay_s, self.chunk_delay_s, self.hang_after_chunks_s) < 0:
            raise ValueError("delays must be >= 0")

    @classmethod
    def json(
        cls,
        obj: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        delay_s: float = 0.0,
        drop: DropMode | None = None,
    ) -> Reply:
        body = _json.dumps(obj).encode()
        hdrs = _merge_headers({"content-type": "application/json"}, headers)
        return cls(status=status, headers=hdrs, body=body, delay_s=delay_s, drop=drop)

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str = "text/plain; charset=utf-8",
        delay_s: float = 0.0,
        drop: DropMode | None = None,
    ) -> Reply:
        hdrs = _merge_headers({"content-type": content_type}, headers)
        return cls(status=status, headers=hdrs, body=text.encode(), delay_s=delay_s, drop=drop)

    @classmethod
    def api_error(
        cls,
        status: int,
        message: str = "error",
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """An OpenAI-style ``{"error": {...}}`` body, for error-mapping tests."""
        err = {"message": message, "type": type, "param": None, "code": code}
        return cls.json({"error": err}, status=status, headers=headers)

    @classmethod
    def sse(
        cls,
        events: Sequence[str | bytes | dict[str, Any]],
        done: bool = True,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
        drop: DropMode | None = None,
        hang_after_chunks_s: float = 0.0,
    ) -> Reply:
        """One chunk per event: dict -> ``data: <json>``, str -> ``data: <str>``, bytes raw."""
        chunks = [_sse_frame(e) for e in events]
        if done:
            chunks.append(b"data: [DONE]\n\n")
        hdrs = _merge_headers(
            {"content-type": "text/event-stream", "cache-control": "no-cache"}, headers
        )
        return cls(
            status=status,
            headers=hdrs,
            chunks=chunks,
            delay_s=delay_s,
            chunk_delay_s=chunk_delay_s,
            drop=drop,
            hang_after_chunks_s=hang_after_chunks_s,
        )

    def body_bytes(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return _json.dumps(self.body).encode()

    def effective_headers(self) -> dict[str, str]:
        """Headers as sent, before framing headers (Content-Length / Transfer-Encoding)."""
        hdrs = dict(self.headers)
        if self.chunks is None and not _has_header(hdrs, "content-type"):
            if isinstance(self.body, (dict, list)):
                hdrs["content-type"] = "application/json"
            elif isinstance(self.body, str):
                hdrs["content-type"] = "text/plain; charset=utf-8"
        return hdrs


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive view of request headers.

    Iteration yields lowercased names; repeated headers are joined with ", " as
    RFC 9110 allows.  ``raw`` keeps the original (name, value) pairs in wire order.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.raw: tuple[tuple[str, str], ...] = tuple(pairs)
        merged: dict[str, str] = {}
        for name, value in self.raw:
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        self._data = merged

    def __getitem__(self, key: str) -> str:
        return self._data[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Headers({self._data!r})"


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str  # request target as sent, including the query string
    headers: Headers
    body: bytes
    connection_id: int  # equal ids => the client reused one keep-alive connection
    http_version: str = "HTTP/1.1"
    received_at: float = 0.0  # time.monotonic(); lets tests check retry back-off
    client_port: int = 0  # the client's local port: which socket, even across processes

    def json(self) -> Any:
        return _json.loads(self.body)

    @property
    def url_path(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)


class _PeerGone(Exception):
    """The client closed the connection (or the server is stopping)."""


class _BadRequest(Exception):
    pass


class _Conn:
    def __init__(self, sock: socket.socket, conn_id: int, port: int = 0) -> None:
        self.sock = sock
        self.id = conn_id
        self.port = port
        # Bytes received but not yet consumed; survives between keep-alive requests.
        self.buf = bytearray()

    def recv_more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise _PeerGone
        self.buf += data

    def read_head(self) -> bytes | None:
        """Header section without the blank line; None on a clean close between requests."""
        while True:
            # RFC 9112 §2.2: ignore empty lines before a request line.
            while self.buf.startswith(b"\r\n"):
                del self.buf[:2]
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buf[:end])
                del self.buf[: end + 4]
                return head
            if len(self.buf) > _MAX_HEAD_BYTES:
                raise _BadRequest("header section too large")
            idle = not self.buf
            try:
                self.recv_more()
            except _PeerGone:
                if idle:
                    return None
                raise

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.recv_more()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            if len(self.buf) > _MAX_HEAD_BYTES:
                raise _BadRequest("line too long")
            self.recv_more()

    def read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_field = self.read_line().split(b";", 1)[0].strip()
            try:
                size = int(size_field, 16)
            except ValueError:
                raise _BadRequest(f"bad chunk size {size_field!r}") from None
            if size == 0:
                while self.read_line():  # discard trailer fields
                    pass
                return bytes(body)
            body += self.read_exact(size)
            if self.read_exact(2) != b"\r\n":
                raise _BadRequest("chunk not terminated by CRLF")


class ScriptedServer:
    """Threaded HTTP/1.1 server that replays scripted :class:`Reply` objects.

    Not started by the constructor (so an unused instance holds no socket); use it
    as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, *, max_pause_s: float = _DEFAULT_MAX_PAUSE_S) -> None:
        self.max_pause_s = max_pause_s
        # One condition guards all mutable state below; waiters use it to block
        # until requests arrive or connections close.
        self._cond = threading.Condition()
        self._queue: deque[Reply] = deque()
        self._handler: Handler | None = None
        self._requests: list[Recorded] = []
        self._errors: list[str] = []
        self._conns: dict[int, socket.socket] = {}
        self._conn_threads: list[threading.Thread] = []
        self._next_conn_id = 0
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._port = 0

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> ScriptedServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> ScriptedServer:
        if self._accept_thread is not None:
            return self
        if self._stopping.is_set():
            raise RuntimeError("a stopped ScriptedServer cannot be restarted")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(128)
            # A timeout lets the accept loop notice stop() on platforms where
            # shutdown() does not wake a blocked accept().
            listener.settimeout(_POLL_S)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"scripted-server-{self._port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Close every socket and join every thread, waiting at most ``timeout`` seconds.

        Raises RuntimeError if a thread is still alive afterwards, so a leak shows up
        in the test that caused it rather than as flakiness later.
        """
        if self._stopping.is_set() and self._listener is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + timeout
        listener = self._listener
        if listener is not None:
            # May fail on some platforms (ENOTCONN); the accept timeout covers that.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        if listener is not None:
            listener.close()
            self._listener = None
        with self._cond:
            socks = list(self._conns.values())
            threads = list(self._conn_threads)
        for sock in socks:
            # shutdown (not close) from this thread: it wakes the owner thread's
            # blocked recv/send/select, and the owner closes its own fd, so no fd
            # is ever closed while another thread may still use it.
            with contextlib.suppress(OSError):  # already closed by the peer
                sock.shutdown(socket.SHUT_RDWR)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if self._accept_thread is not None and self._accept_thread.is_alive():
            alive.append(self._accept_thread.name)
        if alive:
            raise RuntimeError(f"ScriptedServer threads did not stop: {alive}")

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("ScriptedServer not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # ----------------------------------------------------------------- scripting

    def script(self, *replies: Reply) -> None:
        """Replace the reply queue (and drop any handler).  The last reply repeats."""
        with self._cond:
            self._queue = deque(replies)
            self._handler = None

    def set_handler(self, handler: Handler | None) -> None:
        """Compute every reply dynamically; takes precedence over the queue."""
        with self._cond:
            self._handler = handler

    def reset(self) -> None:
        """Forget the script, handler, recorded requests and errors."""
        with self._cond:
            self._queue.clear()
            self._handler = None
            self._requests.clear()
            self._errors.clear()

    # ----------------------------------------------------------------- inspection

    @property
    def requests(self) -> list[Recorded]:
        """Snapshot of every request received so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Server-side problems (handler exceptions, malformed requests), as text."""
        with self._cond:
            return list(self._errors)

    @property
    def open_connections(self) -> int:
        with self._cond:
            return len(self._conns)

    @property
    def total_connections(self) -> int:
        """Connections accepted since start (not cleared by reset())."""
        with self._cond:
            return self._next_conn_id

    def wait_for_requests(self, n: int, timeout: float = 2.0) -> list[Recorded]:
        """Block until at least ``n`` requests were recorded; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"expected {n} requests, got {len(self._requests)}")
            return list(self._requests)

    def wait_for_open_connections(self, n: int = 0, timeout: float = 2.0) -> bool:
        """Block until exactly ``n`` connections are open; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._conns) == n, timeout)

    # ----------------------------------------------------------------- internals

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                sock, peer = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return  # listener shut down by stop()
            sock.settimeout(None)
            # Small chunk writes must leave immediately; Nagle + delayed ACK would
            # add ~40 ms stalls and hide streaming behaviour.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._cond:
                if self._stopping.is_set():
                    sock.close()
                    return
                conn = _Conn(sock, self._next_conn_id, peer[1])
                self._next_conn_id += 1
                self._conns[conn.id] = sock
                thread = threading.Thread(
                    target=self._serve_connection,
                    args=(conn,),
                    name=f"scripted-server-{self._port}-conn-{conn.id}",
                    daemon=True,
                )
                self._conn_threads.append(thread)
                self._cond.notify_all()
            thread.start()

    def _serve_connection(self, conn: _Conn) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    request = self._read_request(conn)
                except _BadRequest as exc:
                    self._record_error(f"bad request on connection {conn.id}: {exc}")
                    self._send(conn, b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    return
                if request is None:
                    return
                reply = self._next_reply(request)
                if not self._respond(conn, request, reply):
                    return
        except (_PeerGone, OSError):
            pass  # client went away or stop() shut the socket: normal in tests
        except Exception:
            self._record_error(traceback.format_exc())
        finally:
            conn.sock.close()
            with self._cond:
                self._conns.pop(conn.id, None)
                self._cond.notify_all()

    def _read_request(self, conn: _Conn) -> Recorded | None:
        head = conn.read_head()
        if head is None:
            return None
        received_at = time.monotonic()
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest(f"bad request line {lines[0]!r}")
        method, target, version = parts
        pairs: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise _BadRequest(f"bad header line {line!r}")
            pairs.append((name, value.strip()))
        headers = Headers(pairs)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = conn.read_chunked()
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise _BadRequest("bad content-length") from None
            body = conn.read_exact(length) if length > 0 else b""
        rec = Recorded(
            method=method,
            path=target,
            headers=headers,
            body=body,
            connection_id=conn.id,
            http_version=version,
            received_at=received_at,
            client_port=conn.port,
        )
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()
        return rec

    def _next_reply(self, request: Recorded) -> Reply:
        with self._cond:
            handler = self._handler
            if handler is None:
                if not self._queue:
                    return Reply.json({"ok": True})
                return self._queue.popleft() if len(self._queue) > 1 else self._queue[0]
        try:
            # Called without the lock: a handler may block or inspect the server.
            return handler(request)
        except Exception:
            tb = traceback.format_exc()
            self._record_error(tb)
            return Reply.text(f"scripted handler raised:\n{tb}", status=500)

    def _record_error(self, text: str) -> None:
        with self._cond:
            self._errors.append(text)

    def _send(self, conn: _Conn, data: bytes) -> None:
        conn.sock.sendall(data)

    def _pause(self, conn: _Conn, seconds: float) -> None:
        """Sleep, but raise _PeerGone as soon as the client disconnects or stop() runs.

        Watching the socket (rather than time.sleep) is what lets tests assert that a
        client which abandons a stalled stream really closes its connection.
        """
        deadline = time.monotonic() + min(seconds, self.max_pause_s)
        with selectors.DefaultSelector() as sel:
            sel.register(conn.sock, selectors.EVENT_READ)
            while True:
                if self._stopping.is_set():
                    raise _PeerGone
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                if sel.select(min(remaining, _POLL_S)):
                    # Keep any early bytes (e.g. a pipelined request) for later.
                    conn.recv_more()

    def _respond(self, conn: _Conn, request: Recorded, reply: Reply) -> bool:
        """Send ``reply``; return True if the connection may serve another request."""
        if reply.delay_s:
            self._pause(conn, reply.delay_s)
        if reply.drop == "before_headers":
            return False

        status = reply.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Scripted"
        headers = reply.effective_headers()
        no_body = request.method == "HEAD" or status < 200 or status in (204, 304)
        body = reply.body_bytes()
        chunked = reply.chunks is not None and not no_body
        if chunked:
            headers = _merge_headers(headers, {"transfer-encoding": "chunked"})
        elif not _has_header(headers, "content-length") and not (status < 200 or status == 204):
            declared = len(body)
            if reply.drop == "after_headers":
                declared += 100  # promise more than we will send
            headers["content-length"] = str(declared)
        keep_alive = (
            request.headers.get("connection", "").lower() != "close"
            and request.http_version == "HTTP/1.1"
            and (_get_header(headers, "connection") or "").lower() != "close"
        )
        if not keep_alive and not _has_header(headers, "connection"):
            headers["connection"] = "close"

        head = f"HTTP/1.1 {status} {reason}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        if chunked or no_body or reply.drop == "after_headers":
            # Headers alone first: "after_headers" means nothing of the body after them
            # unless the reply has a body, and chunk timing starts after the headers.
            self._send(conn, head.encode("latin-1"))
            if reply.drop == "after_headers" and not no_body and not chunked:
                self._send(conn, body)
        else:
            self._send(conn, head.encode("latin-1") + body)

        if chunked:
            assert reply.chunks is not None
            if reply.drop != "after_headers":
                sent = 0
                for chunk in reply.chunks:
                    if not chunk:
                        continue
                    if sent and reply.chunk_delay_s:
                        self._pause(conn, reply.chunk_delay_s)
                    self._send(conn, f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
                    sent += 1
        if reply.hang_after_chunks_s:
            self._pause(conn, reply.hang_after_chunks_s)
        if reply.drop is not None:
            return False
        if chunked:
            self._send(conn, b"0\r\n\r\n")
        return keep_alive
