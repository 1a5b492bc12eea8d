"""Streams on the wire: events, helpers, early exit, and every way a stream can fail."""

from __future__ import annotations

from typing import Any

import pytest

from babyapi import (
    APIConnectionError,
    APITimeoutError,
    BabyAPIError,
    BadRequestError,
    InternalServerError,
)
from drivers import Driver, library_errors  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Write a poem."}]


def chunk(content: Any = None, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "mistral",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


POEM = [
    chunk(role="assistant", content=""),
    b": ping - 2026-11-25 12:00:00\n\n",
    chunk("Ser"),
    chunk("vers hum"),
    chunk(finish="stop"),
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    },
]


def stream_chat(client: Any, **kwargs: Any) -> Any:
    return client.chat.completions.stream(model="mistral", messages=MESSAGES, **kwargs)


def test_chat_stream_request_and_events(driver: Driver) -> None:
    driver.server.script(Reply.sse(POEM))
    events = driver.events(stream_chat)
    (req,) = driver.server.requests
    assert req.json() == {"model": "mistral", "messages": MESSAGES, "stream": True}
    assert req.headers["accept"] == "text/event-stream"
    assert [e.done for e in events] == [False] * 5 + [True]
    text = "".join(
        (e.data or {}).get("choices", [{}])[0].get("delta", {}).get("content") or ""
        for e in events
        if not e.done and e.data["choices"]
    )
    assert text == "Servers hum"
    assert events[-1].raw == "[DONE]" and events[-1].data is None


def test_seed_loop_shape_works(driver: Driver) -> None:
    driver.server.script(Reply.sse(POEM))
    pieces = []
    for event in driver.events(stream_chat):
        if event.done:
            break
        delta = (event.data or {}).get("choices", [{}])
        delta = (delta[0] if delta else {}).get("delta", {})
        if delta.get("content"):
            pieces.append(delta["content"])
    assert "".join(pieces) == "Servers hum"


def test_text_deltas_and_final(driver: Driver) -> None:
    driver.server.script(Reply.sse(POEM))
    assert driver.stream_method(
        driver.call(stream_chat) if not driver.is_async else stream_chat(driver.client),
        "text_deltas",
    ) == ["Ser", "vers hum"]
    driver.server.script(Reply.sse(POEM))
    final = driver.stream_method(
        driver.call(stream_chat) if not driver.is_async else stream_chat(driver.client), "final"
    )
    assert final["object"] == "chat.completion"
    assert final["choices"][0]["message"] == {"role": "assistant", "content": "Servers hum"}
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["usage"]["total_tokens"] == 8


def test_completions_stream_final_is_a_text_completion(driver: Driver) -> None:
    chunks = [
        {
            "id": "cmpl-1",
            "object": "text_completion",
            "choices": [{"index": 0, "text": t, "finish_reason": f}],
        }
        for t, f in (("Calm", None), (" tips", "length"))
    ]
    driver.server.script(Reply.sse(chunks))
    stream = driver.client.completions.stream(model="mistral", prompt="List tips")
    final = driver.stream_method(stream, "final")
    assert final["object"] == "text_completion"
    assert final["choices"][0]["text"] == "Calm tips"
    assert final["choices"][0]["finish_reason"] == "length"
    assert driver.server.requests[0].json() == {
        "model": "mistral",
        "prompt": "List tips",
        "stream": True,
    }


def test_tool_calls_are_merged_by_index(driver: Driver) -> None:
    def tool(index: int, **fn: Any) -> dict[str, Any]:
        part: dict[str, Any] = {"index": index, "function": fn}
        if "name" in fn:
            part.update(id=f"call_{index}", type="function")
        return chunk(tool_calls=[part])

    driver.server.script(
        Reply.sse(
            [
                tool(0, name="get_weather", arguments=""),
                tool(1, name="get_time", arguments='{"tz"'),
                tool(0, arguments='{"city":'),
                tool(0, arguments=' "Oslo"}'),
                tool(1, arguments=': "UTC"}'),
                chunk(finish="tool_calls"),
            ]
        )
    )
    final = driver.stream_method(
        stream_chat(driver.client) if driver.is_async else driver.call(stream_chat), "final"
    )
    message = final["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "type": "function",
            "id": "call_0",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
        },
        {
            "type": "function",
            "id": "call_1",
            "function": {"name": "get_time", "arguments": '{"tz": "UTC"}'},
        },
    ]


