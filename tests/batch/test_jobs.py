"""The batch engine against the local server: results, order, failures, options."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterator

import pytest

from babyapi import BabyAPI, BabyAPIError
from babyapi.batch import BatchItem, BatchProgress, BatchSummary
from babyapi.server import LocalServer
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

from .conftest import CHAT_MODEL, EMBED_MODEL, RERANK_MODEL

RunJob = Callable[..., "tuple[list[BatchItem], BatchSummary]"]
TEXTS = [f"document {i} about {'cats' if i % 2 else 'the stock market'}" for i in range(300)]


def test_embeddings_come_back_in_input_order_and_match_single_calls(
    run_job: RunJob, local_server: LocalServer
) -> None:
    items, summary = run_job("embed", TEXTS, model=EMBED_MODEL, batch_size=16, concurrency=4)
    assert [item.index for item in items] == list(range(len(TEXTS)))
    assert all(item.ok for item in items)
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        for index in (0, 17, 299):
            # The job asks for base64 (float32) on the wire; users get the same floats.
            single = client.embeddings.create(
                model=EMBED_MODEL, input=TEXTS[index], encoding_format="base64"
            )
            assert items[index].result == single["data"][0]["embedding"]
            floats = client.embeddings.create(model=EMBED_MODEL, input=TEXTS[index])
            assert items[index].result == pytest.approx(floats["data"][0]["embedding"], rel=1e-6)
    assert summary.total == summary.succeeded == len(TEXTS)
    assert summary.failed == summary.resumed == 0
    assert summary.requests == -(-len(TEXTS) // 16)


def test_as_completed_gives_every_index_exactly_once(run_job: RunJob) -> None:
    items, _ = run_job("embed", iter(TEXTS[:100]), model=EMBED_MODEL, batch_size=7, order="done")
    assert sorted(item.index for item in items) == list(range(100))


def test_chat_rerank_and_completions_jobs(run_job: RunJob) -> None:
    chats, _ = run_job(
        "chat",
        [
            "hello",
            [{"role": "user", "content": "hi"}],
            {"messages": [{"role": "user", "content": "x"}]},
        ],
        model=CHAT_MODEL,
        max_tokens=4,
    )
    assert all(item.ok and item.result["object"] == "chat.completion" for item in chats)
    ranked, _ = run_job(
        "rerank",
        [
            ("cats", ["a cat sat", "stocks fell"]),
            {"query": "stocks", "documents": ["a cat", "stocks"]},
        ],
        model=RERANK_MODEL,
    )
    assert [len(item.result) for item in ranked] == [2, 2]
    done, _ = run_job("completions", ["Once upon", {"prompt": "A"}], model=CHAT_MODEL, max_tokens=3)
    assert all(item.result["object"] == "text_completion" for item in done)


def test_a_bad_item_fails_alone_and_the_job_goes_on(run_job: RunJob) -> None:
    inputs: list[Any] = ["fine text", 42, "more text"]
    items, summary = run_job("embed", inputs, model=EMBED_MODEL)
    assert [item.ok for item in items] == [True, False, True]
    error = items[1].error
    assert isinstance(error, BabyAPIError) and error.code == "INVALID_ITEM"
    assert "strings" in error.message
    assert (summary.succeeded, summary.failed) == (2, 1)


def test_fail_fast_stops_at_the_first_failure_and_names_the_item(run_job: RunJob) -> None:
    with pytest.raises(BabyAPIError) as caught:
        run_job("embed", ["ok", None, "ok"], model=EMBED_MODEL, fail_fast=True)
    assert caught.value.code == "INVALID_ITEM"
    assert caught.value.message.startswith("item 1:")


def test_an_error_about_every_item_ends_the_job_at_once(
    run_job: RunJob, local_server: LocalServer
) -> None:
    with pytest.raises(BabyAPIError) as caught:
        run_job("embed", TEXTS, model="no-such-model", batch_size=10)
    assert caught.value.status == 404


def test_an_empty_input_is_an_empty_job(run_job: RunJob) -> None:
    items, summary = run_job("embed", [], model=EMBED_MODEL)
    assert items == [] and summary.total == 0


def test_a_generator_is_read_only_as_far_as_the_window_allows(local_server: LocalServer) -> None:
    pulled = 0

    def texts() -> Iterator[str]:
        nonlocal pulled
        for i in range(20_000):
            pulled += 1
            yield f"text {i}"

    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        job = client.batch.embed(texts(), model=EMBED_MODEL, batch_size=8, concurrency=2)
        ahead = 0
        for consumed, _item in enumerate(job, start=1):
            ahead = max(ahead, pulled - consumed)
            if consumed == 2_000:
                break
    # Memory is bounded by the window (a few requests' worth), not by the input's length.
    assert ahead <= 8 * (2 * 2 + 1) + 1024
    assert pulled < 4_000


def test_progress_callback_sees_the_job_advance(local_server: LocalServer) -> None:
    seen: list[BatchProgress] = []
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        summary = client.batch.embed(
            TEXTS[:50], model=EMBED_MODEL, batch_size=10, on_progress=seen.append, progress=False
        ).run()
    assert summary.succeeded == 50
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].done == 50 and seen[-1].total == 50 and seen[-1].failed == 0


def test_progress_bar_on_request_writes_to_stderr(
    local_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tqdm")
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        client.batch.embed(TEXTS[:20], model=EMBED_MODEL, progress=True).run()
    assert "20/20" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("inputs", "options", "fragment"),
    [
        ("one string", {}, "not one string"),
        (42, {}, "iterable"),
        (["a"], {"concurrency": 0}, "concurrency"),
        (["a"], {"batch_size": True}, "batch_size"),
        (["a"], {"max_retries": -1}, "max_retries"),
        (["a"], {"checkpoint": 3}, "checkpoint"),
        (["a"], {"progress": "yes"}, "progress"),
        (["a"], {"dimensions": {1, 2}}, "JSON"),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(
    inputs: Any, options: dict[str, Any], fragment: str
) -> None:
    client = BabyAPI(api_key="k", base_url="http://127.0.0.1:9")
    with pytest.raises(BabyAPIError) as caught:
        client.batch.embed(inputs, model=EMBED_MODEL, **options)
    assert caught.value.code == "INVALID_OPTIONS"
    assert fragment in caught.value.message


def test_a_job_runs_once(local_server: LocalServer) -> None:
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        job = client.batch.embed(["a"], model=EMBED_MODEL)
        job.run()
        with pytest.raises(BabyAPIError) as caught:
            job.run()
    assert caught.value.code == "JOB_ALREADY_STARTED"


def test_async_job_leaves_nothing_running_when_the_loop_breaks_early(
    local_server: LocalServer,
) -> None:
    from babyapi import AsyncBabyAPI

    async def main() -> int:
        async with AsyncBabyAPI(api_key="k", base_url=local_server.base_url) as client:
            job = client.batch.embed(TEXTS, model=EMBED_MODEL, batch_size=4)
            iterator = job.__aiter__()
            first = await iterator.__anext__()
            await iterator.aclose()  # type: ignore[attr-defined]
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return first.index + len(others)

    assert asyncio.run(main()) == 0


def test_the_clients_default_models_fill_each_job_shape(local_server: LocalServer) -> None:
    with BabyAPI(
        api_key="k",
        base_url=local_server.base_url,
        default_model=CHAT_MODEL,
        default_embedding_model=EMBED_MODEL,
        default_rerank_model=RERANK_MODEL,
    ) as client:
        assert client.batch.embed(["a"]).results()[0].ok
        assert client.batch.rerank([("q", ["d"])]).results()[0].ok
        answer = client.batch.chat(["hi"], max_tokens=2).results()[0]
    assert answer.result["model"] == CHAT_MODEL


@pytest.mark.parametrize(
    ("shape", "item", "fragment"),
    [
        ("rerank", "just a query", "(query, documents) pairs"),
        ("rerank", ("q", "not a list"), "documents must be a list of strings"),
        ("rerank", {"query": 3, "documents": ["d"]}, "query must be a string, got int"),
        ("chat", 42, "chat items are a prompt string"),
        ("chat", [{"role": "user", "content": "hi"}, "loose text"], "chat items are"),
        ("completions", {"text": "no prompt key"}, "completion items are"),
        ("completions", None, "got NoneType"),
    ],
)
def test_an_item_of_the_wrong_shape_fails_alone_in_every_kind(
    run_job: RunJob, shape: str, item: Any, fragment: str
) -> None:
    good = {"rerank": ("q", ["d1", "d2"]), "chat": "hello", "completions": "Once"}[shape]
    model = RERANK_MODEL if shape == "rerank" else CHAT_MODEL
    extra = {} if shape == "rerank" else {"max_tokens": 2}
    items, summary = run_job(shape, [good, item, good], model=model, **extra)
    assert [entry.ok for entry in items] == [True, False, True]
    error = items[1].error
    assert error is not None and error.code == "INVALID_ITEM" and error.status is None
    assert fragment in error.message
    assert (summary.succeeded, summary.failed, summary.requests) == (2, 1, 2)


@pytest.mark.parametrize(
    "answer",
    [
        {"data": [[0.1]]},
        {"data": [{"index": 0, "embedding": "not base64!"}]},
        {"data": [{"index": 0, "embedding": {"x": 1}}]},
        {"data": "nothing"},
        {"object": "list"},
    ],
)
def test_a_malformed_embeddings_answer_is_the_items_typed_error(
    scripted_server: ScriptedServer, answer: dict[str, Any]
) -> None:
    scripted_server.set_handler(lambda request: Reply.json(answer))
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        job = client.batch.embed(["a", "b"], model="m", batch_size=1)
        items = job.results()
    assert [item.index for item in items] == [0, 1]
    for item in items:
        assert item.error is not None and item.error.code == "INVALID_RESPONSE", item
    assert job.summary is not None and job.summary.failed == 2


def test_a_rerank_answer_without_results_is_the_items_typed_error(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.set_handler(lambda request: Reply.json({"results": {"0": 1}}))
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        items = client.batch.rerank([("q", ["d"])], model="m").results()
    assert items[0].error is not None and items[0].error.code == "INVALID_RESPONSE"


def test_an_async_job_runs_under_trio(local_server: LocalServer) -> None:
    trio = pytest.importorskip("trio")
    from babyapi import AsyncBabyAPI

    async def main() -> tuple[list[BatchItem], Any, Any]:
        async with AsyncBabyAPI(api_key="k", base_url=local_server.base_url) as client:
            job = client.batch.embed(TEXTS[:50], model=EMBED_MODEL, batch_size=8)
            items = [item async for item in job]
            # One item: a break then cancels no request in flight (httpx's own request stream
            # would warn under trio when a request is cancelled mid-send).
            stopped = client.batch.chat(["a"], model=CHAT_MODEL, max_tokens=2)
            async for _ in stopped:
                break
            return items, job.summary, stopped.summary

    items, summary, stopped = trio.run(main)
    assert [item.index for item in items] == list(range(50)) and all(item.ok for item in items)
    assert summary is not None and summary.succeeded == 50
    assert stopped is not None and stopped.succeeded >= 1


def _quiet(server: ScriptedServer) -> int:
    """The server's request count once it stops growing (bounded wait)."""
    import time

    count = -1
    for _ in range(100):
        if len(server.requests) == count:
            break
        count = len(server.requests)
        time.sleep(0.2)
    return count


