"""The retry budget on its own: a floor, a share of calls, a sliding window, shared safely."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi import BabyAPIError, RetryBudget
from babyapi._budget import RetryLedger


def spend(ledger: RetryLedger, now: float, tries: int) -> int:
    return sum(ledger.try_retry(now) for _ in range(tries))


def test_the_floor_allows_min_retries_with_no_calls_to_speak_of() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.0, min_retries=3, window_s=10.0))
    ledger.record_call(0.0)
    assert spend(ledger, 0.0, 10) == 3


def test_retries_grow_with_calls_by_the_ratio() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.2, min_retries=0, window_s=10.0))
    for _ in range(100):
        ledger.record_call(1.0)
    assert spend(ledger, 1.0, 100) == 20
    assert ledger.totals(1.0) == (100, 20)


def test_floor_and_ratio_add_up() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.5, min_retries=4, window_s=10.0))
    for _ in range(10):
        ledger.record_call(0.0)
    assert spend(ledger, 0.0, 50) == 4 + 5


def test_the_window_slides() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.0, min_retries=2, window_s=10.0))
    ledger.record_call(0.0)
    assert spend(ledger, 0.0, 5) == 2
    assert spend(ledger, 9.5, 5) == 0, "still inside the window"
    assert spend(ledger, 10.5, 5) == 2, "the first retries have aged out"
    assert spend(ledger, 15.0, 5) == 0
    assert spend(ledger, 1000.0, 5) == 2


def test_calls_age_out_too() -> None:
    ledger = RetryLedger(RetryBudget(ratio=1.0, min_retries=0, window_s=10.0))
    for _ in range(5):
        ledger.record_call(0.0)
    assert ledger.totals(5.0) == (5, 0)
    assert ledger.totals(20.0) == (0, 0)
    assert spend(ledger, 20.0, 5) == 0


def test_threads_never_overspend() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.1, min_retries=7, window_s=60.0))
    for _ in range(1_000):
        ledger.record_call(0.0)
    granted = [0] * 8
    start = threading.Barrier(8)

    def work(i: int) -> None:
        start.wait()
        granted[i] = spend(ledger, 1.0, 500)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 7 + 100


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ratio": -0.1},
        {"ratio": float("nan")},
        {"ratio": "0.2"},
        {"min_retries": -1},
        {"min_retries": 1.5},
        {"min_retries": True},
        {"window_s": 0},
        {"window_s": float("inf")},
    ],
    ids=repr,
)
def test_bad_budgets_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(BabyAPIError) as info:
        RetryBudget(**kwargs)
    assert info.value.code == "INVALID_OPTIONS"
    assert next(iter(kwargs)) in info.value.message


def test_budget_is_an_immutable_value() -> None:
    budget = RetryBudget(0.1, 5, 30.0)
    assert budget == RetryBudget(ratio=0.1, min_retries=5, window_s=30.0)
    assert budget != RetryBudget()
    assert repr(budget) == "RetryBudget(ratio=0.1, min_retries=5, window_s=30.0)"
    with pytest.raises(AttributeError):
        budget.ratio = 1.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(budget)) == budget


def test_a_pickled_ledger_starts_a_fresh_window() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.0, min_retries=1))
    ledger.record_call(0.0)
    assert ledger.try_retry(0.0)
    copy = pickle.loads(pickle.dumps(ledger))
    assert copy.budget == ledger.budget
    assert copy.totals(0.0) == (0, 0)


def test_the_refusal_says_what_was_spent_and_what_to_do() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.2, min_retries=1, window_s=10.0))
    ledger.record_call(0.0)
    assert spend(ledger, 0.0, 3) == 2  # 1 + 0.2 allowed: the second retry starts below it
    ledger.record_call(0.0)
    reason = ledger.refusal(0.0)
    assert "2 retries for 2 calls in the last 10s, of 1 + 0.2 per call allowed" in reason
    assert "retry_budget=None" in reason


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_the_lock_is_held_can_still_retry() -> None:
    ledger = RetryLedger(RetryBudget(ratio=0.0, min_retries=1))
    ledger.record_call(0.0)
    with ledger._lock:  # another thread is mid-update when the process forks
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os._exit(0 if ledger.try_retry(0.0) else 1)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the child waited forever for a lock its parent held at the fork")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_s": 1e-320},  # accepted once, then every call raised a raw OverflowError
        {"window_s": 1e-4},
        {"window_s": 10**400},
        {"ratio": 10**400},
        {"min_retries": 10**400},
    ],
    ids=[
        "window_s=1e-320",
        "window_s=1e-4",
        "window_s=10**400",
        "ratio=10**400",
        "min_retries=10**400",
    ],
)
def test_budgets_that_cannot_be_counted_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(BabyAPIError) as info:
        RetryBudget(**kwargs)
    assert info.value.code == "INVALID_OPTIONS"
    assert next(iter(kwargs)) in info.value.message


_ANY_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)


@settings(max_examples=300, deadline=None)
@given(ratio=_ANY_NUMBER, min_retries=_ANY_NUMBER, window_s=_ANY_NUMBER, now=st.floats(0, 1e12))
def test_any_budget_is_refused_or_works(
    ratio: float, min_retries: int, window_s: float, now: float
) -> None:
    """Whatever numbers a user passes: a BabyAPIError now, or a ledger that never raises later."""
    try:
        budget = RetryBudget(ratio=ratio, min_retries=min_retries, window_s=window_s)
    except BabyAPIError as error:
        assert error.code == "INVALID_OPTIONS"
        return
    ledger = RetryLedger(budget)
    ledger.record_call(now)
    ledger.try_retry(now)
    ledger.try_retry(now + budget.window_s / 3)
    assert ledger.totals(now)[0] == 1
    assert "retry budget" in ledger.refusal(now)
