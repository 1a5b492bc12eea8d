"""Properties of the engine's ordering and splitting, whatever the server does.

A scripted server answers each embeddings request as Hypothesis decides: a size limit that
forces splitting, items it rejects, transient failures (429, 503, a dropped connection), data
entries in shuffled order. Whatever happens, the job gives every item exactly once, in input
order (or each index once, as completed), and each item's outcome is the one its input earned.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi import AsyncBabyAPI, BabyAPIError
from babyapi.batch import BatchItem
from scripted_server import Recorded, Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

GLITCHES = ("none", "429", "503", "drop", "shuffle")


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


class Script:
    """How the server treats each request: a size limit, rejected texts, a cycle of glitches."""

    def __init__(self, limit: int, rejected: set[str], glitches: list[str], seed: int) -> None:
        self.limit = limit
        self.rejected = rejected
        self._glitches = itertools.cycle(glitches)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: Recorded) -> Reply:
        texts: list[str] = request.json()["input"]
        with self._lock:
            glitch = next(self._glitches)
            order = list(range(len(texts)))
            self._random.shuffle(order)
        if glitch == "429":
            return Reply.api_error(429, "slow down", headers={"retry-after": "0"})
        if glitch == "503":
            return Reply.api_error(503, "warming up", headers={"retry-after": "0"})
        if glitch == "drop":
            return Reply.json({}, drop="before_headers")
        if len(texts) > self.limit:
            return Reply.api_error(413, f"at most {self.limit} inputs per request")
        bad = [text for text in texts if text in self.rejected]
        if bad:
            return Reply.api_error(400, f"input {bad[0]!r} is longer than the context window")
        if glitch != "shuffle":
            order = sorted(order)
        data = [{"index": i, "embedding": [float(texts[i][1:]), 1.0]} for i in order]
        return Reply.json({"object": "list", "data": data, "model": "m"})


def _run(url: str, inputs: list[Any], ordered: bool, **options: Any) -> tuple[list[BatchItem], Any]:
    async def main() -> tuple[list[BatchItem], Any]:
        got: list[BatchItem] = []
        async with AsyncBabyAPI(
            api_key="k", base_url=url, retry_base_delay_s=0.001, max_retries=3
        ) as client:
            job = client.batch.embed(inputs, model="m", **options)
            try:
                async for item in job if ordered else job.as_completed():
                    got.append(item)
            except BabyAPIError as error:
                return got, error
        return got, None

    return asyncio.run(main())


@pytest.mark.timeout(600)  # 30 jobs: generous on a loaded 2-core machine
@settings(max_examples=30)
@given(
    count=st.integers(0, 40),
    batch_size=st.integers(1, 9),
    concurrency=st.integers(1, 4),
    limit=st.integers(1, 9),
    rejected=st.sets(st.integers(0, 39), max_size=6),
    invalid=st.sets(st.integers(0, 39), max_size=3),
    glitches=st.lists(st.sampled_from(GLITCHES), min_size=1, max_size=8).map(
        lambda drawn: [*drawn, "none", "none"]
    ),
    ordered=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_every_item_is_answered_once_in_order_whatever_the_server_does(
    server: ScriptedServer,
    count: int,
    batch_size: int,
    concurrency: int,
    limit: int,
    rejected: set[int],
    invalid: set[int],
    glitches: list[str],
    ordered: bool,
    seed: int,
) -> None:
    inputs: list[Any] = [None if i in invalid else f"t{i}" for i in range(count)]
    server.set_handler(Script(limit, {f"t{i}" for i in rejected}, glitches, seed))
    items, error = _run(
        server.base_url, inputs, ordered, batch_size=batch_size, concurrency=concurrency
    )
    indexes = [item.index for item in items]
    assert len(set(indexes)) == len(indexes)  # never twice
    if ordered:
        assert indexes == list(range(len(items)))  # input order, no gaps
    if error is not None:
        # Only a job the server kept failing may stop early; what came before stays right.
        assert error.code == "BATCH_ABORTED", error
    else:
        assert sorted(indexes) == list(range(count))
    for item in items:
        if item.index in invalid:
            assert item.error is not None and item.error.code == "INVALID_ITEM"
        elif item.ok:
            assert item.index not in rejected
            assert item.result == [float(item.index), 1.0]
        elif item.error is not None and item.error.status == 400:
            # Its own rejection, never another item's.
            assert item.index in rejected and f"'t{item.index}'" in item.error.message
        else:
            # A transient failure the retries could not get past.
            assert item.error is not None and item.error.status in (429, 503, None), item