def test_a_break_leaves_a_summary_and_stops_the_sending(scripted_server: ScriptedServer) -> None:
    from babyapi import AsyncBabyAPI

    def handler(request: Any) -> Reply:
        texts = request.json()["input"]
        data = [{"index": i, "embedding": [1.0]} for i in range(len(texts))]
        return Reply.json({"object": "list", "data": data, "model": "m"})

    scripted_server.set_handler(handler)

    async def main() -> tuple[Any, int]:
        async with AsyncBabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
            job = client.batch.embed(
                (f"text {i}" for i in range(5_000)), model="m", batch_size=4, concurrency=2
            )
            iterator = job.__aiter__()  # still referenced after the loop
            async for _ in iterator:
                break
            summary = job.summary
            sent = await asyncio.get_running_loop().run_in_executor(None, _quiet, scripted_server)
            await iterator.aclose()  # type: ignore[attr-defined]
            return summary, sent

    summary, sent = asyncio.run(main())
    assert summary is not None and summary.succeeded >= 1
    # A window of items (batch_size * (2 * concurrency + 1)), not the whole input or 1,000 more.
    assert sent <= 4 * (2 * 2 + 1) // 4 + 2 + 1


class _Interrupt(BaseException):
    """Not an Exception, as pytest's own outcome exceptions (a test timeout's) are not."""


def test_a_base_exception_inside_the_job_is_not_taken_for_its_end(
    local_server: LocalServer,
) -> None:
    from babyapi import AsyncBabyAPI

    def stop_at_ten(progress: BatchProgress) -> None:
        if progress.done >= 10:
            raise _Interrupt

    async def main() -> list[BatchItem]:
        got: list[BatchItem] = []
        async with AsyncBabyAPI(api_key="k", base_url=local_server.base_url) as client:
            job = client.batch.embed(
                TEXTS, model=EMBED_MODEL, batch_size=5, concurrency=1, on_progress=stop_at_ten
            )
            async for item in job:
                got.append(item)
        return got

    # Before: the job looked finished, with 290 of its 300 items missing.
    with pytest.raises(BaseException) as caught:
        asyncio.run(main())
    assert caught.match("") and "_Interrupt" in repr(caught.value)
