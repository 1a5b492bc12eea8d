"""10,000 streams that end badly: file descriptors and pool connections stay flat.

5,000 on the sync client, 5,000 on the async one (half on each of its transports, httpx and
aiohttp).
Each stream ends one of five ways, in turn: the server cuts it mid-body, the server ends it
with an error frame, the program abandons it unread, closes it after one event, or drops it
after one event into a reference cycle only the garbage collector frees.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any, Callable, Dict, List, Optional

import httpx
import pytest

from babyapi import APIConnectionError, AsyncBabyAPI, BabyAPI, BabyAPIError
from drills.measure import open_fds  # pyright: ignore[reportImplicitRelativeImport]

STREAMS = 5_000  # per client kind: 10,000 in all
WAYS = ("cut mid-body", "error frame", "abandoned unread", "closed early", "dropped to the GC")
WARMUP = 50
IDLE_AT_MOST = 4
DRILL = f"{2 * STREAMS:,} streams ending badly"
CUT = {"x-babyapi-fault": "stream-cut-after=2"}
ERROR_FRAME = {"x-babyapi-fault": "stream-error-after=2"}


def pool_connections(client: Any) -> int:
    """Connections the client's pool holds right now, idle or busy, on any transport."""
    return sum(pool_state(client))


def pool_state(client: Any) -> tuple[int, int]:
    """(busy, idle) connections of the client's pool, on httpx, aiohttp or the standard library."""
    sender = client._pool.current()
    if sender is None:
        return 0, 0
    client_of = getattr(sender, "client", None)  # the httpx transports hold httpx's client
    if isinstance(client_of, (httpx.Client, httpx.AsyncClient)):
        connections = client_of._transport._pool.connections
        idle = sum(1 for c in connections if c.is_idle())
        return len(connections) - idle, idle
    pool = getattr(sender, "_pool", None)  # the standard-library transport's own pool
    if pool is not None:
        return len(pool.busy), pool.idle_count
    connector = sender.session.connector  # aiohttp: in use, plus idle ones kept per host
    return len(connector._acquired), sum(len(idle) for idle in connector._conns.values())


def _options(way: str) -> Dict[str, Any]:
    headers = CUT if way == WAYS[0] else ERROR_FRAME if way == WAYS[1] else {}
    return {"headers": headers}


def _open(client: Any, way: str) -> Any:
    return client.completions.stream(
        model="mistral", prompt="count", max_tokens=6, request_options=_options(way)
    )


def one_sync(client: BabyAPI, way: str, cycles: List[Any]) -> None:
    if way in WAYS[:2]:
        try:
            for _ in _open(client, way):
                pass
        except (APIConnectionError, BabyAPIError):
            return
        raise AssertionError(f"{way}: the stream ended without an error")
    stream = _open(client, way)
    if way == "abandoned unread":
        return
    next(stream)
    if way == "closed early":
        stream.close()
    else:
        cycle: List[Any] = [stream]
        cycle.append(cycle)  # only the cycle collector can free it
        cycles.append(None)


async def one_async(client: AsyncBabyAPI, way: str, cycles: List[Any]) -> None:
    if way in WAYS[:2]:
        try:
            async for _ in _open(client, way):
                pass
        except (APIConnectionError, BabyAPIError):
            return
        raise AssertionError(f"{way}: the stream ended without an error")
    stream = await _open(client, way)
    if way == "abandoned unread":
        return
    await stream.__anext__()
    if way == "closed early":
        await stream.aclose()
    else:
        cycle: List[Any] = [stream]
        cycle.append(cycle)
        cycles.append(None)


def _record(
    figures: Any, kind: str, streams: int, before: Dict[str, int], after: Dict[str, int]
) -> None:
    drill = f"{DRILL} ({kind})"
    figures.add(drill, "streams", f"{streams:,} ({streams // len(WAYS):,} each way)")
    for name in ("open fds", "pool connections in use", "idle pool connections"):
        figures.add(drill, name, f"{before[name]} before, {after[name]} after")


def _snapshot(client: Any) -> Dict[str, int]:
    gc.collect()
    busy, idle = pool_state(client)
    return {"open fds": open_fds(), "pool connections in use": busy, "idle pool connections": idle}


@pytest.mark.timeout(1800)
def test_sync_streams_release_their_connections(
    make_client: Callable[..., Any], figures: Any
) -> None:
    client: BabyAPI = make_client(max_retries=0)
    cycles: List[Any] = []
    for i in range(WARMUP):
        one_sync(client, WAYS[i % len(WAYS)], cycles)
    before = _snapshot(client)
    for i in range(STREAMS):
        one_sync(client, WAYS[i % len(WAYS)], cycles)
        if len(cycles) >= 100:
            cycles.clear()
            gc.collect()
    after = _snapshot(client)
    _record(figures, "sync", STREAMS, before, after)
    assert after["pool connections in use"] == 0
    # Idle keep-alive connections are reused, a few at most: nothing grows with the streams.
    assert after["idle pool connections"] <= IDLE_AT_MOST
    assert after["open fds"] <= before["open fds"] + IDLE_AT_MOST


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_async_streams_release_their_connections(
    make_client: Callable[..., Any], figures: Any, transport: str
) -> None:
    if transport == "aiohttp":
        pytest.importorskip("aiohttp")
    client: AsyncBabyAPI = make_client("async", max_retries=0, transport=transport)
    streams = STREAMS // 2
    cycles: List[Any] = []
    measured: Dict[str, Optional[Dict[str, int]]] = {"before": None, "after": None}

    async def settle() -> Dict[str, int]:
        gc.collect()
        for _ in range(10):  # the loop closes dropped streams in tasks of its own
            await asyncio.sleep(0)
        return _snapshot(client)

    async def main() -> None:
        for i in range(WARMUP):
            await one_async(client, WAYS[i % len(WAYS)], cycles)
        measured["before"] = await settle()
        for i in range(streams):
            await one_async(client, WAYS[i % len(WAYS)], cycles)
            if len(cycles) >= 100:
                cycles.clear()
                gc.collect()
        measured["after"] = await settle()
        await client.aclose()

    asyncio.run(main())
    before, after = measured["before"], measured["after"]
    assert before is not None and after is not None
    _record(figures, f"async, {transport}", streams, before, after)
    assert after["pool connections in use"] == 0
    # Idle keep-alive connections are reused, a few at most: nothing grows with the streams.
    assert after["idle pool connections"] <= IDLE_AT_MOST
    assert after["open fds"] <= before["open fds"] + IDLE_AT_MOST
