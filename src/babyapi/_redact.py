"""Keeping the API key out of text: error messages quote transports that quote headers. Pure."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from babyapi._errors import BabyAPIError

__all__ = ["REDACTED", "redact", "redact_error", "redact_value"]

REDACTED = "[api key]"
# A key this long cannot be ordinary text, so every occurrence of it is the key. A short one
# ("on", "e") hides in ordinary words, so only where it stands alone is it the key.
_SHORT_KEY = 12


@functools.lru_cache(maxsize=16)
def _key_pattern(key: str) -> re.Pattern[str]:
    pattern = re.escape(key)
    if len(key) < _SHORT_KEY:
        # A whole token: no letter or digit glued to either end (where the key has one there),
        # which is how it stands in "Authorization: Bearer <key>" and in a quoted header.
        if key[0].isalnum():
            pattern = r"(?<![A-Za-z0-9])" + pattern
        if key[-1].isalnum():
            pattern += r"(?![A-Za-z0-9])"
    return re.compile(pattern)


def redact(text: str, key: str) -> str:
    """``text`` with the key replaced by ``[api key]`` where it stands, and nowhere else."""
    return _key_pattern(key).sub(REDACTED, text) if key else text


def redact_value(value: Any, key: str) -> Any:
    """A parsed JSON value with the key redacted in every string, keys of objects included."""
    if not key:
        return value
    if isinstance(value, str):
        return redact(value, key)
    if isinstance(value, dict):
        fields = cast("dict[object, object]", value)
        return {redact_value(k, key): redact_value(v, key) for k, v in fields.items()}
    if isinstance(value, list):
        return [redact_value(item, key) for item in cast("list[object]", value)]
    return value


def redact_error(error: BabyAPIError, key: str) -> BabyAPIError:
    """The error with the key taken out of what a server sent: its message and its details.

    A server or a proxy may quote the key back ("Incorrect API key provided: sk-...").
    """
    error.message = redact(error.message, key)
    error.args = (error.message,)
    error.details = redact_value(error.details, key)
    return error
