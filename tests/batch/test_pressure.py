"""How the engine meets a pushing-back server: bounded concurrency, AIMD, splitting, retries."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from array import array
from pathlib import Path
from typing import Any

import pytest

from babyapi import AsyncBabyAPI, BabyAPI, BadRequestError, RetryBudget
from scripted_server import Recorded, Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]


def _embeddings(request: Recorded) -> Reply:
    texts = request.json()["input"]
    data = [{"index": i, "embedding": [float(len(t)), float(i)]} for i, t in enumerate(texts)]
    return Reply.json({"object": "list", "data": data, "model": "m"})


class InFlight:
    """Counts requests the server is holding at once."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


def test_no_more_than_concurrency_requests_are_in_flight(scripted_server: ScriptedServer) -> None:
    flight = InFlight()
    gate = threading.Event()

    def handler(request: Recorded) -> Reply:
        with flight:
            gate.wait(0.05)  # hold each request briefly so concurrent ones overlap
            return _embeddings(request)

    scripted_server.set_handler(handler)
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        items = client.batch.embed(
            [f"t{i}" for i in range(60)], model="m", batch_size=2, concurrency=3
        ).results()
    assert all(item.ok for item in items)
    assert flight.peak == 3


def test_rate_limits_halve_concurrency_and_every_item_still_arrives(
    scripted_server: ScriptedServer,
) -> None:
    flight = InFlight()
    calls = {"n": 0}
    lock = threading.Lock()

    def handler(request: Recorded) -> Reply:
        with lock:
            calls["n"] += 1
            limited = 10 <= calls["n"] < 20
        if limited:
            return Reply.api_error(429, "slow down", headers={"retry-after": "0"})
        with flight:
            threading.Event().wait(0.01)
            return _embeddings(request)

    scripted_server.set_handler(handler)
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        job = client.batch.embed(
            [f"t{i}" for i in range(200)], model="m", batch_size=2, concurrency=8, max_retries=20
        )
        items = job.results()
    assert job.summary is not None
    assert [item.index for item in items] == list(range(200))
    assert all(item.ok for item in items)
    assert job.summary.retries >= 10
    assert job.summary.lowest_concurrency <= 4  # cut at least once, by half


@pytest.mark.timeout(120)  # a job that never ends is the failure this test looks for
def test_a_job_ends_when_the_limit_was_cut_and_never_grew_back(
    scripted_server: ScriptedServer,
) -> None:
    calls = {"n": 0}
    lock = threading.Lock()

    def handler(request: Recorded) -> Reply:
        with lock:
            calls["n"] += 1
            first = calls["n"] == 1
        if first:
            return Reply.api_error(429, "slow down", headers={"retry-after": "0"})
        return _embeddings(request)

    scripted_server.set_handler(handler)
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        # Halved to 4, then 11 successes regrow it to about 6 of 8: the job must still end
        # once the inputs run out, whatever the limit keeps waiting.
        job = client.batch.embed(
            [f"t{i}" for i in range(12)], model="m", batch_size=1, concurrency=8
        )
        items = job.results()
    assert [item.index for item in items] == list(range(12)) and all(item.ok for item in items)
    assert job.summary is not None and job.summary.lowest_concurrency == 4


def test_a_batch_too_large_for_the_server_is_split(scripted_server: ScriptedServer) -> None:
    def handler(request: Recorded) -> Reply:
        if len(request.json()["input"]) > 3:
            return Reply.api_error(413, "too many inputs in one request (max 3)")
        return _embeddings(request)

    scripted_server.set_handler(handler)
    texts = [f"text-{i}" for i in range(20)]
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        items = client.batch.embed(texts, model="m", batch_size=16).results()
    assert [item.result[0] for item in items] == [float(len(t)) for t in texts]
    assert max(len(r.json()["input"]) for r in scripted_server.requests) == 16


