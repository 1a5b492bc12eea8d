"""client.batch.score: vLLM's /score over many (query, documents) groups."""

from __future__ import annotations

from typing import Any, Callable

from babyapi import BabyAPI, BabyAPIError
from babyapi.batch import BatchItem, BatchSummary
from babyapi.server import LocalServer

from .conftest import RERANK_MODEL

RunJob = Callable[..., "tuple[list[BatchItem], BatchSummary]"]


def test_scores_come_in_the_documents_order(run_job: RunJob, local_server: LocalServer) -> None:
    docs = ["stocks fell today", "a cat sat on the mat"]
    items, summary = run_job(
        "score",
        [("cats", docs), {"query": "stocks", "documents": docs}, ("x", "not a list")],
        model=RERANK_MODEL,
    )
    cats, stocks, bad = items
    assert cats.ok and cats.result[1] > cats.result[0]
    assert stocks.ok and stocks.result[0] > stocks.result[1]
    assert isinstance(bad.error, BabyAPIError) and bad.error.code == "INVALID_ITEM"
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        one = client.score.create(model=RERANK_MODEL, queries="cats", documents=docs)
    assert cats.result == [entry["score"] for entry in one["data"]]
    assert (summary.succeeded, summary.failed) == (2, 1)


def test_the_rerank_default_model_fills_score_jobs(local_server: LocalServer) -> None:
    with BabyAPI(
        api_key="k", base_url=local_server.base_url, default_rerank_model=RERANK_MODEL
    ) as client:
        results: list[Any] = client.batch.score([("q", ["d", "e"])]).results()
    assert results[0].ok and len(results[0].result) == 2
