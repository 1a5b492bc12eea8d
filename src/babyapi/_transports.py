"""Which transport a client sends on: aiohttp when it is installed and fits, httpx otherwise;
for the sync client, httpx or the standard library's http.client.

httpx's async connection pool costs milliseconds per call once hundreds of calls wait on
it; aiohttp's does not. All map into the same seam (``_wire``), so the choice changes
speed, never behaviour. Neither aiohttp nor the standard-library transport is imported here.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, TypeVar

import httpx

from babyapi._config import DEFAULT_TIMEOUT_S, KEEPALIVE_S, MAX_CONNECTIONS, MAX_IDLE_CONNECTIONS
from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi._httpx import AsyncHttpxTransport, HttpxTransport
from babyapi._wire import AsyncTransport, SyncTransport

__all__ = [
    "SYNC_TRANSPORTS",
    "TRANSPORTS",
    "Transport",
    "check_sync_transport",
    "check_transport",
    "chosen",
    "chosen_sync",
    "name_of",
    "new_sender",
    "new_sync_transport",
    "sync_name_of",
    "wrap_given",
]

Transport = Literal["auto", "aiohttp", "httpx", "stdlib"]
TRANSPORTS = ("auto", "aiohttp", "httpx")
SYNC_TRANSPORTS = ("auto", "httpx", "stdlib")
_INSTALL = "pip install 'babyapi[aiohttp]'"


def aiohttp_installed() -> bool:
    """Whether aiohttp can be imported, without importing it."""
    import importlib.util  # not loaded by `import babyapi`: only an async client asks

    try:
        return importlib.util.find_spec("aiohttp") is not None
    except ValueError:  # sys.modules["aiohttp"] is None: imports of it are blocked
        return False


def check_transport(transport: Any, http_client: Any) -> Transport:
    """Validate ``transport=`` against what is installed and what ``http_client`` is."""
    if transport == "stdlib":
        raise InvalidArgumentError(
            "transport='stdlib' is BabyAPI's (the sync client's); AsyncBabyAPI sends with "
            f"one of {', '.join(map(repr, TRANSPORTS))}.",
            code="INVALID_OPTIONS",
        )
    if transport not in TRANSPORTS:
        raise InvalidArgumentError(
            f"transport must be one of {', '.join(map(repr, TRANSPORTS))}, got {transport!r}.",
            code="INVALID_OPTIONS",
        )
    if transport == "aiohttp" and not aiohttp_installed():
        raise InvalidArgumentError(
            f"transport='aiohttp' needs aiohttp, which is not installed: {_INSTALL}.",
            code="INVALID_OPTIONS",
        )
    if http_client is not None:
        given = "aiohttp" if _is_aiohttp_session(http_client) else "httpx"
        if transport not in ("auto", given):
            raise InvalidArgumentError(
                f"transport={transport!r} does not match the http_client passed in "
                f"({type(http_client).__name__}); leave transport out or pass one that matches.",
                code="INVALID_OPTIONS",
            )
        if given == "httpx" and not isinstance(http_client, httpx.AsyncClient):
            raise InvalidArgumentTypeError(
                "AsyncBabyAPI needs an httpx.AsyncClient or an aiohttp.ClientSession as "
                f"http_client, got {type(http_client).__name__}.",
                code="INVALID_OPTIONS",
            )
    return transport  # type: ignore[no-any-return]


def wrap_given(http_client: Any) -> AsyncTransport:
    """The user's client as the shell will use it (never closed by us)."""
    if _is_aiohttp_session(http_client):
        from babyapi._aiohttp import AiohttpTransport

        return AiohttpTransport(http_client)
    return AsyncHttpxTransport(http_client)


def chosen(transport: Transport) -> str:
    """The library ``transport`` stands for here and now: "aiohttp" or "httpx"."""
    if transport == "auto":
        fits = not _in_trio() and aiohttp_installed() and _env_proxy_fits()
        return "aiohttp" if fits else "httpx"
    return transport


# The same limits and keep-alive on every transport, sync and async (see _config.KEEPALIVE_S).
POOL_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS,
    max_keepalive_connections=MAX_IDLE_CONNECTIONS,
    keepalive_expiry=KEEPALIVE_S,
)


