"""How the engine meets a pushing-back server: bounded concurrency, AIMD, splitting, retries."""

from __future__ import annotations

import threading
from typing import Any

from babyapi import BabyAPI
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


def test_a_chat_read_timeout_is_not_paid_twice(scripted_server: ScriptedServer) -> None:
    scripted_server.set_handler(
        lambda request: Reply.json({"object": "chat.completion", "choices": []}, delay_s=0.5)
    )
    with BabyAPI(api_key="k", base_url=scripted_server.base_url, timeout_s=0.1) as client:
        items = client.batch.chat(["hello"], model="m").results()
    assert items[0].error is not None and items[0].error.code == "TIMEOUT"
    assert len(scripted_server.requests) == 1