def test_one_item_the_server_rejects_is_found_by_splitting(scripted_server: ScriptedServer) -> None:
    def handler(request: Recorded) -> Reply:
        if "poison" in request.json()["input"]:
            return Reply.api_error(400, "input 'poison' is longer than the context window")
        return _embeddings(request)

    scripted_server.set_handler(handler)
    texts: list[Any] = [f"text-{i}" for i in range(10)]
    texts[6] = "poison"
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        items = client.batch.embed(texts, model="m", batch_size=10).results()
    assert [i for i, item in enumerate(items) if not item.ok] == [6]
    error = items[6].error
    assert error is not None and error.status == 400 and "context window" in error.message


def test_server_errors_are_retried_by_the_engine(scripted_server: ScriptedServer) -> None:
    scripted_server.script(
        Reply.api_error(503, "warming up"),
        Reply.api_error(500, "oops"),
        Reply.json({"object": "list", "data": [{"index": 0, "embedding": [1.0]}]}),
    )
    with BabyAPI(
        api_key="k", base_url=scripted_server.base_url, retry_base_delay_s=0.001
    ) as client:
        job = client.batch.embed(["a"], model="m")
        items = job.results()
    assert items[0].result == [1.0]
    assert job.summary is not None and job.summary.retries == 2
    assert len(scripted_server.requests) == 3


# Three retries a minute, whatever the number of calls: the budget, not max_retries, is the bound.
_THREE_RETRIES = RetryBudget(ratio=0.0, min_retries=3, window_s=60.0)


def test_a_jobs_retries_spend_the_clients_retry_budget(scripted_server: ScriptedServer) -> None:
    scripted_server.set_handler(lambda request: Reply.api_error(500, "down"))
    with BabyAPI(
        api_key="k",
        base_url=scripted_server.base_url,
        retry_base_delay_s=0.001,
        retry_budget=_THREE_RETRIES,
    ) as client:
        job = client.batch.chat(
            [f"q{i}" for i in range(4)], model="m", concurrency=1, max_retries=5
        )
        items = job.results()
        # The job spent the client's budget: the client's own call gets no retry either.
        with pytest.raises(Exception) as caught:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert all(item.error is not None and item.error.status == 500 for item in items)
    assert job.summary is not None and job.summary.retries == 3
    # Four first sends and the budget's three retries (without the budget: 4 x 6 = 24), then
    # the client's own call, sent once.
    assert len(scripted_server.requests) == 4 + 3 + 1
    assert getattr(caught.value, "code", None) == "RETRY_BUDGET_EXHAUSTED"


