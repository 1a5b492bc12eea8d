"""babyapi: a small, typed client for BabyAPI and any OpenAI-compatible server."""

from __future__ import annotations

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
from babyapi._options import RequestOptions
from babyapi._sse import SSEEvent
from babyapi._streaming import AsyncStream, Stream
from babyapi._version import __version__

# Tracebacks then name errors as users import them: babyapi.APIConnectionError.
for _error in (
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
    UnprocessableEntityError,
):
    _error.__module__ = "babyapi"
del _error

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
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOptions",
    "RetryBudget",
    "SSEEvent",
    "Stream",
    "StructuredOutputError",
    "ToolError",
    "UnprocessableEntityError",
    "__version__",
]