def check_sync_transport(transport: Any, http_client: Any) -> Transport:
    """Validate BabyAPI's ``transport=`` against ``http_client``."""
    if transport == "aiohttp":
        raise InvalidArgumentError(
            "the aiohttp transport is AsyncBabyAPI's; BabyAPI sends with "
            f"one of {', '.join(map(repr, SYNC_TRANSPORTS))}.",
            code="INVALID_OPTIONS",
        )
    if transport not in SYNC_TRANSPORTS:
        raise InvalidArgumentError(
            f"transport must be one of {', '.join(map(repr, SYNC_TRANSPORTS))}, got {transport!r}.",
            code="INVALID_OPTIONS",
        )
    if http_client is not None:
        if not isinstance(http_client, httpx.Client):
            raise InvalidArgumentTypeError(
                f"BabyAPI needs an httpx.Client as http_client, got {type(http_client).__name__} "
                "(AsyncBabyAPI takes httpx.AsyncClient or aiohttp.ClientSession).",
                code="INVALID_OPTIONS",
            )
        if transport == "stdlib":
            raise InvalidArgumentError(
                "transport='stdlib' does not match the httpx.Client passed as http_client; "
                "leave transport out or pass transport='httpx'.",
                code="INVALID_OPTIONS",
            )
    return transport  # type: ignore[no-any-return]


def chosen_sync(transport: Transport) -> str:
    """The library BabyAPI's ``transport`` stands for here and now: "stdlib" or "httpx".

    "auto" is the standard library (a third of httpx's CPU per call, the same behaviour),
    unless the environment names a proxy only httpx can speak to (socks, https).
    """
    if transport == "auto":
        return "stdlib" if _env_proxy_fits() else "httpx"
    return transport


def new_sync_transport(transport: Transport = "auto") -> SyncTransport:
    """Our own sync transport, with the pool limits every transport shares."""
    if chosen_sync(transport) == "stdlib":
        from babyapi._stdlib import StdlibTransport

        return StdlibTransport()
    return HttpxTransport(_httpx_client(httpx.Client))


def new_sender(transport: Transport) -> AsyncTransport:
    """Our own client for the loop we are in: aiohttp if asked or if it fits, else httpx."""
    if chosen(transport) == "httpx":
        return AsyncHttpxTransport(_httpx_client(httpx.AsyncClient))
    if _in_trio():
        raise InvalidArgumentError(
            "transport='aiohttp' runs on asyncio only; under trio use transport='httpx' "
            "(or leave transport out to pick it automatically).",
            code="INVALID_OPTIONS",
        )
    from babyapi._aiohttp import AiohttpTransport

    return AiohttpTransport()


_HttpxClient = TypeVar("_HttpxClient", httpx.Client, httpx.AsyncClient)


def _httpx_client(cls: type[_HttpxClient]) -> _HttpxClient:
    """Our own httpx client; a socks proxy in the environment needs httpx's ``socks`` extra."""
    try:
        return cls(timeout=DEFAULT_TIMEOUT_S, limits=POOL_LIMITS)
    except ImportError as exc:  # httpx names socksio, which it imports for a socks proxy only
        raise InvalidArgumentError(
            "The environment names a socks proxy (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY), and "
            "httpx needs the socksio package to use one: pip install 'babyapi[socks]' (or unset "
            "the variable, or pass http_client= with the proxy settings you want).",
            code="INVALID_OPTIONS",
        ) from exc


def _in_trio() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def _env_proxy_fits() -> bool:
    """aiohttp and the standard-library transport speak to http:// proxies only; a socks or
    https proxy keeps httpx in charge."""
    from babyapi._net_env import unsupported_env_proxy

    return unsupported_env_proxy() is None


def _is_aiohttp_session(value: Any) -> bool:
    # Only a program that made a session has aiohttp loaded; no import needed to check.
    aiohttp = sys.modules.get("aiohttp")
    return aiohttp is not None and isinstance(value, aiohttp.ClientSession)


def sync_name_of(sender: SyncTransport) -> str:
    """'httpx' or 'stdlib': the library a sync sender sends with."""
    return "httpx" if isinstance(sender, HttpxTransport) else "stdlib"


def name_of(sender: AsyncTransport) -> str:
    """'aiohttp' or 'httpx': the library a sender sends with."""
    return "httpx" if isinstance(sender, AsyncHttpxTransport) else "aiohttp"
