"""Streams over time: dropped unread, very long, bounded by a deadline."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import tracemalloc
from typing import Any

import httpx
import pytest

from babyapi import APITimeoutError, AsyncBabyAPI
from babyapi._call import Clocks
from babyapi.server import LocalServer
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "hi"}]


def chunk(text: str) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}
        ],
    }


def answer_text(answer: Any) -> str:
    return str(answer["choices"][0]["message"]["content"])


# ------------------------------------------------------------ dropped unread


def test_an_async_stream_opened_and_dropped_unread_gives_its_connection_back(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(
        Reply.sse([chunk("a"), chunk("b")]),
        Reply.json({"id": "x", "object": "chat.completion", "choices": []}),
    )

    async def main() -> Any:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(limits=limits) as own:
            client = AsyncBabyAPI(
                api_key=API_KEY, base_url=scripted_server.base_url, http_client=own
            )
            stream = await client.chat.completions.stream(model="m", messages=MESSAGES)
            assert stream.status == 200
            del stream  # never iterated, never closed
            # With the only connection still held, this would wait for the pool and time out.
            return await client.chat.completions.create(
                model="m", messages=MESSAGES, request_options={"timeout_s": 2.0}
            )

    assert asyncio.run(main())["id"] == "x"
    assert scripted_server.total_connections == 2  # the dropped stream's connection was closed


def test_an_async_stream_dropped_unread_in_our_own_pool_is_closed(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Reply.sse([chunk("a")], hang_after_chunks_s=5.0))

    async def main() -> None:
        async with AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
            stream = await client.chat.completions.stream(model="m", messages=MESSAGES)
            del stream
            for _ in range(5):  # the loop closes it in a task of its own
                await asyncio.sleep(0)
            assert await asyncio.to_thread(scripted_server.wait_for_open_connections, 0)

    asyncio.run(main())


# ------------------------------------------------ collected by the cycle GC


@pytest.mark.parametrize("transport", ["httpx", "stdlib"])
def test_sync_streams_in_garbage_cycles_close_without_hanging_the_next_call(
    local_server: LocalServer, transport: Any
) -> None:
    # The collector runs wherever an allocation trips it, including inside httpcore while
    # this thread holds the pool's lock; a stream closing its response there used to wait
    # on that lock forever. A low threshold makes that moment come within a few streams.
    from babyapi import BabyAPI

    streams = 300
    with BabyAPI(
        api_key=API_KEY, base_url=local_server.base_url, max_retries=0, transport=transport
    ) as client:
        thresholds = gc.get_threshold()
        gc.set_threshold(101, 1, 1)
        try:
            for _ in range(streams):
                stream = client.completions.stream(model="mistral", prompt="count", max_tokens=4)
                next(stream)
                cycle: list[Any] = [stream]
                cycle.append(cycle)  # only the cycle collector can free it
                del stream, cycle
        finally:
            gc.set_threshold(*thresholds)
        gc.collect()
        sender: Any = client._pool.current()
        if transport == "httpx":
            pool = sender.client._transport._pool
            assert [c for c in pool.connections if not c.is_idle()] == []
        else:
            assert sender._pool.busy == set()  # every stream gave its connection back
        assert client.completions.create(model="mistral", prompt="ok", max_tokens=2)["choices"]


# ------------------------------------------------------------------- memory


def test_a_long_stream_holds_memory_for_its_answer_not_its_events(
    scripted_server: ScriptedServer,
) -> None:
    events = 100_000
    frames = [b"data: " + json.dumps(chunk(f"t{i % 10}")).encode() + b"\n\n" for i in range(events)]
    # A thousand events per HTTP chunk keeps the server's share of the work small.
    body = [b"".join(frames[i : i + 1000]) for i in range(0, events, 1000)]
    del frames
    scripted_server.script(Reply.sse(body))
    from babyapi import BabyAPI

    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            stream = client.chat.completions.stream(model="m", messages=MESSAGES)
            seen = 0
            for event in stream:
                if not event.done:
                    seen += len(event.data["choices"][0]["delta"]["content"])
            retained, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert seen == 2 * events
        assert answer_text(stream.final()) == "".join(f"t{i % 10}" for i in range(events))
    retained_mb, peak_mb = (retained - before) / 1e6, (peak - before) / 1e6
    # The answer is 200 kB of text; keeping every payload (as before) retained 20 MB.
    assert retained_mb < 2.0, f"retained {retained_mb:.1f} MB"
    assert peak_mb < 5.0, f"peak {peak_mb:.1f} MB"


# ----------------------------------------------------------------- deadline


def real_clock(driver: Driver, **settings: Any) -> Any:
    client = driver.make(**settings)
    client._clocks = Clocks(monotonic=time.monotonic, wall=time.time, random=lambda: 0.5)
    return client


def read_until_error(driver: Driver, client: Any) -> tuple[list[str], APITimeoutError, float]:
    texts: list[str] = []
    started = time.monotonic()

    def stream(c: Any) -> Any:
        return c.chat.completions.stream(model="m", messages=MESSAGES)

    with pytest.raises(APITimeoutError) as info:
        if not driver.is_async:
            for event in stream(client):
                texts.append(event.data["choices"][0]["delta"]["content"])
        else:

            async def collect() -> None:
                async for event in stream(client):
                    texts.append(event.data["choices"][0]["delta"]["content"])

            driver.run(collect())
    return texts, info.value, time.monotonic() - started


def test_deadline_bounds_a_stream_that_keeps_delivering(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk(f"w{i} ") for i in range(200)], chunk_delay_s=0.1))
    client = real_clock(driver, deadline_s=0.5)
    texts, error, elapsed = read_until_error(driver, client)
    assert elapsed < 8.0  # the stream itself would take 20 s
    assert error.code == "TIMEOUT"
    assert "deadline_s=0.5" in error.message
    assert texts and len(texts) < 200
    assert error.partial is not None and answer_text(error.partial) == "".join(texts)


def test_deadline_bounds_a_stream_that_stalls(driver: Driver) -> None:
    # 3 s is room for two events to arrive on a busy machine; the stall lasts 30 s.
    driver.server.script(Reply.sse([chunk("a"), chunk("b")], done=False, hang_after_chunks_s=30.0))
    client = real_clock(driver)
    started = time.monotonic()
    texts: list[str] = []
    with pytest.raises(APITimeoutError) as info:

        def stream(c: Any) -> Any:
            return c.chat.completions.stream(
                model="m", messages=MESSAGES, request_options={"deadline_s": 3.0}
            )

        if not driver.is_async:
            texts.extend(e.data["choices"][0]["delta"]["content"] for e in stream(client))
        else:

            async def collect() -> None:
                async for e in stream(client):
                    texts.append(e.data["choices"][0]["delta"]["content"])

            driver.run(collect())
    assert time.monotonic() - started < 20.0  # the server would stall for 30 s
    assert texts == ["a", "b"]
    assert info.value.code == "TIMEOUT" and "deadline_s=3" in info.value.message
    assert info.value.partial is not None and answer_text(info.value.partial) == "ab"


def test_deadline_before_the_headers_names_deadline_s(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("a")], delay_s=30.0))
    client = real_clock(driver, deadline_s=0.3)
    texts, error, elapsed = read_until_error(driver, client)
    assert elapsed < 15.0 and texts == []  # the headers would take 30 s
    assert "deadline_s=0.3" in error.message
