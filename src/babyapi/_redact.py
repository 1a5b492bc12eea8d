"""Keeping the API key out of text: error messages quote transports that quote headers. Pure."""

from __future__ import annotations

import functools
import re

__all__ = ["REDACTED", "redact"]

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