def test_breaking_out_closes_the_connection(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("x")] * 50, chunk_delay_s=0.01))
    if not driver.is_async:
        for _event in driver.client.chat.completions.stream(model="m", messages=MESSAGES):
            break
    else:

        async def first() -> None:
            async with driver.client.chat.completions.stream(
                model="m", messages=MESSAGES
            ) as stream:
                async for _event in stream:
                    break

        driver.run(first())
    assert driver.server.wait_for_open_connections(0, timeout=2.0)


def test_mid_stream_error_frame_raises_the_matching_error(driver: Driver) -> None:
    frame = {"error": {"message": "out of KV cache", "type": "InternalServerError", "code": 503}}
    driver.server.script(Reply.sse([chunk("a"), frame], done=False))
    seen: list[Any] = []

    def collect(client: Any) -> Any:
        stream = stream_chat(client)
        seen.append(stream)
        return stream

    with pytest.raises(InternalServerError) as info:
        driver.events(collect)
    assert info.value.status == 503
    assert info.value.message == "out of KV cache"
    assert info.value.partial is not None
    assert info.value.partial["choices"][0]["message"]["content"] == "a"


def test_event_error_raises(driver: Driver) -> None:
    driver.server.script(
        Reply.sse([b'event: error\ndata: {"message": "bad input", "code": 400}\n\n'], done=False)
    )
    with pytest.raises(BadRequestError) as info:
        driver.events(stream_chat)
    assert info.value.message == "bad input"


def test_dropped_stream_is_interrupted_with_partial(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("Hel"), chunk("lo")], done=False, drop="mid_chunks"))
    with pytest.raises(APIConnectionError) as info:
        driver.events(stream_chat)
    assert info.value.code == "STREAM_INTERRUPTED"
    assert info.value.partial is not None
    assert info.value.partial["choices"][0]["message"]["content"] == "Hello"
    assert info.value.failure in ("remote_closed", "read")
    assert isinstance(info.value.cause, library_errors(driver.kind))


def test_error_status_raises_before_iteration_with_parsed_body(driver: Driver) -> None:
    driver.server.script(
        Reply.json(
            {"error": {"message": "messages too long", "type": "BadRequestError", "code": 400}},
            status=400,
        )
    )
    with pytest.raises(BadRequestError) as info:
        if not driver.is_async:
            driver.client.chat.completions.stream(model="m", messages=MESSAGES)
        else:
            driver.run(
                driver.client.chat.completions.stream(model="m", messages=MESSAGES).__aenter__()
            )
    assert info.value.message == "messages too long"
    assert info.value.details["error"]["type"] == "BadRequestError"


def test_empty_200_stream_is_an_error(driver: Driver) -> None:
    driver.server.script(Reply.sse([], done=False))
    with pytest.raises(BabyAPIError) as info:
        driver.events(stream_chat)
    assert info.value.code == "EMPTY_STREAM"


def test_stream_without_done_just_ends(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("a"), chunk("b")], done=False))
    events = driver.events(stream_chat)
    assert [e.data["choices"][0]["delta"]["content"] for e in events] == ["a", "b"]


def test_server_ignoring_stream_gives_one_event(driver: Driver) -> None:
    whole = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "all at once"}}],
    }
    driver.server.script(Reply.json(whole))
    events = driver.events(stream_chat)
    assert len(events) == 1
    assert events[0].data == whole
    driver.server.script(Reply.json(whole))
    stream = stream_chat(driver.client) if driver.is_async else driver.call(stream_chat)
    assert driver.stream_method(stream, "final") == whole


def test_stream_timeout_bounds_each_wait(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("a")], done=False, hang_after_chunks_s=3.0))
    with pytest.raises(APITimeoutError) as info:
        driver.events(lambda c: stream_chat(c, request_options={"timeout_s": 0.2}))
    assert info.value.code == "TIMEOUT"


