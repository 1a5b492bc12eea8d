"""Per-call settings: RequestOptions, validated and merged with the client's config."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from babyapi._config import ClientConfig
from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi._validation import (
    check_api_key,
    check_flag,
    check_headers,
    check_max_retries,
    check_seconds,
)
from babyapi._version import __version__

__all__ = [
    "USER_AGENT",
    "CallSettings",
    "RequestOptions",
    "RequestOptionsLike",
    "resolve_settings",
]

USER_AGENT = f"babyapi-python/{__version__}"


_OPTION_NAMES = (
    "api_key",
    "timeout_s",
    "max_retries",
    "headers",
    "deadline_s",
    "stream_idle_timeout_s",
    "headers_timeout_s",
    "retry_read_timeouts",
)


class RequestOptions:
    """Overrides for one call; every field left as ``None`` falls back to the client's setting.

    ``timeout_s`` bounds each network wait; ``deadline_s`` bounds the whole call, retries
    included; ``stream_idle_timeout_s`` bounds the time between data events of a stream
    (keep-alive comments do not count); ``headers_timeout_s`` bounds the wait for the
    response headers. ``retry_read_timeouts=True`` retries a read timeout even after a
    generation request (chat, completions, responses, ``/infer``), not retried by default since
    the server may still be generating; ``False`` retries read timeouts nowhere. Values are
    checked here, so a mistake fails before any request.
    """

    # A plain immutable class: a dataclass would cost ~1.5 ms of `import babyapi` each.
    __slots__ = _OPTION_NAMES

    api_key: Optional[str]
    timeout_s: Optional[float]
    max_retries: Optional[int]
    headers: Optional[Mapping[str, str]]
    deadline_s: Optional[float]
    stream_idle_timeout_s: Optional[float]
    headers_timeout_s: Optional[float]
    retry_read_timeouts: Optional[bool]

    def __init__(
        self,
        api_key: Optional[str] = None,
        timeout_s: Optional[float] = None,
        max_retries: Optional[int] = None,
        headers: Optional[Mapping[str, str]] = None,
        deadline_s: Optional[float] = None,
        stream_idle_timeout_s: Optional[float] = None,
        headers_timeout_s: Optional[float] = None,
        retry_read_timeouts: Optional[bool] = None,
    ) -> None:
        check_api_key(api_key, "request_options.api_key", "INVALID_REQUEST_OPTIONS")
        for name, seconds in (
            ("timeout_s", timeout_s),
            ("deadline_s", deadline_s),
            ("stream_idle_timeout_s", stream_idle_timeout_s),
            ("headers_timeout_s", headers_timeout_s),
        ):
            check_seconds(seconds, f"request_options.{name}")
        if max_retries is not None:
            check_max_retries(max_retries, "request_options.max_retries")
        check_headers(headers, "request_options.headers")
        check_flag(
            retry_read_timeouts, "request_options.retry_read_timeouts", "INVALID_REQUEST_OPTIONS"
        )
        values = (
            api_key,
            timeout_s,
            max_retries,
            headers,
            deadline_s,
            stream_idle_timeout_s,
            headers_timeout_s,
            retry_read_timeouts,
        )
        for name, value in zip(_OPTION_NAMES, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"RequestOptions is immutable; build a new one instead of setting {name}"
        )

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _OPTION_NAMES)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestOptions):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # headers may be a dict

    def __repr__(self) -> str:
        # Neither the key nor header values (which may carry credentials) are shown.
        shown = [
            f"{n}={getattr(self, n)!r}" for n in _OPTION_NAMES if n not in ("api_key", "headers")
        ]
        return f"RequestOptions({', '.join(shown)})"


RequestOptionsLike = Union[RequestOptions, Mapping[str, Any]]


class CallSettings:
    """The settings one call runs with, after merging request options over the config.

    Shared by every call of a client that passes no request options (see ``resolve_settings``),
    so nothing changes one once built: other headers make another (``with_headers``).
    """

    __slots__ = (
        "_wire",
        "api_key",
        "deadline_s",
        "headers",
        "headers_timeout_s",
        "idempotency_key",
        "max_retries",
        "retry_read_timeouts",
        "stream_idle_timeout_s",
        "timeout_s",
    )

    def __init__(
        self,
        *,
        api_key: str,
        timeout_s: Optional[float],
        max_retries: int,
        headers: dict[str, str],
        deadline_s: Optional[float],
        stream_idle_timeout_s: Optional[float],
        headers_timeout_s: Optional[float],
        retry_read_timeouts: Optional[bool] = None,
    ) -> None:
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        # The key comes from api_key only, so a stray header can never override or leak it;
        # an Idempotency-Key the caller set is kept apart, to replace the one a POST makes.
        headers.pop("authorization", None)
        self.idempotency_key: Optional[str] = headers.pop("idempotency-key", None)
        self.headers = headers
        self.deadline_s = deadline_s
        self.stream_idle_timeout_s = stream_idle_timeout_s
        self.headers_timeout_s = headers_timeout_s
        self.retry_read_timeouts = retry_read_timeouts
        self._wire: dict[tuple[str, bool, bool], dict[str, str]] = {}

    def with_headers(self, extra: Mapping[str, str]) -> CallSettings:
        """A copy with ``extra`` (checked, lower-case names) over these headers."""
        headers = {**self.headers, **extra}
        if self.idempotency_key is not None:
            headers.setdefault("idempotency-key", self.idempotency_key)
        return CallSettings(
            api_key=self.api_key,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            headers=headers,
            deadline_s=self.deadline_s,
            stream_idle_timeout_s=self.stream_idle_timeout_s,
            headers_timeout_s=self.headers_timeout_s,
            retry_read_timeouts=self.retry_read_timeouts,
        )

    def wire_headers(self, api_key: str, stream: bool, has_body: bool) -> dict[str, str]:
        """The headers every attempt of such a call sends, built once per kind (do not change).

        An attempt adds its ids to a copy (timeit: copying costs 0.3 µs, building 1.6 µs).
        """
        kind = (api_key, stream, has_body)
        headers = self._wire.get(kind)
        if headers is None:
            headers = dict(self.headers)
            headers["authorization"] = f"Bearer {api_key}"
            headers["accept"] = "text/event-stream" if stream else "application/json"
            headers.setdefault("user-agent", USER_AGENT)
            if has_body:
                headers["content-type"] = "application/json"
            if len(self._wire) >= _MAX_WIRE_KINDS:
                self._wire.clear()  # per-server keys of a big replica set must not pile up
            self._wire[kind] = headers
        return headers


def as_request_options(value: Optional[RequestOptionsLike]) -> RequestOptions:
    """Accept a RequestOptions, a plain dict with the same keys, or None."""
    if value is None:
        return _EMPTY
    if isinstance(value, RequestOptions):
        return value
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(
            f"request_options must be a RequestOptions or a dict, got {type(value).__name__}.",
            code="INVALID_REQUEST_OPTIONS",
        )
    unknown = [key for key in value if key not in _OPTION_NAMES]
    if unknown:
        raise InvalidArgumentError(
            f"request_options has unknown keys {sorted(map(str, unknown))}; "
            f"valid keys are {sorted(_OPTION_NAMES)}.",
            code="INVALID_REQUEST_OPTIONS",
        )
    return RequestOptions(**value)


_EMPTY = RequestOptions()


def resolve_settings(
    config: ClientConfig, options: Optional[RequestOptionsLike], *, stream: bool
) -> CallSettings:
    """Merge per-call options over the client config; streams default to no read timeout.

    Calls with no options, or with the same header-less ``RequestOptions`` object (a batch
    job passes one to every request), share one ``CallSettings`` per client and kind (stream
    or not), worked out on first use; any other options are merged for each call.
    """
    if options is not None and not (
        isinstance(options, RequestOptions) and options.headers is None
    ):
        return _resolved(config, options, stream)  # a mapping, or headers that may change
    key = (id(config), id(options))
    known = _SHARED.get(key)
    # The entry holds its config and options, so neither id can be another's while it lives.
    if known is None or known[0] is not config or known[1] is not options:
        call, streamed = _resolved(config, options, False), _resolved(config, options, True)
        known = (config, options, call, streamed)
        if len(_SHARED) >= _MAX_SHARED:
            _SHARED.clear()  # with_options copies made per call must not pile up
        _SHARED[key] = known
    return known[3] if stream else known[2]


# (id of the config, id of the options): the config, the options, the settings for a call and
# for a stream. Holding both objects keeps their ids from being reused while the entry lives.
_SHARED: dict[
    tuple[int, int],
    tuple[ClientConfig, Optional[RequestOptions], CallSettings, CallSettings],
] = {}
_MAX_SHARED = 64
_MAX_WIRE_KINDS = 16


def _resolved(
    config: ClientConfig, options: Optional[RequestOptionsLike], stream: bool
) -> CallSettings:
    opts = as_request_options(options)
    api_key = check_api_key(opts.api_key, "request_options.api_key", "INVALID_REQUEST_OPTIONS")
    api_key = api_key or config.api_key
    if not api_key:
        raise InvalidArgumentError(
            "No API key: pass api_key=... to BabyAPI(...), set the BABYAPI_API_KEY environment "
            "variable, or pass request_options={'api_key': ...}. A BabyAPI key comes with your "
            "BabyAPI account; a local server started without --api-key (babyapi serve, vLLM, "
            "llama-server) takes any non-empty key, such as 'local'.",
            code="API_KEY_REQUIRED",
        )
    headers = dict(config.default_headers)
    if opts.headers:
        headers.update(check_headers(opts.headers, "request_options.headers"))
    return CallSettings(
        api_key=api_key,
        timeout_s=opts.timeout_s if (stream or opts.timeout_s is not None) else config.timeout_s,
        # Streams are never retried: a replay could duplicate text the user already saw. Over
        # several servers one fails over before its response arrives (see _route), never after.
        max_retries=0
        if stream and not config.servers
        else _pick(opts.max_retries, config.max_retries),
        headers=headers,
        deadline_s=_pick(opts.deadline_s, config.deadline_s),
        stream_idle_timeout_s=opts.stream_idle_timeout_s,
        headers_timeout_s=opts.headers_timeout_s,
        retry_read_timeouts=_pick(opts.retry_read_timeouts, config.retry_read_timeouts),
    )


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value
