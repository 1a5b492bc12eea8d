"""AsyncBabyAPI's aiohttp transport: httpx requests in, httpx responses out, sent by aiohttp.

The shells and the sans-IO core see httpx types only. This module sends their
``httpx.Request`` on an ``aiohttp.ClientSession`` and answers with an ``httpx.Response``
whose body streams from aiohttp; aiohttp's exceptions become the httpx exceptions the core
already judges. So errors, codes, retries and streams are the same on both transports, and
only the part that is slow in httpx under load (its async connection pool) is replaced.
Imported only when an async client first needs it: ``import babyapi`` never loads aiohttp.
"""

from __future__ import annotations

import functools
from typing import Any, AsyncIterator, Mapping, Optional, Sequence

import aiohttp
import httpx
from yarl import URL

from babyapi._config import DEFAULT_TIMEOUT_S, KEEPALIVE_S, MAX_CONNECTIONS
from babyapi._errors import InvalidArgumentError

__all__ = ["AiohttpClient", "unsupported_env_proxy"]

# The encodings httpx can decode: bodies are decoded by httpx, as on the httpx transport.
_ACCEPT_ENCODING = "gzip, deflate"

_ProxyURL = Optional[str]
# Endpoints whose aiohttp URL and proxy are kept (see AiohttpClient._target).
_MAX_TARGETS = 256


class _Request(httpx.Request):
    """An ``httpx.Request`` whose ``headers`` are built only if something reads them.

    The shells and the errors they raise hold an httpx request, as on the httpx transport,
    but aiohttp sends the plain dict (``sent``): building and normalizing httpx's headers for
    every call cost more than the rest of preparing it. The fields set here are the ones
    ``httpx.Request.__init__`` sets for a request given its body as a byte stream.
    """

    def __init__(
        self,
        method: str,
        url: httpx.URL,
        content: bytes,
        sent: dict[str, str],
        extensions: dict[str, Any],
    ) -> None:
        # httpx.Request.__init__ is skipped on purpose: it would build the headers now.
        self.method = method
        self.url = url
        self.extensions = extensions
        self.stream = httpx.ByteStream(content)
        self._content = content
        self.sent = sent
        self._headers: Optional[httpx.Headers] = None

    @property
    def headers(self) -> httpx.Headers:
        if self._headers is None:
            self._headers = httpx.Headers(self.sent)
        return self._headers

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:
        self._headers = value

    def wire_headers(self) -> Mapping[str, str]:
        """What to send: the plain dict, unless the headers were read (and maybe changed)."""
        return self.sent if self._headers is None else self._headers


class _Response(httpx.Response):
    """An ``httpx.Response`` whose ``headers`` are made from aiohttp's raw pairs when first read.

    A successful JSON call never reads them (its body is all it needs), so most calls skip
    building them; errors, streams, observers and ``with_response`` read them as usual.
    """

    _raw: Optional[Sequence[tuple[bytes, bytes]]] = None

    def __init__(
        self,
        status: int,
        raw: Sequence[tuple[bytes, bytes]],
        stream: httpx.ByteStream,
        request: httpx.Request,
    ) -> None:
        super().__init__(status, stream=stream, request=request)
        self._raw = raw  # after httpx's __init__, which sets empty headers through the setter

    @property
    def headers(self) -> httpx.Headers:
        if self._raw is not None:
            self._headers = httpx.Headers(self._raw)
            self._raw = None
        return self._headers

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:
        self._raw = None
        self._headers = value


class AiohttpClient:
    """The parts of an httpx.AsyncClient the async shell uses, done with aiohttp."""

    def __init__(self, session: Optional[aiohttp.ClientSession] = None) -> None:
        """With no session, ours is made on first use, inside the event loop that uses it."""
        self._session = session
        self.owned = session is None
        self._closed = False
        self._proxies: dict[str, _ProxyURL] = {}
        self._targets: dict[int, tuple[httpx.URL, URL, _ProxyURL]] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = _own_session()
        return self._session

    @property
    def is_closed(self) -> bool:
        return self._closed or (self._session is not None and self._session.closed)

    def build_request(
        self,
        method: str,
        url: httpx.URL,
        *,
        content: Optional[bytes] = None,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
    ) -> httpx.Request:
        """The request as httpx would build it, made in a fraction of httpx's time."""
        sent = {"accept-encoding": _ACCEPT_ENCODING, **headers}
        return _Request(method, url, content or b"", sent, {"timeout": timeout.as_dict()})

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send on aiohttp; the body is read unless ``stream``; failures raise httpx's errors."""
        if self.is_closed:
            # httpx's words for the same mistake, so the shell treats both transports alike.
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        timeout = request.extensions["timeout"]
        url, proxy = self._target(request.url)
        try:
            answer = await self.session.request(
                request.method,
                url,
                data=request.content or None,
                headers=_wire_headers(request),
                timeout=_client_timeout(timeout["connect"], timeout["read"], timeout["pool"]),
                allow_redirects=False,
                proxy=proxy,
            )
        except _AIOHTTP_ERRORS as exc:
            raise httpx_error(exc, request) from exc
        if stream:
            response = httpx.Response(
                answer.status,
                headers=answer.raw_headers,
                stream=_Body(answer, request, timeout["read"]),
                request=request,
            )
            return response
        try:
            body = await answer.read()
        except _AIOHTTP_ERRORS as exc:
            answer.close()
            raise httpx_error(exc, request) from exc
        except BaseException:
            answer.close()
            raise
        response = _Response(answer.status, answer.raw_headers, httpx.ByteStream(body), request)
        if "Content-Encoding" in answer.headers:
            response.read()  # decoded by httpx, exactly as on the httpx transport
        else:
            # Nothing to decode: skip httpx's decoder pipeline, a third of the cost of a response.
            response._content = body
        return response

    async def aclose(self) -> None:
        """Close our own session; one passed in as http_client stays the caller's to close."""
        if self.owned:
            self._closed = True
            if self._session is not None:
                await self._session.close()

    def _target(self, url: httpx.URL) -> tuple[URL, _ProxyURL]:
        """Where a request goes in aiohttp's terms (its URL, its proxy), worked out once per URL.

        The core hands over the same parsed ``httpx.URL`` for every call to an endpoint, so
        the identity of that object is the key: no string is built or hashed per call.
        """
        known = self._targets.get(id(url))
        if known is not None and known[0] is url:
            return known[1], known[2]
        target = URL(str(url), encoded=True)
        proxy = self._proxy_for(url) if self.owned else None
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()  # URLs with per-call query strings must not pile up
        self._targets[id(url)] = (url, target, proxy)
        return target, proxy

    def _proxy_for(self, url: httpx.URL) -> _ProxyURL:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        try:
            return self._proxies[origin]
        except KeyError:
            proxy = env_proxy_for(url)
        if proxy is not None and not proxy.lower().startswith("http://"):
            raise InvalidArgumentError(
                f"the environment sends {origin} through the proxy {_without_password(proxy)}, "
                "which aiohttp cannot use (it speaks to http:// proxies only); use "
                "transport='httpx', or leave transport out to pick httpx automatically.",
                code="INVALID_OPTIONS",
            )
        self._proxies[origin] = proxy
        return proxy


