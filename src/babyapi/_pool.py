"""The connection pool behind a client: built on first use, rebuilt after a fork or in a new
event loop, and closed when the program drops it unclosed (or its event loop ends).

The shells ask ``Pool.get()`` for the HTTP client to send with; everything about when that
client is built, whose it is and who closes it lives here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    Callable,
    Generic,
    Optional,
    Protocol,
    TypeVar,
)

from babyapi._errors import BabyAPIError
from babyapi._pool_guard import inside_pool

__all__ = [
    "CloseWhenDropped",
    "Pool",
    "close_with_loop",
    "closed_error",
    "running_loop",
]

HttpT = TypeVar("HttpT")


if TYPE_CHECKING:  # shapes for type checkers only: classes cost at `import babyapi`

    class _Closes(Protocol):
        def close(self) -> None: ...

    class _AsyncCloses(Protocol):
        async def aclose(self) -> None: ...

    class Release(Protocol):
        """What closes a pool the program dropped without closing it."""

        def detach(self) -> None:
            """Disarm it: the caller closes the httpx client itself."""

        def hand_over(self) -> None:
            """Let go of a client whose event loop is gone or elsewhere; that loop closes it."""


class Pool(Generic[HttpT]):
    """The httpx client behind a BabyAPI, shared with its ``with_options`` copies.

    Ours is built on first use: loading the TLS certificate bundle costs tens of
    milliseconds, which a client that is configured but never used should not pay.
    A forked child builds its own (the parent's connections stay the parent's), and so
    does the async client in each new event loop.
    """

    def __init__(
        self,
        factory: Callable[[], HttpT],
        given: Optional[HttpT],
        affinity: Callable[[], object],
        release: Callable[[Pool[HttpT], HttpT], Optional[Release]],
    ) -> None:
        self._factory: Callable[[], HttpT] = factory
        self._client: Optional[HttpT] = given
        self.external = given is not None
        self._affinity = affinity
        self._make_release: Callable[[Pool[HttpT], HttpT], Optional[Release]] = release
        self._release: Optional[Release] = None
        self._bound_to: object = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.closed = False
        _POOLS.add(self)

    def get(self) -> HttpT:
        client = self._client
        if (
            client is None
            or self.closed
            or self._bound_to is not self._affinity()
            or self._pid != os.getpid()
        ):
            with self._lock:
                client = self._rebind()
        return client

    def current(self) -> Optional[HttpT]:
        """The httpx client in use now, if any; never builds one."""
        return self._client

    def _rebind(self) -> HttpT:
        if self.closed:
            raise closed_error(
                "the client this one was copied from (with_options) was closed, and with it "
                "the connection pool they share; close the original only after its copies are done."
            )
        current = self._affinity()
        if self._pid != os.getpid():
            self._leave_to_parent()
        elif self._client is not None and self._bound_to not in (None, current):
            if self.external:
                raise BabyAPIError(
                    "this client's http_client was first used in another event loop, and "
                    "connections cannot move between loops: create the AsyncBabyAPI and its "
                    "httpx.AsyncClient inside the loop that uses them (e.g. inside asyncio.run).",
                    code="EVENT_LOOP_CHANGED",
                )
            # The old loop closed this pool as it shut down (or will, if it still runs).
            if self._release is not None:
                self._release.hand_over()
            self._client = self._release = None
        if self._client is None:
            self._client = self._factory()
            self._release = self._make_release(self, self._client)
        self._bound_to = current
        return self._client

    def _leave_to_parent(self) -> None:
        """In a forked child: never touch the parent's connections, open our own instead."""
        if self.external:
            raise BabyAPIError(
                "this client's http_client was created before the process forked, and a child "
                "must not share its parent's connections: create the client and its http_client "
                "in the child (e.g. in a worker initializer or a post-fork hook).",
                code="PROCESS_FORKED",
            )
        # Not even closed: closing can put bytes on the wire (TLS, HTTP/2) that the parent's
        # peer would read, and garbage collection would close them. Kept for the child's life.
        _INHERITED.append((self._client, self._release))
        self._client = self._release = None
        self._bound_to = None
        self._pid = os.getpid()

    def shut(self) -> Optional[HttpT]:
        """Mark the pool closed; our own client if it is ours to close here and now."""
        with self._lock:
            self.closed = True
            client = self._client
            if (
                self.external
                or client is None
                or self._pid != os.getpid()
                or self._bound_to not in (None, self._affinity())
            ):
                # Not ours, the parent's, or bound to another loop (which closes it itself).
                return None
            if self._release is not None:
                self._release.detach()
            return client


