"""babyapi: a small, typed client for BabyAPI and any OpenAI-compatible server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from babyapi import _errors
from babyapi._api_response import APIResponse
from babyapi._budget import RetryBudget
from babyapi._client import AsyncBabyAPI, BabyAPI
from babyapi._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BabyAPIError,
    BadRequestError,
    ConflictError,
    ErrorCode,
    InternalServerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StructuredOutputError,
    ToolError,
    UnprocessableEntityError,
)
from babyapi._lazy import names_on_first_use
from babyapi._options import RequestOptions
from babyapi._version import __version__
from babyapi._wire import Response as HTTPResponse

if TYPE_CHECKING:
    from babyapi._servers import Server, ServerStatus
    from babyapi._sse import SSEEvent
    from babyapi._streaming import AsyncStream, Stream
    from babyapi._usage import ModelUsage, UsageTracker

# Public names whose modules a plain call does not need: each loads on first access
# (``babyapi.Stream``, ``from babyapi import UsageTracker``), so `import babyapi` stays light.
_ON_FIRST_USE = {
    "AsyncStream": "babyapi._streaming",
    "ModelUsage": "babyapi._usage",
    "SSEEvent": "babyapi._sse",
    "Server": "babyapi._servers",
    "ServerStatus": "babyapi._servers",
    "Stream": "babyapi._streaming",
    "UsageTracker": "babyapi._usage",
}

if not TYPE_CHECKING:  # type checkers read the imports above, and flag a misspelt name
    __getattr__ = names_on_first_use(globals(), _ON_FIRST_USE)


def __dir__() -> list[str]:
    return sorted({*globals(), *_ON_FIRST_USE})


def _show_errors_as_exported() -> None:
    """Tracebacks then name errors as users import them: babyapi.APIConnectionError."""
    exported = globals()
    for name in _errors.__all__:
        if name in exported:  # a name not importable from here could not be unpickled
            getattr(_errors, name).__module__ = "babyapi"


_show_errors_as_exported()

__all__ = [
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AsyncBabyAPI",
    "AsyncStream",
    "AuthenticationError",
    "BabyAPI",
    "BabyAPIError",
    "BadRequestError",
    "ConflictError",
    "ErrorCode",
    "HTTPResponse",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "ModelUsage",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOptions",
    "RetryBudget",
    "SSEEvent",
    "Server",
    "ServerStatus",
    "Stream",
    "StructuredOutputError",
    "ToolError",
    "UnprocessableEntityError",
    "UsageTracker",
    "__version__",
]
