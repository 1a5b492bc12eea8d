"""Retry decisions: given what happened on an attempt, retry after N seconds or stop. Pure."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Mapping, NamedTuple, Optional

__all__ = [
    "GENERATION_PATHS",
    "MAX_BACKOFF_S",
    "MAX_RETRY_AFTER_S",
    "RETRYABLE_STATUSES",
    "Decision",
    "backoff_s",
    "decide",
    "read_timeout_is_retryable",
    "retry_after_s",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
MAX_BACKOFF_S = 8.0
JITTER = 0.25
NOT_RETRYABLE = "not retryable"

# Endpoints whose every attempt is paid compute: servers such as vLLM and llama.cpp ignore
# Idempotency-Key, so a second attempt generates the answer a second time.
GENERATION_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/responses", "/infer"})
READ_TIMEOUT_NOT_RETRIED = (
    "not retried: the request reached the server, which may still be generating, and a retry "
    "would pay for the answer twice; to retry anyway, pass retry_read_timeouts=True to the "
    "client or in request_options"
)


class Decision(NamedTuple):
    """Whether to try again, after how long, and why (for the log and the final error)."""

    retry: bool
    wait_s: float = 0.0
    reason: str = ""
    retry_after_s: Optional[float] = None
    #: The error code to give up with, when giving up is the news (the retry budget).
    code: Optional[str] = None


def retry_after_s(headers: Mapping[str, str], now_epoch_s: float) -> Optional[float]:
    """The wait a server asked for: ``retry-after-ms``, else ``Retry-After`` as seconds or a date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0 and value == value:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        return _seconds_until_http_date(raw, now_epoch_s)
    return seconds if seconds >= 0 and seconds == seconds else None


def _seconds_until_http_date(raw: str, now_epoch_s: float) -> Optional[float]:
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now_epoch_s)


def backoff_s(retry_index: int, base_delay_s: float, unit_random: float) -> float:
    """Exponential backoff ``base * 2**n`` capped at 8 s, with +-25 % jitter from ``unit_random``."""
    delay = min(base_delay_s * (2.0 ** min(retry_index, 32)), MAX_BACKOFF_S)
    return delay * (1.0 - JITTER + 2.0 * JITTER * unit_random)


def status_is_retryable(status: int, headers: Mapping[str, str]) -> bool:
    """The status rule, unless the server said otherwise with ``x-should-retry``."""
    override = headers.get("x-should-retry", "").strip().lower()
    if override == "true":
        return True
    if override == "false":
        return False
    return status in RETRYABLE_STATUSES


def read_timeout_is_retryable(method: str, path: str, opt_in: Optional[bool]) -> bool:
    """A read timeout is retried unless it follows a generation request; ``opt_in`` decides when set."""
    if opt_in is not None:
        return opt_in
    return not (method == "POST" and path in GENERATION_PATHS)


def decide(
    *,
    retries_done: int,
    max_retries: int,
    retryable: bool,
    headers: Optional[Mapping[str, str]],
    base_delay_s: float,
    unit_random: float,
    now_epoch_s: float,
    time_left_s: Optional[float],
    refusal: str = NOT_RETRYABLE,
) -> Decision:
    """Decide after a failed attempt; ``time_left_s`` is what remains of the call's deadline.

    ``refusal`` says why a failure that is not retryable was not, when a retry was possible.
    """
    if not retryable:
        return Decision(False, reason=refusal if retries_done < max_retries else NOT_RETRYABLE)
    asked = retry_after_s(headers, now_epoch_s) if headers is not None else None
    if retries_done >= max_retries:
        return Decision(False, reason=f"max_retries={max_retries} reached", retry_after_s=asked)
    if asked is not None and asked > MAX_RETRY_AFTER_S:
        # Waiting minutes inside a library call surprises everyone; hand the choice back.
        return Decision(False, reason=f"server asked to wait {asked:.0f}s", retry_after_s=asked)
    wait = asked if asked is not None else backoff_s(retries_done, base_delay_s, unit_random)
    if time_left_s is not None and wait >= time_left_s:
        return Decision(False, reason="deadline would pass during the wait", retry_after_s=asked)
    return Decision(True, wait_s=wait, reason="retrying", retry_after_s=asked)