def test_an_async_jobs_retries_spend_the_clients_retry_budget(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.set_handler(lambda request: Reply.api_error(503, "busy"))

    async def run() -> list[Any]:
        async with AsyncBabyAPI(
            api_key="k",
            base_url=scripted_server.base_url,
            retry_base_delay_s=0.001,
            retry_budget=_THREE_RETRIES,
        ) as client:
            job = client.batch.embed(
                [f"t{i}" for i in range(4)], model="m", batch_size=1, concurrency=1
            )
            return [item async for item in job]

    items = asyncio.run(run())
    assert all(item.error is not None and item.error.status == 503 for item in items)
    assert len(scripted_server.requests) == 4 + 3


def test_a_chat_read_timeout_is_not_paid_twice(scripted_server: ScriptedServer) -> None:
    scripted_server.set_handler(
        lambda request: Reply.json({"object": "chat.completion", "choices": []}, delay_s=0.5)
    )
    with BabyAPI(api_key="k", base_url=scripted_server.base_url, timeout_s=0.1) as client:
        items = client.batch.chat(["hello"], model="m").results()
    assert items[0].error is not None and items[0].error.code == "TIMEOUT"
    assert len(scripted_server.requests) == 1


def _refusing_a_field(request: Recorded) -> Reply:
    body = request.json()
    if "dimensionz" in body:
        return Reply.api_error(400, "unknown field 'dimensionz'")
    if "messages" in body:
        return Reply.json(
            {"object": "chat.completion", "choices": [{"message": {"content": "ok"}}]}
        )
    return _embeddings(request)


def test_a_rejection_every_request_gets_ends_the_job_and_records_nothing(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    scripted_server.set_handler(_refusing_a_field)
    path = tmp_path / "v.jsonl"
    texts = [f"t{i}" for i in range(512)]
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        job = client.batch.embed(texts, model="m", checkpoint=path, dimensionz=8)
        with pytest.raises(BadRequestError) as caught:
            job.run()
        sent = len(scripted_server.requests)
        assert "unknown field 'dimensionz'" in caught.value.message
        assert "nothing was recorded" in caught.value.message
        assert sent < 100  # not 1,016: each batch split down to single items
        assert path.read_text() == ""
        # The rerun with the fix proceeds on the same checkpoint.
        summary = client.batch.embed(texts, model="m", checkpoint=path).run()
    assert (summary.succeeded, summary.failed, summary.resumed) == (512, 0, 0)


def test_a_rejected_chat_field_ends_the_job_after_the_requests_in_flight(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.set_handler(_refusing_a_field)
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        job = client.batch.chat(
            [f"q{i}" for i in range(300)], model="m", concurrency=4, dimensionz=1
        )
        with pytest.raises(BadRequestError):
            job.results()
    assert len(scripted_server.requests) <= 4 + 4


def test_items_rejected_alike_among_slow_successes_are_the_items_own(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    def handler(request: Recorded) -> Reply:
        content = request.json()["messages"][0]["content"]
        if content.startswith("long"):
            return Reply.api_error(400, "the prompt is longer than the context window")
        answer = {"object": "chat.completion", "choices": [{"message": {"content": content}}]}
        return Reply.json(answer, delay_s=0.3)

    scripted_server.set_handler(handler)
    prompts = ["long a", "long b", "long c", *[f"q{i}" for i in range(9)]]
    path = tmp_path / "answers.jsonl"
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        job = client.batch.chat(prompts, model="m", concurrency=8, checkpoint=path)
        items = job.results()
    assert [item.ok for item in items] == [False] * 3 + [True] * 9
    recorded = sorted(json.loads(line)["index"] for line in path.read_text().splitlines())
    assert recorded == list(range(12))


def test_embeddings_go_as_base64_and_arrive_as_floats(scripted_server: ScriptedServer) -> None:
    def handler(request: Recorded) -> Reply:
        body = request.json()
        vectors = [array("f", [0.5, float(i), -1.25]) for i in range(len(body["input"]))]
        data = [
            {"index": i, "embedding": base64.b64encode(v.tobytes()).decode()}
            if body.get("encoding_format") == "base64"
            else {"index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        return Reply.json({"object": "list", "data": data, "model": "m"})

    scripted_server.set_handler(handler)
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        items = client.batch.embed(["a", "b", "c"], model="m").results()
        plain = client.batch.embed(["a"], model="m", encoding_format="float").results()
    assert [item.result for item in items] == [
        [0.5, 0.0, -1.25],
        [0.5, 1.0, -1.25],
        [0.5, 2.0, -1.25],
    ]
    assert plain[0].result == [0.5, 0.0, -1.25]
    sent = [request.json().get("encoding_format") for request in scripted_server.requests]
    assert sent == ["base64", "float"]


def test_a_server_refusing_encoding_format_still_gets_the_job_done(
    scripted_server: ScriptedServer,
) -> None:
    def handler(request: Recorded) -> Reply:
        if "encoding_format" in request.json():
            return Reply.api_error(400, "Unrecognized request argument supplied: encoding_format")
        return _embeddings(request)

    scripted_server.set_handler(handler)
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        job = client.batch.embed(
            [f"t{i}" for i in range(40)], model="m", batch_size=8, concurrency=1
        )
        items = job.results()
    assert all(item.ok for item in items) and items[5].result == [2.0, 5.0]
    assert len(scripted_server.requests) == 40 // 8 + 1  # one refusal, then plain floats
