"""Telling a rejection of the whole job from rejections of single items.

A request field the server refuses (a typo, a value out of range) gets every request the same
4xx, whatever its items. Recorded item by item it would mark the whole input as failed for
good, and a rerun with the field fixed would skip it all. So until the first request of a run
succeeds, item rejections are kept out of the checkpoint; once two single items got the very
same answer, no new request goes out until those in flight have answered. If one of them
succeeds, the rejections were about their items and are recorded; if none does, every request
was refused alike and the job ends with the server's message, recording nothing.
"""

from __future__ import annotations

from typing import Any, Optional

import anyio

from babyapi._errors import APIStatusError, BabyAPIError

__all__ = ["JobWide", "is_rejection"]

Line = tuple[int, int, dict[str, Any]]  # (item index, input hash, checkpoint line)


def is_rejection(error: BabyAPIError) -> bool:
    """A 4xx that judged the request (not a key, model, rate or conflict answer)."""
    return (
        isinstance(error, APIStatusError) and error.status is not None and 400 <= error.status < 500
    )


class JobWide:
    """The evidence gathered so far in one run; the engine reports to it and asks it."""

    def __init__(self) -> None:
        self.answered = False  # a request of this run succeeded: no rejection is job-wide
        self.held: list[Line] = []
        self._signature: Optional[tuple[Optional[int], str]] = None
        self._alike = 0
        self._sending = 0
        self._doubt: Optional[anyio.Event] = None
        self.first: Optional[BabyAPIError] = None
        self._ended = False

    async def before_send(self) -> None:
        """Wait while in doubt: requests in flight must answer first."""
        while self._doubt is not None:
            await self._doubt.wait()
        self._sending += 1

    def after_send(self) -> None:
        self._sending -= 1

    def succeeded(self) -> list[Line]:
        """A request succeeded; the rejections held so far are the items' own (record them)."""
        self.answered = True
        return self._release()

    def rejected(self, error: BabyAPIError, lines: list[Line]) -> tuple[bool, list[Line]]:
        """A single item was rejected: (held back?, lines held earlier that are now final)."""
        if self.answered:
            return False, []
        signature = (error.status, error.message)
        earlier = self._release() if signature != self._signature else []
        self._signature = signature
        self.first = self.first or error
        self.held.extend(lines)
        self._alike += 1
        if self._alike >= 2 and self._doubt is None:
            self._doubt = anyio.Event()
        return True, earlier

    def verdict(self) -> Optional[BabyAPIError]:
        """Once in doubt and nothing is in flight: the job-wide error, or None (carry on)."""
        if self._doubt is None or self._sending > 0:
            return None
        error = self.first
        assert error is not None
        if not self._ended:
            self._ended = True
            error.message += (
                f" (the server gave this answer to {self._alike} items in different requests "
                "and accepted none, so the job stopped; nothing was recorded as failed: fix the "
                "request and run the job again)"
            )
            error.args = (error.message,)
        return error

    def remaining(self) -> list[Line]:
        """At the end of a run: held rejections that no evidence turned job-wide are final."""
        return self._release()

    def _release(self) -> list[Line]:
        held, self.held = self.held, []
        self._signature = None
        self._alike = 0
        if self._doubt is not None:
            self._doubt.set()
            self._doubt = None
        return held