def test_idle_timeout_ignores_keepalive_comments(driver: Driver) -> None:
    import time

    from babyapi._call import Clocks

    # Pings for 30 s; the idle timeout (2 s, room for "a" to arrive on a busy machine) fires
    # long before they end.
    pings = [b": ping\n\n"] * 600
    driver.server.script(Reply.sse([chunk("a"), *pings], done=False, chunk_delay_s=0.05))
    client = driver.make()
    client._clocks = Clocks(monotonic=time.monotonic, wall=time.time, random=lambda: 0.5)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        driver.events(
            lambda c: stream_chat(c, request_options={"stream_idle_timeout_s": 2.0}), client
        )
    assert "stream_idle_timeout_s=2" in info.value.message
    assert time.monotonic() - started < 15.0
    assert info.value.partial["choices"][0]["message"]["content"] == "a"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"stream_idle_timeout_s": 0.3}, "stream_idle_timeout_s=0.3"),
        ({"timeout_s": 0.2}, "timeout_s=0.2"),
        ({"deadline_s": 0.3}, "deadline_s=0.3"),
    ],
)
def test_a_stalled_stream_names_the_bound_that_fired(
    driver: Driver, options: dict[str, float], named: str
) -> None:
    driver.server.script(Reply.sse([chunk("a")], done=False, hang_after_chunks_s=3.0))
    with pytest.raises(APITimeoutError) as info:
        driver.events(lambda c: stream_chat(c, request_options=options))
    assert named in info.value.message
    assert "raise " + named.split("=")[0] in info.value.message
    assert info.value.partial is not None


def test_headers_timeout_is_named_when_it_fires(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("a")], delay_s=1.0))
    with pytest.raises(APITimeoutError) as info:
        driver.events(lambda c: stream_chat(c, request_options={"headers_timeout_s": 0.2}))
    assert "headers_timeout_s=0.2" in info.value.message
    assert "waiting for the response headers" in info.value.message


def test_headers_timeout_bounds_only_the_wait_for_headers(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("a")], delay_s=1.0))
    with pytest.raises(APITimeoutError):
        driver.events(lambda c: stream_chat(c, request_options={"headers_timeout_s": 0.2}))
    # Once the headers are in, a slow body is fine.
    driver.server.script(Reply.sse([chunk("a"), chunk("b")], chunk_delay_s=0.3))
    events = driver.events(lambda c: stream_chat(c, request_options={"headers_timeout_s": 0.2}))
    assert events[-1].done


def test_stream_exposes_response_status_and_request_id(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("a")], headers={"x-request-id": "s-1"}))
    if not driver.is_async:
        with driver.client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            assert (stream.status, stream.request_id) == (200, "s-1")
            assert stream.response.headers["content-type"].startswith("text/event-stream")
    else:

        async def check() -> tuple[int, str | None]:
            stream = await driver.client.chat.completions.stream(model="m", messages=MESSAGES)
            try:
                return stream.status, stream.request_id
            finally:
                await stream.aclose()

        assert driver.run(check()) == (200, "s-1")


def test_an_async_stream_read_before_it_is_open_says_so(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("a")], headers={"x-request-id": "s-2"}))
    if not driver.is_async:  # a sync stream is open once stream() returns
        with driver.client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
            assert (stream.status, stream.request_id) == (200, "s-2")
        return

    async def check() -> tuple[list[str], int, str | None]:
        stream = driver.client.chat.completions.stream(model="m", messages=MESSAGES)
        codes = []
        for read in (lambda: stream.status, lambda: stream.request_id, lambda: stream.response):
            with pytest.raises(BabyAPIError) as info:
                read()
            assert "iterate it or enter it first" in info.value.message
            codes.append(info.value.code)
        assert driver.server.requests == [], "nothing is sent before the stream is opened"
        async with stream:
            return codes, stream.status, stream.request_id

    assert driver.run(check()) == (["STREAM_NOT_OPEN"] * 3, 200, "s-2")


def test_a_stream_opened_but_never_read_gives_its_connection_back(driver: Driver) -> None:
    driver.server.script(Reply.sse([chunk("x")] * 20, chunk_delay_s=0.05))
    if not driver.is_async:
        with driver.client.chat.completions.stream(model="m", messages=MESSAGES):
            pass
        assert driver.server.wait_for_open_connections(0, timeout=2.0)
        driver.client.chat.completions.stream(model="m", messages=MESSAGES)  # dropped unread
    else:

        async def open_and_leave() -> None:
            async with driver.client.chat.completions.stream(model="m", messages=MESSAGES):
                pass

        driver.run(open_and_leave())
    assert driver.server.wait_for_open_connections(0, timeout=2.0)
