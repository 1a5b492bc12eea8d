"""The exception hierarchy: every failure a user can meet is a BabyAPIError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Optional

if TYPE_CHECKING:
    from babyapi._wire import Response

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
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
    "StructuredOutputError",
    "ToolError",
    "UnprocessableEntityError",
    "error_class",
]


class ErrorCode:
    """The codes babyapi sets on ``BabyAPIError.code``, to compare against.

    They are plain strings: ``err.code == ErrorCode.MODEL_REQUIRED`` and
    ``err.code == "MODEL_REQUIRED"`` mean the same. HTTP errors carry the server's own code
    instead, when it sends one.
    """

    # Refused before any request (InvalidArgumentError).
    API_KEY_REQUIRED: Final = "API_KEY_REQUIRED"
    MODEL_REQUIRED: Final = "MODEL_REQUIRED"
    PROMPT_REQUIRED: Final = "PROMPT_REQUIRED"
    INVALID_INFER_INPUT: Final = "INVALID_INFER_INPUT"
    INVALID_OPTIONS: Final = "INVALID_OPTIONS"
    INVALID_REQUEST_OPTIONS: Final = "INVALID_REQUEST_OPTIONS"
    INVALID_REQUEST_BODY: Final = "INVALID_REQUEST_BODY"
    INVALID_HEADERS: Final = "INVALID_HEADERS"
    INVALID_QUERY: Final = "INVALID_QUERY"
    INVALID_TIMEOUT: Final = "INVALID_TIMEOUT"
    INVALID_MAX_RETRIES: Final = "INVALID_MAX_RETRIES"
    STREAM_METHOD_REQUIRED: Final = "STREAM_METHOD_REQUIRED"
    UNSUPPORTED_SCHEMA_TYPE: Final = "UNSUPPORTED_SCHEMA_TYPE"
    UNSUPPORTED_SCHEMA: Final = "UNSUPPORTED_SCHEMA"
    INVALID_SCHEMA: Final = "INVALID_SCHEMA"
    INVALID_RESPONSE_FORMAT: Final = "INVALID_RESPONSE_FORMAT"
    INVALID_TOOL: Final = "INVALID_TOOL"
    # The client used where it cannot work.
    CLIENT_CLOSED: Final = "CLIENT_CLOSED"
    EVENT_LOOP_CHANGED: Final = "EVENT_LOOP_CHANGED"
    PROCESS_FORKED: Final = "PROCESS_FORKED"
    HTTP_CLIENT_NOT_ASYNC: Final = "HTTP_CLIENT_NOT_ASYNC"
    NOT_PICKLABLE: Final = "NOT_PICKLABLE"
    STREAM_NOT_OPEN: Final = "STREAM_NOT_OPEN"
    # Talking to the server.
    TIMEOUT: Final = "TIMEOUT"
    CONNECTION_ERROR: Final = "CONNECTION_ERROR"
    STREAM_INTERRUPTED: Final = "STREAM_INTERRUPTED"
    EMPTY_STREAM: Final = "EMPTY_STREAM"
    INVALID_RESPONSE: Final = "INVALID_RESPONSE"
    REDIRECT: Final = "REDIRECT"
    RETRY_BUDGET_EXHAUSTED: Final = "RETRY_BUDGET_EXHAUSTED"
    # The answer to parse() is not what the schema asks for (StructuredOutputError).
    OUTPUT_NOT_JSON: Final = "OUTPUT_NOT_JSON"
    OUTPUT_TRUNCATED: Final = "OUTPUT_TRUNCATED"
    OUTPUT_SCHEMA_MISMATCH: Final = "OUTPUT_SCHEMA_MISMATCH"
    OUTPUT_REFUSED: Final = "OUTPUT_REFUSED"
    # The tool loop stopped (ToolError).
    TOOL_ROUNDS_EXCEEDED: Final = "TOOL_ROUNDS_EXCEEDED"
    TOOL_UNKNOWN: Final = "TOOL_UNKNOWN"
    TOOL_ARGUMENTS_INVALID: Final = "TOOL_ARGUMENTS_INVALID"
    TOOL_FAILED: Final = "TOOL_FAILED"
    TOOL_BAD_RESPONSE: Final = "TOOL_BAD_RESPONSE"
    # Batch jobs (babyapi.batch).
    INVALID_ITEM: Final = "INVALID_ITEM"
    BATCH_ABORTED: Final = "BATCH_ABORTED"
    CHECKPOINT_MISMATCH: Final = "CHECKPOINT_MISMATCH"
    CHECKPOINT_WRITE_FAILED: Final = "CHECKPOINT_WRITE_FAILED"
    JOB_ALREADY_STARTED: Final = "JOB_ALREADY_STARTED"


class BabyAPIError(Exception):
    """Root of every error the SDK raises."""

    #: How many requests the call sent before giving up (``None`` when none was sent).
    attempts: Optional[int] = None
    #: For a client of several servers: the base URL of the server the last attempt went to.
    server: Optional[str] = None
    #: For a stream that failed midway: the answer accumulated so far, shaped like ``final()``.
    partial: Optional[dict[str, Any]] = None
    #: The underlying exception (the transport library's or json's), if any.
    cause: Optional[BaseException] = None

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        type: Optional[str] = None,
        request_id: Optional[str] = None,
        details: Any = None,
        response: Optional[Response] = None,
        cause: Optional[BaseException] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.type = type
        self.request_id = request_id
        self.details = details
        self.response = response
        if cause is not None:
            self.cause = cause
            # Kept as the suppressed context, not as __cause__: Python prints every __cause__,
            # and an uncaught connection error would show three tracebacks, httpcore's first.
            self.__context__ = cause
            self.__suppress_context__ = True

    @property
    def name(self) -> str:
        """The class name, as 0.2.0 offered it."""
        return type(self).__name__

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(status={self.status})")
        if self.code:
            parts.append(f"(code={self.code})")
        if self.request_id:
            parts.append(f"(request_id={self.request_id})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, code={self.code!r})"

    def __reduce__(self) -> Any:
        # Keyword-only constructor arguments need help to survive pickling (multiprocessing).
        state = {k: v for k, v in self.__dict__.items() if k not in ("response", "cause")}
        return (_rebuild_error, (type(self), self.message, state))


def _rebuild_error(cls: type[BabyAPIError], message: str, state: dict[str, Any]) -> BabyAPIError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    error.response = None
    error.cause = None
    return error


class InvalidArgumentError(BabyAPIError, ValueError):
    """A call, setting or option refused before anything was sent: fix the call, do not retry.

    Also a ``ValueError``, so ``except BabyAPIError`` around a fallback can let these through
    with ``except InvalidArgumentError: raise``, and plain Python code catches them as it would.
    """


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An ``InvalidArgumentError`` for a value of the wrong type; also a ``TypeError``."""


