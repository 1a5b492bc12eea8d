"""Adaptive concurrency: additive increase, multiplicative decrease (AIMD), as TCP does."""

from __future__ import annotations

import math

import anyio

__all__ = ["AdaptiveLimit"]


class AdaptiveLimit:
    """At most ``limit`` requests in flight; halved when the server pushes back, regrown by one
    per ``limit`` successes up to the job's ``concurrency``."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.lowest = maximum
        self._limit = float(maximum)
        self._tokens = anyio.CapacityLimiter(maximum)
        self._cut_at = -1  # the request count when the limit was last cut
        self.started = 0
        self.pause_until = 0.0

    @property
    def current(self) -> int:
        return int(self._limit)

    async def acquire(self) -> int:
        """Wait for a free slot; returns the request's sequence number, which holds the slot."""
        # Slots are taken by the dispatching task and given back by the request's own task.
        self.started += 1
        sequence = self.started
        try:
            # anyio's acquire yields to the loop twice even when a slot is free: a request's worth
            # of loop turns on a short chat job.
            self._tokens.acquire_on_behalf_of_nowait(sequence)
        except anyio.WouldBlock:
            await self._tokens.acquire_on_behalf_of(sequence)
        return sequence

    def release(self, sequence: int) -> None:
        self._tokens.release_on_behalf_of(sequence)

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
        self._limit = limit
        tokens = max(1, math.floor(limit))
        if tokens != self._tokens.total_tokens:
            self._tokens.total_tokens = tokens
