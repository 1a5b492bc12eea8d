"""Retry decisions: a table of decide() cases, the backoff curve, and hypothesis bounds."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any, Dict, Optional

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi._retry import Decision, backoff_s, decide, retry_after_s, status_is_retryable

NOW = 1_700_000_000.0  # the wall clock the tests pretend it is


def http_date(epoch_s: float) -> str:
    return formatdate(epoch_s, usegmt=True)


def run(
    *,
    status: Optional[int] = 503,
    headers: Optional[Dict[str, str]] = None,
    retries_done: int = 0,
    max_retries: int = 2,
    base: float = 0.25,
    unit_random: float = 0.5,
    time_left: Optional[float] = None,
) -> Decision:
    """decide() as the call plan uses it: a status (or None for a network error) and its headers."""
    wire_headers = httpx.Headers(headers or {})
    retryable = True if status is None else status_is_retryable(status, wire_headers)
    return decide(
        retries_done=retries_done,
        max_retries=max_retries,
        retryable=retryable,
        headers=None if status is None else wire_headers,
        base_delay_s=base,
        unit_random=unit_random,
        now_epoch_s=NOW,
        time_left_s=time_left,
    )


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    decision = run(status=status)
    assert decision.retry and decision.wait_s == 0.25


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 413, 422, 501, 505])
def test_non_retryable_statuses(status: int) -> None:
    decision = run(status=status)
    assert not decision.retry
    assert decision.wait_s == 0.0


@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [
        (400, "true", True),
        (400, " TRUE ", True),
        (503, "false", False),
        (429, "False", False),
        (503, "maybe", True),
        (400, "", False),
        (401, "1", False),
    ],
)
def test_x_should_retry_overrides(status: int, header: str, expected: bool) -> None:
    assert status_is_retryable(status, httpx.Headers({"x-should-retry": header})) is expected
    assert run(status=status, headers={"X-Should-Retry": header}).retry is expected


# (name, headers, expected wait or None for "use the backoff")
RETRY_AFTER_CASES = [
    ("nothing", {}, None),
    ("retry-after-ms", {"retry-after-ms": "1500"}, 1.5),
    ("retry-after-ms zero", {"retry-after-ms": "0"}, 0.0),
    ("retry-after-ms fractional", {"retry-after-ms": "12.5"}, 0.0125),
    ("retry-after-ms beats Retry-After", {"retry-after-ms": "100", "Retry-After": "9"}, 0.1),
    ("bad retry-after-ms falls back", {"retry-after-ms": "soon", "Retry-After": "3"}, 3.0),
    ("nan retry-after-ms falls back", {"retry-after-ms": "nan", "Retry-After": "3"}, 3.0),
    ("negative retry-after-ms falls back", {"retry-after-ms": "-5", "Retry-After": "3"}, 3.0),
    ("seconds", {"Retry-After": "2"}, 2.0),
    ("seconds with spaces", {"Retry-After": " 7 "}, 7.0),
    ("fractional seconds", {"Retry-After": "0.5"}, 0.5),
    ("zero seconds", {"Retry-After": "0"}, 0.0),
    ("negative seconds ignored", {"Retry-After": "-3"}, None),
    ("nan seconds ignored", {"Retry-After": "NaN"}, None),
    ("garbage ignored", {"Retry-After": "later please"}, None),
    ("HTTP-date in 30 s", {"Retry-After": http_date(NOW + 30)}, 30.0),
    ("HTTP-date in the past", {"Retry-After": http_date(NOW - 100)}, 0.0),
    ("HTTP-date now", {"Retry-After": http_date(NOW)}, 0.0),
]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [c[1:] for c in RETRY_AFTER_CASES],
    ids=[c[0] for c in RETRY_AFTER_CASES],
)
def test_retry_after(headers: Dict[str, str], expected: Optional[float]) -> None:
    assert retry_after_s(httpx.Headers(headers), NOW) == expected
    decision = run(status=429, headers=headers, unit_random=0.5)
    assert decision.retry
    assert decision.wait_s == pytest.approx(0.25 if expected is None else expected)
    assert decision.retry_after_s == expected


def test_http_date_is_relative_to_the_given_clock() -> None:
    headers = httpx.Headers({"Retry-After": http_date(NOW + 45)})
    assert retry_after_s(headers, NOW) == 45.0
    assert retry_after_s(headers, NOW + 40) == 5.0
    assert retry_after_s(headers, NOW + 50) == 0.0


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "61"},
        {"retry-after-ms": "60001"},
        {"Retry-After": http_date(NOW + 3600)},
        {"Retry-After": "inf"},
    ],
    ids=["61 s", "60001 ms", "an hour from now", "inf"],
)
def test_long_retry_after_hands_back(headers: Dict[str, str]) -> None:
    decision = run(status=429, headers=headers)
    assert not decision.retry
    assert decision.retry_after_s is not None and decision.retry_after_s > 60
    assert "wait" in decision.reason


def test_sixty_seconds_is_still_waited() -> None:
    decision = run(status=429, headers={"Retry-After": "60"})
    assert decision.retry and decision.wait_s == 60.0


def test_retry_after_reported_when_out_of_retries() -> None:
    decision = run(status=429, headers={"Retry-After": "5"}, retries_done=2, max_retries=2)
    assert not decision.retry
    assert decision.retry_after_s == 5.0
    assert "max_retries=2" in decision.reason


def test_network_errors_use_backoff() -> None:
    decision = run(status=None, retries_done=1, unit_random=0.5)
    assert decision.retry and decision.wait_s == 0.5
    assert decision.retry_after_s is None


@pytest.mark.parametrize(
    ("retries_done", "max_retries", "retry"),
    [(0, 0, False), (0, 1, True), (1, 1, False), (1, 2, True), (2, 2, False), (5, 2, False)],
)
def test_max_retries(retries_done: int, max_retries: int, retry: bool) -> None:
    assert run(retries_done=retries_done, max_retries=max_retries).retry is retry


@pytest.mark.parametrize(
    ("n", "nominal"),
    [
        (0, 0.25),
        (1, 0.5),
        (2, 1.0),
        (3, 2.0),
        (4, 4.0),
        (5, 8.0),
        (6, 8.0),
        (40, 8.0),
        (10_000, 8.0),
    ],
)
def test_backoff_curve(n: int, nominal: float) -> None:
    assert backoff_s(n, 0.25, 0.5) == nominal
    assert backoff_s(n, 0.25, 0.0) == 0.75 * nominal
    assert backoff_s(n, 0.25, 1.0) == 1.25 * nominal


def test_backoff_zero_base() -> None:
    assert backoff_s(3, 0.0, 1.0) == 0.0
    assert run(base=0.0, retries_done=1).wait_s == 0.0


@pytest.mark.parametrize(
    ("headers", "time_left", "retry"),
    [
        ({}, 0.2, False),  # backoff 0.25 s > 0.2 s left
        ({}, 0.25, False),  # waiting exactly until the deadline leaves no time to send
        ({}, 0.3, True),
        ({"Retry-After": "5"}, 4.0, False),
        ({"Retry-After": "5"}, 6.0, True),
        ({"retry-after-ms": "10"}, 0.02, True),
    ],
)
def test_deadline_shorter_than_wait_stops(
    headers: Dict[str, str], time_left: float, retry: bool
) -> None:
    decision = run(status=503, headers=headers, time_left=time_left)
    assert decision.retry is retry
    if not retry:
        assert "deadline" in decision.reason
    else:
        assert decision.wait_s < time_left


# --- hypothesis ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 64),
    base=st.floats(0.001, 10),
    unit_random=st.floats(0, 1),
)
def test_wait_within_jitter_bounds(n: int, base: float, unit_random: float) -> None:
    decision = run(
        status=None, retries_done=n, max_retries=n + 1, base=base, unit_random=unit_random
    )
    nominal = min(base * 2**n, 8.0)
    assert decision.retry
    assert 0.75 * nominal <= decision.wait_s <= 1.25 * nominal
    assert decision.wait_s <= 10.0


_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": st.one_of(
            st.integers(-5, 200).map(str),
            st.floats(-10, 200, allow_nan=False).map(repr),
            st.integers(-100, 200).map(lambda d: http_date(NOW + d)),
            st.text(max_size=8).filter(lambda s: "\n" not in s and "\r" not in s and s.isascii()),
        ),
        "retry-after-ms": st.integers(-1000, 200_000).map(str),
        "x-should-retry": st.sampled_from(["true", "false", "yes"]),
    },
)


@settings(max_examples=120, deadline=None)
@given(
    status=st.none() | st.integers(400, 599),
    headers=_HEADERS,
    retries_done=st.integers(0, 10),
    max_retries=st.integers(0, 10),
    base=st.floats(0, 5),
    unit_random=st.floats(0, 1),
    time_left=st.none() | st.floats(0.001, 120),
)
def test_decisions_respect_limits(
    status: Optional[int],
    headers: Dict[str, str],
    retries_done: int,
    max_retries: int,
    base: float,
    unit_random: float,
    time_left: Optional[float],
) -> None:
    decision = run(
        status=status,
        headers=headers,
        retries_done=retries_done,
        max_retries=max_retries,
        base=base,
        unit_random=unit_random,
        time_left=time_left,
    )
    if retries_done >= max_retries:
        assert not decision.retry
    if decision.retry:
        assert 0 <= decision.wait_s <= 60
        if time_left is not None:
            assert decision.wait_s < time_left
    else:
        assert decision.wait_s == 0.0
        assert decision.reason


@settings(max_examples=50, deadline=None)
@given(value=st.text(max_size=40).filter(lambda s: s.isascii() and "\n" not in s and "\r" not in s))
def test_retry_after_never_raises(value: Any) -> None:
    for name in ("Retry-After", "retry-after-ms"):
        result = retry_after_s(httpx.Headers({name: value}), NOW)
        assert result is None or result >= 0
