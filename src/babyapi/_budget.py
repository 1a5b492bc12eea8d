"""The client-wide retry budget: retries capped at a share of recent calls, plus a floor. Pure.

In the manner of gRPC's and Envoy's retry budgets (and Finagle's, whose shape this is): when a
server fails most calls, per-call retries would multiply its load by ``max_retries + 1`` just
as it is least able to carry it. A budget lets a few calls retry, not every call.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from typing import Any

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["RetryBudget", "RetryLedger"]

_SLOTS = 10  # the window slides in tenths
# A window shorter than this counts nothing useful, and far shorter ones (1e-320 s) overflow
# the tick arithmetic; a floor beyond a billion would overflow the float comparison.
_MIN_WINDOW_S = 0.001
_MAX_MIN_RETRIES = 10**9


class RetryBudget:
    """At most ``min_retries + ratio * calls`` retries in any ``window_s`` seconds, client-wide.

    The default lets 10 retries through in any 10 s, plus one for every five calls made in
    that time. Pass ``retry_budget=None`` to the client to let every call retry on its own.
    """

    __slots__ = ("min_retries", "ratio", "window_s")

    ratio: float
    min_retries: int
    window_s: float

    def __init__(self, ratio: float = 0.2, min_retries: int = 10, window_s: float = 10.0) -> None:
        _check_number(ratio, "ratio", "e.g. ratio=0.2 lets one call in five retry")
        _check_number(window_s, "window_s", "e.g. window_s=10.0", minimum=_MIN_WINDOW_S)
        whole = f"a whole number from 0 to {_MAX_MIN_RETRIES:,}"
        if isinstance(min_retries, bool) or not isinstance(min_retries, int):
            raise InvalidArgumentTypeError(
                f"RetryBudget min_retries must be {whole}, got {min_retries!r}.",
                code="INVALID_OPTIONS",
            )
        if not 0 <= min_retries <= _MAX_MIN_RETRIES:
            raise InvalidArgumentError(
                f"RetryBudget min_retries must be {whole}, got {min_retries!r}; "
                "retry_budget=None turns the budget off.",
                code="INVALID_OPTIONS",
            )
        object.__setattr__(self, "ratio", float(ratio))
        object.__setattr__(self, "min_retries", min_retries)
        object.__setattr__(self, "window_s", float(window_s))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"RetryBudget is immutable; build a new one instead of setting {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RetryBudget):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> Any:
        return (RetryBudget, self._values())

    def _values(self) -> tuple[float, int, float]:
        return (self.ratio, self.min_retries, self.window_s)

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self.ratio!r}, min_retries={self.min_retries!r}, "
            f"window_s={self.window_s!r})"
        )


def _check_number(value: Any, name: str, hint: str, *, minimum: float = 0.0) -> None:
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if not number or not _finite(value) or value < minimum:
        raise (InvalidArgumentError if number else InvalidArgumentTypeError)(
            f"RetryBudget {name} must be a finite number >= {minimum:g}, got {value!r}; {hint}.",
            code="INVALID_OPTIONS",
        )


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float, such as 10**400
        return False


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class RetryLedger:
    """Calls and retries in a sliding window, shared by a client and its ``with_options`` copies.

    The caller passes the time (sans-IO); a lock makes it safe across threads, and no method
    awaits, so it is safe across tasks too.
    """

    __slots__ = ("__weakref__", "_calls", "_lock", "_retries", "_tick_s", "_ticks", "budget")

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget
        self._tick_s = budget.window_s / _SLOTS
        self._ticks = [-1] * _SLOTS
        self._calls = [0] * _SLOTS
        self._retries = [0] * _SLOTS
        self._lock = threading.Lock()
        _LEDGERS.add(self)

    def __reduce__(self) -> Any:
        # A copy in another process starts with a fresh window: the counts describe this one.
        return (RetryLedger, (self.budget,))

    def _slot(self, tick: int) -> int:
        slot = tick % _SLOTS
        if self._ticks[slot] != tick:
            self._ticks[slot] = tick
            self._calls[slot] = self._retries[slot] = 0
        return slot

    def record_call(self, now: float) -> None:
        """Count a call (its first attempt)."""
        tick = int(now // self._tick_s)
        with self._lock:
            self._calls[self._slot(tick)] += 1

    def try_retry(self, now: float) -> bool:
        """Spend one retry if the budget has one left; False means do not retry."""
        tick = int(now // self._tick_s)
        with self._lock:
            slot = self._slot(tick)
            calls, retries = self._totals(tick)
            if retries >= self.budget.min_retries + self.budget.ratio * calls:
                return False
            self._retries[slot] += 1
            return True

    def totals(self, now: float) -> tuple[int, int]:
        """(calls, retries) in the window that ends now."""
        with self._lock:
            return self._totals(int(now // self._tick_s))

    def refusal(self, now: float) -> str:
        """Why a retry was refused, for the error message."""
        calls, retries = self.totals(now)
        budget = self.budget
        return (
            f"not retried: the client's retry budget is spent ({_count(retries, 'retry', 'retries')}"
            f" for {_count(calls, 'call', 'calls')} in the last {budget.window_s:g}s, of "
            f"{budget.min_retries} + "
            f"{budget.ratio:g} per call allowed); the server is failing many calls, and more "
            "retries would only add to its load. Retries resume as the failures age out of the "
            "window; pass retry_budget=RetryBudget(...) to the client to change the budget, or "
            "retry_budget=None to turn it off"
        )

    def _totals(self, tick: int) -> tuple[int, int]:
        calls = retries = 0
        for slot in range(_SLOTS):
            if tick - self._ticks[slot] < _SLOTS:
                calls += self._calls[slot]
                retries += self._retries[slot]
        return calls, retries


# A fork can happen while another thread holds a ledger's lock; the child would wait forever.
_LEDGERS: weakref.WeakSet[RetryLedger] = weakref.WeakSet()


def _new_locks_in_child() -> None:
    for ledger in list(_LEDGERS):
        ledger._lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_locks_in_child)
