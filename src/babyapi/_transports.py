"""What AsyncBabyAPI sends on: aiohttp when it is installed and fits, httpx otherwise.

httpx's async connection pool costs milliseconds per call once hundreds of calls wait on
it; aiohttp's does not. Both give the shell the same httpx requests and responses, so the
choice changes speed, never behaviour. No aiohttp import happens here.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any, Literal, Protocol

import httpx

from babyapi._config import DEFAULT_TIMEOUT_S, KEEPALIVE_S, MAX_CONNECTIONS, MAX_IDLE_CONNECTIONS
from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi._request import BuildRequest

__all__ = [
    "TRANSPORTS",
    "AsyncSender",
    "Transport",
    "check_transport",
    "chosen",
    "name_of",
    "new_sender",
    "wrap_given",
]

Transport = Literal["auto", "aiohttp", "httpx"]
TRANSPORTS = ("auto", "aiohttp", "httpx")
_INSTALL = "pip install 'babyapi[aiohttp]'"


class AsyncSender(Protocol):
    """What the async shell needs of an HTTP client; httpx.AsyncClient has it as it is."""

    @property
    def is_closed(self) -> bool: ...

    @property
    def build_request(self) -> BuildRequest: ...

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response: ...

    async def aclose(self) -> None: ...


def aiohttp_installed() -> bool:
    """Whether aiohttp can be imported, without importing it."""
    try:
        return importlib.util.find_spec("aiohttp") is not None
    except ValueError:  # sys.modules["aiohttp"] is None: imports of it are blocked
        return False


def check_transport(transport: Any, http_client: Any) -> Transport:
    """Validate ``transport=`` against what is installed and what ``http_client`` is."""
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


def wrap_given(http_client: Any) -> AsyncSender:
    """The user's client as the shell will use it (never closed by us)."""
    if _is_aiohttp_session(http_client):
        from babyapi._aiohttp import AiohttpClient

        return AiohttpClient(http_client)
    sender: AsyncSender = http_client
    return sender


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


def new_sender(transport: Transport) -> AsyncSender:
    """Our own client for the loop we are in: aiohttp if asked or if it fits, else httpx."""
    if chosen(transport) == "httpx":
        client: AsyncSender = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT_S, limits=POOL_LIMITS)
        return client
    if _in_trio():
        raise InvalidArgumentError(
            "transport='aiohttp' runs on asyncio only; under trio use transport='httpx' "
            "(or leave transport out to pick it automatically).",
            code="INVALID_OPTIONS",
        )
    from babyapi._aiohttp import AiohttpClient

    return AiohttpClient()


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
    """aiohttp speaks to http:// proxies only; a socks or https proxy keeps httpx in charge."""
    from babyapi._aiohttp import unsupported_env_proxy

    return unsupported_env_proxy() is None


def _is_aiohttp_session(value: Any) -> bool:
    # Only a program that made a session has aiohttp loaded; no import needed to check.
    aiohttp = sys.modules.get("aiohttp")
    return aiohttp is not None and isinstance(value, aiohttp.ClientSession)


def name_of(sender: AsyncSender) -> str:
    """'aiohttp' or 'httpx': the library a sender sends with."""
    return "httpx" if isinstance(sender, httpx.AsyncClient) else "aiohttp"
