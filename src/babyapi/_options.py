"""Per-call settings: RequestOptions, validated and merged with the client's config."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Optional, Union

from babyapi._config import ClientConfig
from babyapi._errors import BabyAPIError
from babyapi._validation import check_api_key, check_headers, check_max_retries, check_seconds

__all__ = ["CallSettings", "RequestOptions", "RequestOptionsLike", "resolve_settings"]


@dataclass(frozen=True)
class RequestOptions:
    """Overrides for one call; every field left as ``None`` falls back to the client's setting.

    ``timeout_s`` bounds each network wait; ``deadline_s`` bounds the whole call, retries
    included; ``stream_idle_timeout_s`` bounds the time between data events of a stream
    (keep-alive comments do not count); ``headers_timeout_s`` bounds the wait for the
    response headers.
    """

    api_key: Optional[str] = field(default=None, repr=False)
    timeout_s: Optional[float] = None
    max_retries: Optional[int] = None
    headers: Optional[Mapping[str, str]] = field(default=None, repr=False)
    deadline_s: Optional[float] = None
    stream_idle_timeout_s: Optional[float] = None
    headers_timeout_s: Optional[float] = None

    def __post_init__(self) -> None:
        check_api_key(self.api_key, "request_options.api_key", "INVALID_REQUEST_OPTIONS")
        for name in ("timeout_s", "deadline_s", "stream_idle_timeout_s", "headers_timeout_s"):
            check_seconds(getattr(self, name), f"request_options.{name}")
        if self.max_retries is not None:
            check_max_retries(self.max_retries, "request_options.max_retries")
        check_headers(self.headers, "request_options.headers")


RequestOptionsLike = Union[RequestOptions, Mapping[str, Any]]
_OPTION_NAMES = frozenset(f.name for f in fields(RequestOptions))


@dataclass
class CallSettings:
    """The settings one call runs with, after merging request options over the config."""

    api_key: str = field(repr=False)
    timeout_s: Optional[float]
    max_retries: int
    headers: dict[str, str]
    deadline_s: Optional[float]
    stream_idle_timeout_s: Optional[float]
    headers_timeout_s: Optional[float]


def as_request_options(value: Optional[RequestOptionsLike]) -> RequestOptions:
    """Accept a RequestOptions, a plain dict with the same keys, or None."""
    if value is None:
        return _EMPTY
    if isinstance(value, RequestOptions):
        return value
    if not isinstance(value, Mapping):
        raise BabyAPIError(
            f"request_options must be a RequestOptions or a dict, got {type(value).__name__}.",
            code="INVALID_REQUEST_OPTIONS",
        )
    unknown = [key for key in value if key not in _OPTION_NAMES]
    if unknown:
        raise BabyAPIError(
            f"request_options has unknown keys {sorted(map(str, unknown))}; "
            f"valid keys are {sorted(_OPTION_NAMES)}.",
            code="INVALID_REQUEST_OPTIONS",
        )
    return RequestOptions(**value)


_EMPTY = RequestOptions()


def resolve_settings(
    config: ClientConfig, options: Optional[RequestOptionsLike], *, stream: bool
) -> CallSettings:
    """Merge per-call options over the client config; streams default to no read timeout."""
    opts = as_request_options(options)
    api_key = check_api_key(opts.api_key, "request_options.api_key", "INVALID_REQUEST_OPTIONS")
    api_key = api_key or config.api_key
    if not api_key:
        raise BabyAPIError(
            "No API key: pass api_key=... to BabyAPI(...), set the BABYAPI_API_KEY environment "
            "variable, or pass request_options={'api_key': ...}.",
            code="API_KEY_REQUIRED",
        )
    headers = dict(config.default_headers)
    if opts.headers:
        headers.update(check_headers(opts.headers, "request_options.headers"))
    return CallSettings(
        api_key=api_key,
        timeout_s=opts.timeout_s if (stream or opts.timeout_s is not None) else config.timeout_s,
        # Streams are never retried: a replay could duplicate text the user already saw.
        max_retries=0 if stream else _pick(opts.max_retries, config.max_retries),
        headers=headers,
        deadline_s=_pick(opts.deadline_s, config.deadline_s),
        stream_idle_timeout_s=opts.stream_idle_timeout_s,
        headers_timeout_s=opts.headers_timeout_s,
    )


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value
