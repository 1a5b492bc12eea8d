"""Fixtures for the batch engine's tests: one local server per module, clients of both kinds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from babyapi import AsyncBabyAPI, BabyAPI
from babyapi.batch import BatchItem, BatchSummary
from babyapi.server import LocalServer

EMBED_MODEL = "qwen3-embedding"
RERANK_MODEL = "qwen3-reranker"
CHAT_MODEL = "mistral"


@pytest.fixture(scope="module")
def local_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture(params=["sync", "async"])
def run_job(
    request: pytest.FixtureRequest, local_server: LocalServer
) -> Callable[..., tuple[list[BatchItem], BatchSummary]]:
    """Run ``client.batch.<shape>(inputs, **kw)`` to the end on either client."""

    def run(
        shape: str, inputs: Any, *, order: str = "input", base_url: str = "", **kw: Any
    ) -> tuple[list[BatchItem], BatchSummary]:
        url = base_url or local_server.base_url
        if request.param == "sync":
            with BabyAPI(api_key="k", base_url=url) as client:
                job = getattr(client.batch, shape)(inputs, **kw)
                items = list(job) if order == "input" else list(job.as_completed())
                assert job.summary is not None
                return items, job.summary

        async def main() -> tuple[list[BatchItem], BatchSummary]:
            async with AsyncBabyAPI(api_key="k", base_url=url) as client:
                job = getattr(client.batch, shape)(inputs, **kw)
                iterator = job if order == "input" else job.as_completed()
                items = [item async for item in iterator]
                assert job.summary is not None
                return items, job.summary

        return asyncio.run(main())

    return run
