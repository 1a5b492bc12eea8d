"""Adaptive concurrency: additive increase, multiplicative decrease (AIMD), as TCP does."""

from __future__ import annotations

from typing import Optional

import anyio

__all__ = ["AdaptiveLimit", "Window"]


class AdaptiveLimit:
    """At most ``current`` requests in flight; halved when the server pushes back, regrown by one
    per ``current`` successes up to the job's ``concurrency``.

    The engine's workers are numbered from 0; worker ``k`` may start a request while
    ``k < current``. Gating by number rather than handing out tokens costs nothing per request
    (anyio's CapacityLimiter: a wake-up of the dispatching task and a loop turn per request).
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.lowest = maximum
        self._limit = float(maximum)
        self._cut_at = -1  # the request count when the limit was last cut
        self.started = 0
        self.pause_until = 0.0
        self._grown: Optional[anyio.Event] = None

    @property
    def current(self) -> int:
        return int(self._limit)

    def admits(self, worker: int) -> bool:
        return worker < self._limit

    async def changed(self) -> None:
        """Wait until the limit grows, or ``wake`` is called."""
        if self._grown is None:
            self._grown = anyio.Event()
        await self._grown.wait()

    def wake(self) -> None:
        """Wake the workers waiting in ``changed`` (say, to find there is no work left)."""
        if self._grown is not None:
            self._grown.set()
            self._grown = None

    def start(self) -> int:
        """A request starts: its sequence number (see ``overloaded``)."""
        self.started += 1
        return self.started

    def succeeded(self) -> None:
        if self._limit < self.maximum:
            self._set(min(self.maximum, self._limit + 1.0 / self._limit))

    def overloaded(self, sequence: int, resume_at: float) -> None:
        """The server said "too many": cut once per round of requests, and pause everyone."""
        self.pause_until = max(self.pause_until, resume_at)
        # Requests sent before the last cut report the old overload; one cut per round is enough.
        if sequence > self._cut_at:
            self._cut_at = self.started
            self._set(max(1.0, self._limit / 2.0))
            self.lowest = min(self.lowest, self.current)

    def _set(self, limit: float) -> None:
        grew = int(limit) > int(self._limit)
        self._limit = limit
        if grew:
            self.wake()


class Window:
    """Items read but not yet taken by the consumer: at most ``size`` at once.

    A counter rather than anyio's Semaphore: the consumer frees a request's worth of items at
    once, and the reader admits one item at a time without a call into anyio.
    """

    def __init__(self, size: int) -> None:
        self._room = size
        self._freed: Optional[anyio.Event] = None

    @property
    def full(self) -> bool:
        return self._room <= 0

    def admit(self) -> None:
        self._room -= 1

    async def wait_for_room(self) -> None:
        while self._room <= 0:
            if self._freed is None:
                self._freed = anyio.Event()
            await self._freed.wait()

    def free(self, count: int) -> None:
        self._room += count
        if self._freed is not None:
            self._freed.set()
            self._freed = None
