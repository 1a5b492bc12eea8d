"""Fault drills: make the local server misbehave on purpose, one request at a time.

Send a request header ``x-babyapi-fault: <spec>``. The spec is a list of items
separated by ``;`` (or ``,``); item names are case-insensitive. The header
works on every path, after the API-key check (a drill never bypasses auth).

``<status>`` or ``status=<status>``
    Answer with that HTTP status (400-599) and an OpenAI-shaped error body,
    e.g. ``500``, ``503``, ``429``.
``retry-after=<seconds>``
    Add a ``Retry-After`` header to the injected error, e.g. ``429;retry-after=1``.
``hang=<seconds>``
    Send nothing (not even headers) for that long, then carry on: with no other
    item the request is then served normally. Fractions work (``hang=0.3``);
    at most 600 s.
``reset``
    Drop the connection without any response (TCP reset). Needs the server
    started by babyapi (``babyapi serve``, ``LocalServer``); under another ASGI
    server it degrades to an empty 500.
``html-502``
    Answer 502 with a proxy's HTML error page (``text/html``), not JSON.
``stream-error-after=<n>``
    Streaming requests only: after n data chunks, send a vLLM-style error frame
    ``data: {"error": {...}}`` and end the body without ``data: [DONE]``.
``stream-cut-after=<n>``
    Streaming requests only: after n data chunks, close the connection in the
    middle of the chunked body (the client sees an incomplete body).
``chunk-delay=<seconds>``
    Streaming requests only: wait that long before each chunk (slow streams,
    stream timeouts).
``fail-first=<k>``
    Apply the other items only to the first k attempts that carry the same
    ``Idempotency-Key`` header (and the same fault header), then serve the
    request normally. With no other failure item the failing attempts get 503.
    Combine freely: ``fail-first=2;status=429;retry-after=0``,
    ``fail-first=1;reset``, ``fail-first=1;stream-cut-after=3``. Requests with
    no Idempotency-Key share one counter per fault header.

Items are applied in this order: hang, then (if fail-first lets the attempt
fail) reset, html-502, status, and the stream items. Stream items on a
non-streaming request are ignored. A malformed spec is answered with 400.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Optional, Tuple

from babyapi.server.errors import APIError

FAULT_HEADER = "x-babyapi-fault"
MAX_HANG_S = 600.0
# Bounded so a long-running server hammered with fresh keys keeps flat memory.
_MAX_TRACKED_KEYS = 10_000

PROXY_502_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class FaultPlan:
    """A parsed ``x-babyapi-fault`` header."""

    spec: str
    status: Optional[int] = None
    retry_after: Optional[str] = None
    hang_s: float = 0.0
    reset: bool = False
    html_502: bool = False
    stream_error_after: Optional[int] = None
    stream_cut_after: Optional[int] = None
    chunk_delay_s: float = 0.0
    fail_first: Optional[int] = None

    @property
    def fails_request(self) -> bool:
        """Whether the plan answers before the endpoint runs."""
        return self.reset or self.html_502 or self.status is not None

    @property
    def touches_stream(self) -> bool:
        """Whether the plan changes how a stream is sent."""
        return (
            self.stream_error_after is not None
            or self.stream_cut_after is not None
            or self.chunk_delay_s > 0
        )

    def error(self) -> APIError:
        """The injected error for a status fault (503 when fail-first gave none)."""
        status = self.status if self.status is not None else 503
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        headers = {"retry-after": self.retry_after} if self.retry_after is not None else None
        return APIError(
            status,
            f"Injected fault ({FAULT_HEADER}: {self.spec}): {status} {phrase}".rstrip(),
            headers=headers,
        )


def _bad(spec: str, why: str) -> APIError:
    return APIError(
        400,
        f"Invalid {FAULT_HEADER} header {spec!r}: {why}. See babyapi.server.faults for the syntax.",
        param=FAULT_HEADER,
        code="invalid_fault",
    )


def _status(spec: str, raw: str) -> int:
    if not raw.isdigit() or not 400 <= int(raw) <= 599:
        raise _bad(spec, f"status must be a number from 400 to 599, not {raw!r}")
    return int(raw)


def _count(spec: str, name: str, raw: str) -> int:
    if not raw.isdigit():
        raise _bad(spec, f"{name} needs a whole number >= 0, not {raw!r}")
    return int(raw)


def _seconds(spec: str, name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise _bad(spec, f"{name} needs a number of seconds, not {raw!r}") from None
    if not 0.0 <= value <= MAX_HANG_S:
        raise _bad(spec, f"{name} must be between 0 and {MAX_HANG_S:g} seconds")
    return value


def parse_fault(spec: str) -> FaultPlan:
    """Parse a header value into a plan, or raise a 400 APIError that says what is wrong."""
    plan = FaultPlan(spec=spec)
    for item in spec.replace(",", ";").split(";"):
        item = item.strip()
        if not item:
            continue
        name, _, raw = item.partition("=")
        name, raw = name.strip().lower(), raw.strip()
        if name.isdigit():
            plan = replace(plan, status=_status(spec, name))
        elif name == "status":
            plan = replace(plan, status=_status(spec, raw))
        elif name == "retry-after":
            _seconds(spec, name, raw)
            plan = replace(plan, retry_after=raw)
        elif name == "hang":
            plan = replace(plan, hang_s=_seconds(spec, name, raw))
        elif name == "chunk-delay":
            plan = replace(plan, chunk_delay_s=_seconds(spec, name, raw))
        elif name == "reset":
            plan = replace(plan, reset=True)
        elif name == "html-502":
            plan = replace(plan, html_502=True)
        elif name == "stream-error-after":
            plan = replace(plan, stream_error_after=_count(spec, name, raw))
        elif name == "stream-cut-after":
            plan = replace(plan, stream_cut_after=_count(spec, name, raw))
        elif name == "fail-first":
            plan = replace(plan, fail_first=_count(spec, name, raw))
        else:
            raise _bad(spec, f"unknown item {item!r}")
    return plan


class AttemptCounter:
    """Counts attempts per (Idempotency-Key, fault spec) for ``fail-first``."""

    def __init__(self, max_keys: int = _MAX_TRACKED_KEYS) -> None:
        self._seen: OrderedDict[Tuple[str, str], int] = OrderedDict()
        self._max_keys = max_keys

    def next_attempt(self, idempotency_key: str, spec: str) -> int:
        """Record an attempt and return its number, starting at 1."""
        key = (idempotency_key, spec)
        attempt = self._seen.pop(key, 0) + 1
        self._seen[key] = attempt
        if len(self._seen) > self._max_keys:
            self._seen.popitem(last=False)
        return attempt
