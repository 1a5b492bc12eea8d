"""10,000 streams that end badly (5,000 sync, 5,000 async): descriptors and connections stay flat.

Each stream ends one of five ways, in turn: the server cuts it mid-body, the server ends it
with an error frame, the program abandons it unread, closes it after one event, or drops it
after one event into a reference cycle only the garbage collector frees.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any, Callable, Dict, List, Optional

from babyapi import APIConnectionError, AsyncBabyAPI, BabyAPI, BabyAPIError
from drills.measure import open_fds  # pyright: ignore[reportImplicitRelativeImport]

STREAMS = 5_000  # per client kind: 10,000 in all
WAYS = ("cut mid-body", "error frame", "abandoned unread", "closed early", "dropped to the GC")
WARMUP = 50
DRILL = f"{2 * STREAMS:,} streams ending badly"
CUT = {"x-babyapi-fault": "stream-cut-after=2"}
ERROR_FRAME = {"x-babyapi-fault": "stream-error-after=2"}


def pool_connections(client: Any) -> int:
    """Connections the client's httpx pool holds right now (httpcore's public list)."""
    http = client._pool.current()
    return 0 if http is None else len(http._transport._pool.connections)


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


def _record(figures: Any, kind: str, before: Dict[str, int], after: Dict[str, int]) -> None:
    drill = f"{DRILL} ({kind})"
    figures.add(drill, "streams", f"{STREAMS:,} ({STREAMS // len(WAYS):,} each way)")
    for name in ("open fds", "pool connections"):
        figures.add(drill, name, f"{before[name]} before, {after[name]} after")


def _snapshot(client: Any) -> Dict[str, int]:
    gc.collect()
    return {"open fds": open_fds(), "pool connections": pool_connections(client)}


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
    _record(figures, "sync", before, after)
    assert after["open fds"] <= before["open fds"] + 1
    assert after["pool connections"] <= max(before["pool connections"], 1)


def test_async_streams_release_their_connections(
    make_client: Callable[..., Any], figures: Any
) -> None:
    client: AsyncBabyAPI = make_client("async", max_retries=0)
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
        for i in range(STREAMS):
            await one_async(client, WAYS[i % len(WAYS)], cycles)
            if len(cycles) >= 100:
                cycles.clear()
                gc.collect()
        measured["after"] = await settle()
        await client.aclose()

    asyncio.run(main())
    before, after = measured["before"], measured["after"]
    assert before is not None and after is not None
    _record(figures, "async", before, after)
    assert after["open fds"] <= before["open fds"] + 1
    assert after["pool connections"] <= max(before["pool connections"], 1)
