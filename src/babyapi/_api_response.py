"""APIResponse: what a non-streaming call returned, with the status, headers and request id.

``with_response(method)`` runs a method as usual and also hands back the HTTP response its
answer came in. The call plan records the final response in a context variable set only
for that call, so each thread and each asyncio task sees its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable, Generic, Optional, TypeVar

import httpx

from babyapi._response import request_id_of
from babyapi._wire import Response

if TYPE_CHECKING:
    from contextvars import ContextVar

    from typing_extensions import ParamSpec

    P = ParamSpec("P")

__all__ = ["APIResponse", "async_with_response", "record_response", "with_response"]

T = TypeVar("T")

# The context variable, made by the first with_response call: until then no call listens,
# and `import babyapi` does not load contextvars (an extension module, slow to load).
_made: dict[str, ContextVar[Optional[list[Response]]]] = {}


def _captured() -> ContextVar[Optional[list[Response]]]:
    var = _made.get("captured")
    if var is None:
        from contextvars import ContextVar

        # setdefault: threads racing here all get the one variable that was stored first.
        var = _made.setdefault("captured", ContextVar("babyapi_captured_response", default=None))
    return var


class APIResponse(Generic[T]):
    """The parsed answer (``data``) with the HTTP response it came in."""

    __slots__ = ("data", "response")

    def __init__(self, data: T, response: Response) -> None:
        #: The parsed body, as the plain method returns it.
        self.data: T = data
        #: The HTTP response (httpx's own on the httpx transport); its body has been read.
        self.response = response

    @property
    def status(self) -> int:
        """The HTTP status code."""
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive), such as ``x-ratelimit-remaining-requests``."""
        return self.response.headers

    @property
    def request_id(self) -> Optional[str]:
        """The server's request id (``x-request-id`` or ``x-babyapi-request-id``)."""
        return request_id_of(self.response.headers)

    def __repr__(self) -> str:
        return f"APIResponse(status={self.status}, request_id={self.request_id!r})"


def record_response(response: Response) -> None:
    """Keep the response a call answered with, if a ``with_response`` call is listening."""
    var = _made.get("captured")
    captured = None if var is None else var.get()
    if captured is not None:
        captured.append(response)


def with_response(method: Callable[P, T]) -> Callable[P, APIResponse[T]]:
    """``method`` with the same arguments, returning an ``APIResponse`` around its result."""

    def call(*args: P.args, **kwargs: P.kwargs) -> APIResponse[T]:
        captured: list[Response] = []
        var = _captured()
        token = var.set(captured)
        try:
            data = method(*args, **kwargs)
        finally:
            var.reset(token)
        return APIResponse(data, captured[-1])

    call.__doc__ = method.__doc__
    return call


def async_with_response(
    method: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[APIResponse[T]]]:
    """The async twin of ``with_response``."""

    async def call(*args: P.args, **kwargs: P.kwargs) -> APIResponse[T]:
        captured: list[Response] = []
        var = _captured()
        token = var.set(captured)
        try:
            data = await method(*args, **kwargs)
        finally:
            var.reset(token)
        return APIResponse(data, captured[-1])

    call.__doc__ = method.__doc__
    return call