# A fork can happen while another thread holds a pool's lock (it is held while the httpx client
# is built and its certificates load); the child, where that thread does not exist, would wait
# forever. So the child gets fresh locks, as the retry ledger's do.
_POOLS: weakref.WeakSet[Pool[Any]] = weakref.WeakSet()


def _new_locks_in_child() -> None:
    for pool in list(_POOLS):
        pool._lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_locks_in_child)


# Pools a forked child inherited: referenced until the child exits, so never closed by it.
_INHERITED: list[tuple[object, object]] = []


def closed_error(why: str) -> BabyAPIError:
    """The error for a call on a closed client."""
    return BabyAPIError(f"{why} (create a new client to keep calling).", code="CLIENT_CLOSED")


def _close_if_still_ours(client: _Closes, pid: int) -> None:
    if os.getpid() == pid:
        with inside_pool:
            client.close()


class CloseWhenDropped:
    """Closes a sync pool nobody closed once the last client sharing it is gone (or at exit)."""

    def __init__(self, pool: Pool[Any], client: _Closes) -> None:
        self._finalizer = weakref.finalize(pool, _close_if_still_ours, client, os.getpid())

    def detach(self) -> None:
        self._finalizer.detach()

    hand_over = detach


class _CloseWithLoop:
    """Closes an async pool when its event loop shuts down, or when it is dropped unclosed.

    An async generator started in the loop is what the loop finalizes: ``asyncio.run`` (and
    ``loop.shutdown_asyncgens()``, and trio at the end of a run) closes it while the loop
    can still run the closing handshake, and so does garbage collection inside the loop.
    """

    def __init__(self, pool: Pool[Any], client: _AsyncCloses) -> None:
        self._box: list[_AsyncCloses] = [client]
        watch = _close_at_loop_end(self._box, os.getpid())
        # One step runs the generator to its yield: the loop now knows it and will close it.
        with contextlib.suppress(StopIteration):
            watch.asend(None).send(None)
        # The finalizer holds the generator, not the pool: a pool collected in a garbage cycle
        # must not drag the generator and the sockets into it, where they would be finalized
        # (and warn) before the loop could close them. Once the finalizer lets go, the loop does.
        self._finalizer = weakref.finalize(pool, _let_go, watch)

    def detach(self) -> None:
        self._box.clear()
        held = self._finalizer.detach()
        if held is not None:
            # Finish the generator now (its box is empty), so the loop has nothing left to do.
            with contextlib.suppress(StopIteration, RuntimeError):
                held[2][0].aclose().send(None)

    def hand_over(self) -> None:
        self._finalizer.detach()


def _let_go(watch: object) -> None:
    """Dropping the last reference to the generator lets its event loop finalize it."""


async def _close_at_loop_end(box: list[_AsyncCloses], pid: int) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if box and os.getpid() == pid:
            await box.pop().aclose()


def close_with_loop(pool: Pool[Any], client: _AsyncCloses) -> Optional[Release]:
    return _CloseWithLoop(pool, client) if running_loop() is not None else None


def running_loop() -> object:
    """The asyncio loop or trio run we are in, or None outside any."""
    # Importing asyncio costs more than importing httpx; if nobody imported it, no loop runs.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            pass
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            return trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
    return None
