"""Ray Data: the callable classes on a local Ray cluster started by the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from babyapi import BabyAPI
from babyapi.server import LocalServer

from .conftest import CHAT_MODEL, EMBED_MODEL, RERANK_MODEL

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def _run(rows: list[dict[str, Any]], mapper: type, **kwargs: Any) -> list[dict[str, Any]]:
    dataset = ray.data.from_items(rows)
    mapped = dataset.map_batches(
        mapper,
        fn_constructor_kwargs=kwargs,
        compute=ray.data.ActorPoolStrategy(size=1),
        batch_size=16,
    )
    return list(mapped.take_all())


def test_embed_rerank_and_chat_on_ray(ray_cluster: None, local_server: LocalServer) -> None:
    from babyapi.integrations.ray import Chat, Embed, Rerank

    client = BabyAPI(api_key="k", base_url=local_server.base_url)  # travels to the actors pickled
    rows = [{"text": f"document {i}"} for i in range(40)] + [{"text": None}]
    embedded = _run(rows, Embed, client=client, model=EMBED_MODEL)
    assert len(embedded) == 41
    good = [row for row in embedded if row["text"] is not None]
    expected = client.embeddings.create(model=EMBED_MODEL, input="document 3")["data"][0]
    vector = next(row for row in good if row["text"] == "document 3")["embedding"]
    assert list(vector) == pytest.approx(expected["embedding"], rel=1e-6)
    assert all(row["error"] is None for row in good)
    bad = next(row for row in embedded if row["text"] is None)
    assert "INVALID_ITEM" in bad["error"] and bad["embedding"] is None

    groups = [{"query": "cats", "documents": ["a cat sat", "stocks fell"]}] * 3
    ranked = _run(groups, Rerank, client=client, model=RERANK_MODEL)
    assert all(len(row["results"]) == 2 and row["error"] is None for row in ranked)

    prompts = [{"prompt": "hello"}, {"prompt": "how are you"}]
    answered = _run(prompts, Chat, client=client, model=CHAT_MODEL, max_tokens=4)
    assert all(isinstance(row["answer"], str) and row["answer"] for row in answered)
    client.close()


def _run_at_size(rows: list[dict[str, Any]], mapper: type, **kwargs: Any) -> list[dict[str, Any]]:
    """The docs' shape: many Ray batches of 64 over two actors."""
    mapped = ray.data.from_items(rows).map_batches(
        mapper,
        fn_constructor_kwargs=kwargs,
        compute=ray.data.ActorPoolStrategy(size=2),
        batch_size=64,
    )
    return list(mapped.take_all())


@pytest.mark.parametrize(
    ("mapper", "count", "good", "bad", "output"),
    [
        ("Embed", 2_000, lambda i: {"text": f"document {i}"}, {"text": None}, "embedding"),
        (
            "Rerank",
            640,
            lambda i: {"query": f"q{i}", "documents": ["a cat", "stocks fell"]},
            {"query": "q", "documents": None},
            "results",
        ),
        ("Chat", 640, lambda i: {"prompt": f"hello {i}"}, {"prompt": None}, "answer"),
    ],
)
def test_one_failed_row_among_many_batches_keeps_its_place(
    ray_cluster: None,
    local_server: LocalServer,
    mapper: str,
    count: int,
    good: Any,
    bad: dict[str, Any],
    output: str,
) -> None:
    from babyapi.integrations import ray as integration

    models = {"Embed": EMBED_MODEL, "Rerank": RERANK_MODEL, "Chat": CHAT_MODEL}
    options: dict[str, Any] = {"max_tokens": 2} if mapper == "Chat" else {}
    rows = [{"n": i, **good(i)} for i in range(count)]
    rows[count // 2 + 7] = {"n": count // 2 + 7, **bad}
    client = BabyAPI(api_key="k", base_url=local_server.base_url)
    done = _run_at_size(
        rows, getattr(integration, mapper), client=client, model=models[mapper], **options
    )
    client.close()
    assert sorted(row["n"] for row in done) == list(range(count))
    failed = [row for row in done if row["error"] is not None]
    assert [row["n"] for row in failed] == [count // 2 + 7]
    assert "INVALID_ITEM" in failed[0]["error"] and failed[0][output] is None
    assert all(
        row[output] is not None and len(row[output]) > 0 for row in done if row["error"] is None
    )
