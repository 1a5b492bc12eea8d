"""AsyncBabyAPI's aiohttp transport: the seam's requests sent, and answers read, by aiohttp.

It maps the core's ``WireRequest`` onto ``aiohttp.ClientSession.request`` and aiohttp's
answer and exceptions onto the seam's ``Response`` and failure kinds, with aiohttp's public
API only. Every request states what the SDK's rules need (no redirects, no raise on an error
status, the body decoded once, its own timeouts), so a session passed in as ``http_client``
keeps its other defaults and never changes how a call is judged. Imported only when an async
client first needs it: ``import babyapi`` never loads aiohttp.
"""

from __future__ import annotations

import functools
from typing import AsyncIterator, Optional

import aiohttp
import httpx
from yarl import URL

from babyapi._answer import WireAnswer
from babyapi._config import DEFAULT_TIMEOUT_S, KEEPALIVE_S, MAX_CONNECTIONS
from babyapi._net_env import http_proxy_for, trust_store
from babyapi._wire import FailureKind, Response, TransportError, WireRequest

__all__ = ["AiohttpResponse", "AiohttpTransport"]

# What we ask servers for: the encodings aiohttp decodes without optional packages.
_ACCEPT_ENCODING = "gzip, deflate"
_ASK_ENCODINGS = {"accept-encoding": _ACCEPT_ENCODING}

_ProxyURL = Optional[str]
# Endpoints whose aiohttp URL and proxy are kept (see AiohttpTransport._target).
_MAX_TARGETS = 256


class AiohttpResponse(WireAnswer):
    """An answer aiohttp received, read as the core reads any: status, headers, body.

    It is what users get as ``err.response`` on this transport, with the read side of an
    ``httpx.Response`` (see ``WireAnswer``).
    """

    __slots__ = ("answer",)

    accept_encoding = _ACCEPT_ENCODING

    def __init__(
        self,
        answer: aiohttp.ClientResponse,
        sent: WireRequest,
        content: Optional[bytes],
    ) -> None:
        super().__init__(sent, answer.status, answer.reason, answer.raw_headers, content)
        #: aiohttp's own response (its body already read, or streaming).
        self.answer = answer

    @property
    def charset(self) -> Optional[str]:
        return self.answer.charset


class AiohttpTransport:
    """Sends on an ``aiohttp.ClientSession``: ours, or the one passed as ``http_client``."""

    def __init__(self, session: Optional[aiohttp.ClientSession] = None) -> None:
        """With no session, ours is made on first use, inside the event loop that uses it."""
        self._session = session
        self.owned = session is None
        self._closed = False
        self._proxies: dict[str, _ProxyURL] = {}
        self._targets: dict[str, tuple[URL, _ProxyURL]] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = _own_session()
        return self._session

    @property
    def is_closed(self) -> bool:
        return self._closed or (self._session is not None and self._session.closed)

    async def send(self, request: WireRequest, *, stream: bool) -> AiohttpResponse:
        """Send on aiohttp; the body is read unless ``stream``; failures are TransportErrors."""
        session = self._session
        if self._closed or session is None or session.closed:
            if self.is_closed:
                # httpx's words for the same mistake, so the shell treats both transports alike.
                raise RuntimeError("Cannot send a request, as the client has been closed.")
            session = self.session
        connect, read, _, pool = request.timeouts
        url, proxy = self._target(request)
        # Our own session asks for _ACCEPT_ENCODING by default; one passed in may not.
        headers = request.headers if self.owned else {**_ASK_ENCODINGS, **request.headers}
        try:
            answer = await session.request(
                request.method,
                url,
                data=request.content,
                headers=headers,
                timeout=_client_timeout(connect, read, pool),
                proxy=proxy,
                # The SDK's rules, whatever the session's defaults: redirects are an error the
                # SDK words, an error status is judged by the SDK (retries, typed errors), and
                # the body is decoded here exactly once.
                allow_redirects=False,
                raise_for_status=False,
                auto_decompress=True,
            )
        except _AIOHTTP_ERRORS as exc:
            raise failure_of(exc) from exc
        if stream:
            return AiohttpResponse(answer, request, None)
        try:
            body = await answer.read()
        except _AIOHTTP_ERRORS as exc:
            answer.close()
            raise failure_of(exc) from exc
        except BaseException:
            answer.close()
            raise
        return AiohttpResponse(answer, request, body)

    async def read(self, response: Response) -> None:
        answer = _aiohttp_response(response)
        try:
            answer.fill(await answer.answer.read())
        except _AIOHTTP_ERRORS as exc:
            raise failure_of(exc) from exc
        finally:
            answer.answer.release()
            answer.is_closed = True

    async def chunks(self, response: Response, read_s: Optional[float]) -> AsyncIterator[bytes]:
        answer = _aiohttp_response(response).answer
        _follow_read_bound(answer, read_s)
        content = answer.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except _AIOHTTP_ERRORS as exc:
            raise failure_of(exc) from exc

    async def close_response(self, response: Response) -> None:
        answer = _aiohttp_response(response)
        # release() keeps a fully read connection and closes one left mid-body.
        answer.answer.release()
        answer.is_closed = True

    async def aclose(self) -> None:
        """Close our own session; one passed in as http_client stays the caller's to close."""
        if self.owned:
            self._closed = True
            if self._session is not None:
                await self._session.close()

    def _target(self, request: WireRequest) -> tuple[URL, _ProxyURL]:
        """Where a request goes in aiohttp's terms (its URL, its proxy), worked out once per URL.

        Keyed by the URL's text, one string object per endpoint whose hash Python keeps
        (timeit: 0.1 µs a lookup, against 1.0 µs to parse the yarl URL, plus the proxy match).
        """
        known = self._targets.get(request.target)
        if known is not None:
            return known
        target = URL(request.target, encoded=True)
        proxy = self._proxy_for(request.url) if self.owned else None
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()  # URLs with per-call query strings must not pile up
        known = self._targets[request.target] = (target, proxy)
        return known

    def _proxy_for(self, url: httpx.URL) -> _ProxyURL:
        return http_proxy_for(url, self._proxies, "aiohttp")