class APIConnectionError(BabyAPIError):
    """The server could not be reached, or the connection broke."""

    #: How sending failed, in the same words on every transport: ``"connect"``,
    #: ``"connect_timeout"``, ``"pool_timeout"``, ``"read_timeout"``, ``"read"``,
    #: ``"remote_closed"``, ...; ``None`` when no transport failed (a deadline, an idle stream).
    failure: Optional[str] = None


class APITimeoutError(APIConnectionError):
    """The request took longer than its timeout or deadline (code ``TIMEOUT``)."""


class APIStatusError(BabyAPIError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """HTTP 400: the server rejected the request as malformed."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the API key may not use this resource."""


class NotFoundError(APIStatusError):
    """HTTP 404: unknown path or model."""


class ConflictError(APIStatusError):
    """HTTP 409: the request conflicts with another one."""


class UnprocessableEntityError(APIStatusError):
    """HTTP 422: the request was well-formed but its fields are invalid."""


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests; ``retry_after`` says how long the server asks to wait."""


class InternalServerError(APIStatusError):
    """HTTP 5xx: the server failed."""


class StructuredOutputError(BabyAPIError):
    """The answer to ``parse()`` is not what the schema asks for.

    Codes: ``OUTPUT_NOT_JSON``, ``OUTPUT_TRUNCATED`` (cut at ``max_tokens``),
    ``OUTPUT_SCHEMA_MISMATCH`` (``path`` names the first offending field), ``OUTPUT_REFUSED``.
    """

    def __init__(
        self,
        message: str,
        *,
        raw: Optional[str] = None,
        path: Optional[str] = None,
        completion: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        #: The text the model sent (the refusal for ``OUTPUT_REFUSED``).
        self.raw = raw
        #: Where the value first breaks the schema, such as ``$.items[2].price``.
        self.path = path
        #: The whole answer the server sent.
        self.completion = completion


class ToolError(BabyAPIError):
    """The tool loop stopped: ``TOOL_ROUNDS_EXCEEDED``, or a tool failed with ``raise_tool_errors``."""

    def __init__(
        self, message: str, *, messages: Optional[list[Any]] = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        #: The conversation so far, tool calls and answers included.
        self.messages: list[Any] = messages or []


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The most specific error class for an HTTP status."""
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, APIStatusError)


_RECORDED: tuple[type[BabyAPIError], ...] = (
    BabyAPIError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    APIConnectionError,
    APITimeoutError,
    APIStatusError,
    InternalServerError,
    *_STATUS_CLASSES.values(),
)
_BY_NAME: dict[str, type[BabyAPIError]] = {cls.__name__: cls for cls in _RECORDED}


def error_class(name: object) -> type[BabyAPIError]:
    """The class an error had by its ``name`` (as a checkpoint records it); BabyAPIError if unknown."""
    return _BY_NAME.get(name, BabyAPIError) if isinstance(name, str) else BabyAPIError
