"""The transport seam: what the core sends, what a transport answers, and how sending fails.

The core builds a ``WireRequest`` per attempt; a transport (``_httpx`` for httpx, sync and
async, ``_aiohttp`` for aiohttp) sends it with its library's public API and answers with a
``Response``, or raises a ``TransportError`` of one ``FailureKind``. The core judges only
these: retries, timeouts and error messages never depend on which library sent the bytes.
A new transport is one adapter that maps into this vocabulary; nothing here does I/O.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Iterator,
    Literal,
    NamedTuple,
    Optional,
    Protocol,
    cast,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "RETRYABLE_FAILURES",
    "TIMEOUT_FAILURES",
    "AsyncTransport",
    "FailureKind",
    "Response",
    "SyncTransport",
    "Timeouts",
    "TransportError",
    "WireRequest",
    "answer_in",
]

FailureKind = Literal[
    "connect",  # the connection could not be made (refused, DNS, TLS handshake, proxy)
    "connect_timeout",  # connecting took longer than the connect bound
    "pool_timeout",  # no pooled connection came free in time
    "write",  # the connection broke while the request was going out
    "write_timeout",  # sending the request took longer than allowed
    "read_timeout",  # a wait for response data took longer than the read bound
    "read",  # the connection broke while the answer was coming in
    "remote_closed",  # the server closed the connection or broke HTTP (no or a cut answer)
    "decode",  # the body could not be decoded (a bad gzip stream, say)
    "proxy",  # the proxy refused or failed the request
    "invalid_url",  # the URL cannot be sent to (bad form, unsupported scheme)
    "protocol",  # anything else the library raised for a request it could not complete
]

# Failures retried on every endpoint: the server never got the whole request (connect, pool,
# write), or it dropped the connection without a word. Read timeouts depend on the endpoint.
RETRYABLE_FAILURES: frozenset[str] = frozenset(
    {
        "connect",
        "connect_timeout",
        "pool_timeout",
        "write",
        "write_timeout",
        "read",
        "remote_closed",
    }
)
TIMEOUT_FAILURES: frozenset[str] = frozenset(
    {"connect_timeout", "pool_timeout", "write_timeout", "read_timeout"}
)


class TransportError(Exception):
    """Sending or receiving failed; ``kind`` says how, ``cause`` is the library's exception."""

    def __init__(self, kind: FailureKind, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.cause = cause

    def __str__(self) -> str:
        return self.message


class Timeouts(NamedTuple):
    """The bounds of one attempt, in seconds (None: no bound)."""

    connect: Optional[float]
    read: Optional[float]
    write: Optional[float]
    pool: Optional[float]


class WireRequest:
    """One attempt as the core wants it sent: nothing a transport may add or change."""

    __slots__ = ("content", "headers", "method", "target", "timeouts", "url")

    def __init__(
        self,
        method: str,
        url: httpx.URL,
        target: str,
        headers: dict[str, str],
        content: Optional[bytes],
        timeouts: Timeouts,
    ) -> None:
        self.method = method
        #: The parsed URL (what the core and observers read); ``target`` is the same as text.
        self.url = url
        self.target = target
        #: Lower-case names; the API key is among them, so this is never shown.
        self.headers = headers
        self.content = content
        self.timeouts = timeouts

    def __repr__(self) -> str:
        return f"<WireRequest {self.method} {self.target}>"


class Response(Protocol):
    """What the core reads of an answer; ``httpx.Response`` is one as it is.

    It is also what users get as ``err.response``, ``APIResponse.response`` and
    ``stream.response``: the status, case-insensitive headers, the body once read.
    """

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> httpx.Headers: ...

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...

    def json(self, **kwargs: Any) -> Any: ...

    @property
    def request(self) -> httpx.Request: ...


class SyncTransport(Protocol):
    """A blocking transport: every failure of every method is a ``TransportError``."""

    @property
    def is_closed(self) -> bool: ...

    def send(self, request: WireRequest, *, stream: bool) -> Response:
        """The answer's headers (``stream``) or the answer with its body read."""
        ...

    def read(self, response: Response) -> None:
        """Read the rest of a streamed answer's body, so ``content`` holds it."""
        ...

    def chunks(self, response: Response, read_s: Optional[float]) -> Iterator[bytes]:
        """A streamed body as it arrives, each wait bounded by ``read_s`` from now on."""
        ...

    def close_response(self, response: Response) -> None: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    """The async twin of ``SyncTransport``."""

    @property
    def is_closed(self) -> bool: ...

    async def send(self, request: WireRequest, *, stream: bool) -> Response: ...

    async def read(self, response: Response) -> None: ...

    def chunks(self, response: Response, read_s: Optional[float]) -> AsyncIterator[bytes]: ...

    async def close_response(self, response: Response) -> None: ...

    async def aclose(self) -> None: ...


def answer_in(outcome: object) -> Optional[Response]:
    """The response an attempt got; None if it failed (an exception) or was not sent."""
    if outcome is None or isinstance(outcome, BaseException):
        return None
    return cast("Response", outcome)