def _own_session() -> aiohttp.ClientSession:
    """A session configured like httpx's default client: TLS, limits, cookies, proxies."""
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS,
        keepalive_timeout=KEEPALIVE_S,
        # The same trust store as httpx: certifi, or SSL_CERT_FILE / SSL_CERT_DIR.
        ssl=httpx.create_ssl_context(),
    )
    return aiohttp.ClientSession(
        connector=connector,
        # httpx decodes the body, so both transports give the same bytes and headers.
        auto_decompress=False,
        # httpx keeps cookies for IP-address hosts too.
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(total=None, sock_read=DEFAULT_TIMEOUT_S),
        # Proxies are resolved once per origin (see _proxy_for), as httpx does at
        # construction; aiohttp's trust_env would re-read the environment and ~/.netrc per call.
        trust_env=False,
    )


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as the httpx byte stream of the response handed to the shell."""

    def __init__(
        self, answer: aiohttp.ClientResponse, request: httpx.Request, read_s: Optional[float]
    ) -> None:
        self._answer = answer
        self._request = request
        self._read_s = read_s

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._follow_read_timeout()
        content = self._answer.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except _AIOHTTP_ERRORS as exc:
            raise httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        # release() keeps a fully read connection and closes one left mid-body.
        self._answer.release()

    def _follow_read_timeout(self) -> None:
        """Honour a read timeout changed once the headers are in (see ``headers_timeout_s``)."""
        read_s = self._request.extensions["timeout"].get("read")
        connection = self._answer.connection
        if read_s != self._read_s and connection is not None and connection.protocol is not None:
            connection.protocol.read_timeout = read_s
            connection.protocol.start_timeout()  # replaces the timer armed with the old bound


def _wire_headers(request: httpx.Request) -> Mapping[str, str]:
    return request.wire_headers() if isinstance(request, _Request) else request.headers


_AIOHTTP_ERRORS = (aiohttp.ClientError, aiohttp.ServerTimeoutError)


def httpx_error(exc: BaseException, request: httpx.Request) -> Exception:
    """The httpx exception for an aiohttp failure: what the core retries and words by type."""
    message = str(exc) or type(exc).__name__
    cls: type[Exception]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        cls = httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        cls = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientHttpProxyError):
        cls = httpx.ProxyError
    elif isinstance(exc, aiohttp.ClientConnectorError):
        cls = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        # httpx's words for the same event, so messages match on both transports.
        cls, message = httpx.RemoteProtocolError, "Server disconnected without sending a response."
    elif isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        cls = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.InvalidURL):
        return httpx.InvalidURL(message)
    else:
        cls = httpx.ReadError
    return cls(message, request=request)


@functools.lru_cache(maxsize=64)
def _client_timeout(
    connect: Optional[float], read: Optional[float], pool: Optional[float]
) -> aiohttp.ClientTimeout:
    # aiohttp's ``connect`` covers waiting for a pooled connection plus connecting, as
    # httpx's pool and connect timeouts do together; ``sock_read`` bounds each wait for data.
    wait = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=wait, sock_connect=connect, sock_read=read)


def env_proxy_for(url: httpx.URL) -> _ProxyURL:
    """The proxy httpx would use for ``url`` from HTTP(S)_PROXY, ALL_PROXY and NO_PROXY."""
    from httpx._utils import URLPattern, get_environment_proxies

    for pattern, proxy in sorted(
        ((URLPattern(key), value) for key, value in get_environment_proxies().items()),
    ):
        if pattern.matches(url):
            return proxy
    return None


def unsupported_env_proxy() -> Optional[str]:
    """The first proxy in the environment that aiohttp cannot use (only http:// ones work)."""
    from httpx._utils import get_environment_proxies

    for proxy in get_environment_proxies().values():
        if proxy is not None and not proxy.lower().startswith("http://"):
            return proxy
    return None


def _without_password(proxy: str) -> str:
    url = URL(proxy)
    return str(url.with_password(None)) if url.password else proxy
