"""1,000 async tasks cancelled mid-call and mid-stream, then 1,000 calls that must all succeed."""

from __future__ import annotations

import asyncio
import gc
from typing import Any, Callable, Dict, List

from babyapi import AsyncBabyAPI
from drills.measure import open_fds  # pyright: ignore[reportImplicitRelativeImport]
from drills.test_streams_released import pool_connections  # pyright: ignore[reportImplicitRelativeImport]

CANCELLED = 1_000
BATCH = 100  # the default pool's size: every task of a batch holds a connection when cancelled
CALLS = 1_000
CONCURRENCY = 50
DRILL = f"{CANCELLED:,} async tasks cancelled, then {CALLS:,} calls"
HANG = {"x-babyapi-fault": "hang=30"}
SLOW_STREAM = {"x-babyapi-fault": "chunk-delay=0.2"}


async def _hanging_call(client: AsyncBabyAPI, started: asyncio.Event) -> None:
    started.set()
    await client.completions.create(
        model="mistral", prompt="wait", max_tokens=3, request_options={"headers": HANG}
    )


async def _slow_stream(client: AsyncBabyAPI, reading: asyncio.Event) -> None:
    # ignore_eos: the answer runs to max_tokens (10 s at this pace), so it is still going.
    async for _ in client.completions.stream(
        model="mistral",
        prompt="count",
        max_tokens=50,
        ignore_eos=True,
        request_options={"headers": SLOW_STREAM},
    ):
        reading.set()  # mid-stream: at least one event arrived, more are coming


async def _cancel_batch(client: AsyncBabyAPI) -> Dict[str, int]:
    flags = [asyncio.Event() for _ in range(BATCH)]
    tasks = [
        asyncio.ensure_future(
            _hanging_call(client, flags[i]) if i % 2 == 0 else _slow_stream(client, flags[i])
        )
        for i in range(BATCH)
    ]
    await asyncio.wait_for(asyncio.gather(*(flag.wait() for flag in flags)), 30)
    await asyncio.sleep(0.05)  # the calls are now waiting on the server, the streams mid-body
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    cancelled = sum(isinstance(o, asyncio.CancelledError) for o in outcomes)
    others = [repr(o) for o in outcomes if not isinstance(o, asyncio.CancelledError)]
    return {"cancelled": cancelled, "other": len(others), "others": others[:3]}


def test_cancelled_tasks_leave_the_client_healthy(
    make_client: Callable[..., Any], figures: Any
) -> None:
    client: AsyncBabyAPI = make_client("async", max_retries=0)
    results: Dict[str, Any] = {}

    async def main() -> None:
        await client.models.list()
        fds_before = open_fds()
        totals: Dict[str, Any] = {"cancelled": 0, "other": 0, "others": []}
        for _ in range(CANCELLED // BATCH):
            for key, value in (await _cancel_batch(client)).items():
                totals[key] += value
        semaphore = asyncio.Semaphore(CONCURRENCY)
        failures: List[str] = []

        async def call(i: int) -> None:
            async with semaphore:
                prompt = f"after the storm {i}"
                try:
                    answer = await client.completions.create(
                        model="mistral", prompt=prompt, max_tokens=2, echo=True
                    )
                except Exception as exc:
                    failures.append(repr(exc))
                    return
                if not answer["choices"][0]["text"].startswith(prompt):
                    failures.append(f"{prompt!r} crossed")

        await asyncio.gather(*(call(i) for i in range(CALLS)))
        gc.collect()
        await asyncio.sleep(0)
        results.update(
            totals,
            failures=failures,
            fds=(fds_before, open_fds()),
            pool=pool_connections(client),
        )
        await client.aclose()

    asyncio.run(main())
    figures.add(
        DRILL, "tasks cancelled (half mid-call, half mid-stream)", f"{results['cancelled']:,}"
    )
    figures.add(
        DRILL, "calls after, succeeded", f"{CALLS - len(results['failures']):,} of {CALLS:,}"
    )
    figures.add(DRILL, "open fds", "{} before, {} after".format(*results["fds"]))
    figures.add(DRILL, "pool connections after", results["pool"])
    assert (results["cancelled"], results["other"]) == (CANCELLED, 0), results["others"]
    assert results["failures"] == [], results["failures"][:3]
    assert results["pool"] <= CONCURRENCY
    fds_before, fds_after = results["fds"]
    assert fds_after <= fds_before + CONCURRENCY