def _own_session() -> aiohttp.ClientSession:
    """A session configured like httpx's default client: TLS, limits, cookies, proxies."""
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS,
        keepalive_timeout=KEEPALIVE_S,
        ssl=trust_store(),
    )
    return aiohttp.ClientSession(
        connector=connector,
        # Every request's, as a default: aiohttp copies its defaults into each request's
        # headers anyway, so this saves merging a dict per request.
        headers=_ASK_ENCODINGS,
        # httpx keeps cookies for IP-address hosts too.
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(total=None, sock_read=DEFAULT_TIMEOUT_S),
        # Proxies are resolved once per origin (see _proxy_for), as httpx does at
        # construction; aiohttp's trust_env would re-read the environment and ~/.netrc per call.
        trust_env=False,
    )


def _aiohttp_response(response: Response) -> AiohttpResponse:
    assert isinstance(response, AiohttpResponse)  # answers of this transport are its own
    return response


def _follow_read_bound(answer: aiohttp.ClientResponse, read_s: Optional[float]) -> None:
    """Bound each wait for body data by ``read_s`` from now on (see ``headers_timeout_s``).

    aiohttp has no public way to change ``sock_read`` once a request is sent; its connection's
    protocol holds the bound and re-arms it per read, so that is where the new bound goes.
    """
    connection = answer.connection
    if connection is None or connection.protocol is None:
        return
    protocol = connection.protocol
    if protocol.read_timeout != read_s:
        protocol.read_timeout = read_s
        protocol.start_timeout()  # replaces the timer armed with the old bound


_AIOHTTP_ERRORS = (aiohttp.ClientError, aiohttp.ServerTimeoutError)

# Most specific first: the first class an exception is an instance of names its kind.
_KINDS: tuple[tuple[type[BaseException], FailureKind], ...] = (
    (aiohttp.ConnectionTimeoutError, "connect_timeout"),
    (aiohttp.ServerTimeoutError, "read_timeout"),
    (aiohttp.ClientHttpProxyError, "proxy"),
    (aiohttp.ClientConnectorError, "connect"),
    (aiohttp.ServerDisconnectedError, "remote_closed"),
    (aiohttp.ClientPayloadError, "remote_closed"),
    (aiohttp.ClientResponseError, "remote_closed"),
    (aiohttp.InvalidURL, "invalid_url"),
)


def failure_of(exc: BaseException) -> TransportError:
    """The seam's failure for an aiohttp exception (any other ClientError: a broken read)."""
    kind: FailureKind = "read"
    for cls, named in _KINDS:
        if isinstance(exc, cls):
            kind = named
            break
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        # httpx's words for the same event, so messages match on both transports.
        return TransportError(kind, "Server disconnected without sending a response.", exc)
    return TransportError(kind, str(exc) or type(exc).__name__, exc)


@functools.lru_cache(maxsize=64)
def _client_timeout(
    connect: Optional[float], read: Optional[float], pool: Optional[float]
) -> aiohttp.ClientTimeout:
    # aiohttp's ``connect`` covers waiting for a pooled connection plus connecting, as
    # httpx's pool and connect timeouts do together; ``sock_read`` bounds each wait for data.
    wait = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=wait, sock_connect=connect, sock_read=read)
