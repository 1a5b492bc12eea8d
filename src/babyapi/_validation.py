"""Checks on what users pass in, each failing with an InvalidArgumentError that says what to do."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Optional, Sequence, cast

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "check_api_key",
    "check_base_url",
    "check_flag",
    "check_headers",
    "check_max_retries",
    "check_query",
    "check_seconds",
    "check_text",
]

# RFC 9110 token characters: anything else in a header name corrupts the request.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")
# httpx encodes header values as ASCII; anything else would fail deep inside the transport.
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
_API_KEY = re.compile(r"[\x21-\x7e]+")


def check_seconds(value: Any, name: str, *, allow_none: bool = True) -> Optional[float]:
    """A positive, finite number of seconds (``INVALID_TIMEOUT``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentTypeError(
            f"{name} must be a number of seconds, got {type(value).__name__}; pass e.g. {name}=30.0.",
            code="INVALID_TIMEOUT",
        )
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidArgumentError(
            f"{name} must be a positive number of seconds, got {value!r}; "
            f"pass e.g. {name}=30.0, or leave it out for the default.",
            code="INVALID_TIMEOUT",
        )
    return seconds


def check_flag(value: Any, name: str, code: str) -> Optional[bool]:
    """``True``, ``False`` or ``None`` (the default applies); nothing else, not even 0 or "yes"."""
    if value is None or isinstance(value, bool):
        return value
    raise InvalidArgumentTypeError(
        f"{name} must be True, False or None, got {type(value).__name__}.",
        code=code,
    )


def check_max_retries(value: Any, name: str = "max_retries") -> int:
    """A whole number >= 0 (``INVALID_MAX_RETRIES``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        whole = isinstance(value, int) and not isinstance(value, bool)
        error = InvalidArgumentError if whole else InvalidArgumentTypeError
        raise error(
            f"{name} must be a whole number >= 0, got {value!r}; pass 0 to send exactly one request.",
            code="INVALID_MAX_RETRIES",
        )
    return value


def check_headers(value: Any, name: str = "headers") -> dict[str, str]:
    """A mapping of header names to string values; ``None`` values are dropped."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(
            f"{name} must be a dict of header names to values, got {type(value).__name__}.",
            code="INVALID_HEADERS",
        )
    headers: dict[str, str] = {}
    for key, raw in cast("Mapping[object, object]", value).items():
        if raw is None:
            continue
        if not isinstance(key, str) or not _HEADER_NAME.fullmatch(key):
            error = InvalidArgumentError if isinstance(key, str) else InvalidArgumentTypeError
            raise error(
                f"{name} has an invalid header name {key!r}: use letters, digits and '-' only.",
                code="INVALID_HEADERS",
            )
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise InvalidArgumentTypeError(
                f"{name}[{key!r}] must be a string, got {type(raw).__name__}.",
                code="INVALID_HEADERS",
            )
        text = str(raw)
        if _FORBIDDEN_IN_VALUE.search(text):
            raise InvalidArgumentError(
                f"{name}[{key!r}] contains a line break or NUL, which would corrupt the request; "
                "remove it.",
                code="INVALID_HEADERS",
            )
        if not _HEADER_VALUE.fullmatch(text):
            raise InvalidArgumentError(
                f"{name}[{key!r}] must be printable ASCII (HTTP header values cannot carry other "
                "characters); percent-encode it or leave it out.",
                code="INVALID_HEADERS",
            )
        headers[key.lower()] = text
    return headers


def check_query(value: Any, name: str = "extra_query") -> dict[str, Any]:
    """Query parameters: names to strings, numbers or lists of them; ``None`` values are dropped."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(
            f"{name} must be a dict of query parameter names to values, such as "
            f"{{'api-version': '2024-06-01'}}, got {type(value).__name__}.",
            code="INVALID_QUERY",
        )
    params: dict[str, Any] = {}
    for key, raw in cast("Mapping[object, object]", value).items():
        if raw is None:
            continue
        if not isinstance(key, str) or not key:
            error = InvalidArgumentError if isinstance(key, str) else InvalidArgumentTypeError
            raise error(
                f"{name} has an invalid parameter name {key!r}: use a non-empty string.",
                code="INVALID_QUERY",
            )
        many = isinstance(raw, (list, tuple))
        items: list[object] = list(cast("Sequence[object]", raw)) if many else [raw]
        for item in items:
            if not isinstance(item, (str, int, float)):
                raise InvalidArgumentTypeError(
                    f"{name}[{key!r}] must be a string or a number (or a list of them), "
                    f"got {type(item).__name__}.",
                    code="INVALID_QUERY",
                )
        params[key] = items if many else raw
    return params


def check_api_key(value: Any, name: str, code: str) -> Optional[str]:
    """An API key, trimmed; the message never repeats it, since it is a secret."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"{name} must be a string, got {type(value).__name__}.", code=code
        )
    key = value.strip()
    if key and not _API_KEY.fullmatch(key):
        raise InvalidArgumentError(
            f"{name} contains a space, a line break or a non-ASCII character, which no API key "
            "has; check how it was copied (the key is not shown here).",
            code=code,
        )
    return key or None


def check_text(value: Any, name: str, code: str, hint: str) -> Optional[str]:
    """An optional non-blank string; blank counts as absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"{name} must be a string, got {type(value).__name__}; {hint}", code=code
        )
    return value if value.strip() else None


def check_base_url(value: Any) -> str:
    """An http(s) URL without a trailing slash or /v1 (``INVALID_OPTIONS``)."""
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"base_url must be a string such as 'https://api.babyapi.org', got {type(value).__name__}.",
            code="INVALID_OPTIONS",
        )
    url = value.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if (
        not sep
        or scheme.lower() not in ("http", "https")
        or not rest
        or any(c.isspace() for c in rest)
    ):
        raise InvalidArgumentError(
            f"base_url {value!r} is not an http(s) URL; pass something like "
            "'https://api.babyapi.org' or 'http://127.0.0.1:8000'.",
            code="INVALID_OPTIONS",
        )
    # OpenAI SDK users habitually include /v1; the SDK's paths already carry it.
    return url[: -len("/v1")] if url.endswith("/v1") else url
