"""Closing a sync response safely while this thread may be inside httpcore's connection pool.

httpcore guards its sync pool with a plain lock, which a thread cannot take twice. The cyclic
garbage collector runs finalizers at whatever allocation triggers it, including one made while
this thread holds that lock (choosing a connection, closing a response). A stream finalized
there that closed its response at once would wait on the lock forever. So every call the sync
client makes into its pool runs inside ``inside_pool``, and a close that arrives meanwhile
waits until the thread has left it; that is microseconds later, in the same thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

__all__ = ["inside_pool", "release_outside_pool"]

logger = logging.getLogger("babyapi")


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.depth = 0
        self.waiting: list[Callable[[], None]] = []


_STATE = _ThreadState()


class _InsidePool:
    """``with inside_pool:`` around a call into the pool; closes that waited run on leaving."""

    def __enter__(self) -> None:
        _STATE.depth += 1

    def __exit__(self, *exc_info: object) -> None:
        state = _STATE
        state.depth -= 1
        if state.waiting and not state.depth:
            _run_waiting(state)


inside_pool = _InsidePool()


def release_outside_pool(release: Callable[[], None]) -> None:
    """Run ``release`` now, or once this thread has left the pool if it is inside it."""
    state = _STATE
    if state.depth:
        state.waiting.append(release)
        return
    with inside_pool:
        release()


def _run_waiting(state: _ThreadState) -> None:
    while state.waiting:
        release = state.waiting.pop()
        try:
            with inside_pool:
                release()
        except Exception:
            # It belongs to a stream the program dropped; the call that happened to be
            # running when it was collected must not fail for it.
            logger.warning("babyapi: closing a dropped stream failed", exc_info=True)
