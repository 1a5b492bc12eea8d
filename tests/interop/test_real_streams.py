"""Streams from real servers: text_deltas(), final(), the usage chunk, closing early."""

from __future__ import annotations

from typing import Any

import pytest
from real_servers import Record, ServerDriver, Target, require_servers  # pyright: ignore[reportImplicitRelativeImport]

require_servers()

HELLO = [{"role": "user", "content": "Say hello to the world."}]


@pytest.mark.feature("chat-stream")
def test_chat_stream_matches_the_plain_answer(target: Target, driver: ServerDriver) -> None:
    args: dict[str, Any] = {
        "model": target.chat.model,
        "messages": HELLO,
        "max_tokens": 8,
        "temperature": 0,
    }
    plain = driver.call(lambda c: c.chat.completions.create(**args))
    expected = plain["choices"][0]["message"]["content"]
    deltas = driver.stream_method(
        driver.call(lambda c: c.chat.completions.stream(**args)), "text_deltas"
    )
    assert len(deltas) > 1
    assert "".join(deltas) == expected
    final = driver.stream_method(driver.call(lambda c: c.chat.completions.stream(**args)), "final")
    assert final["object"] == "chat.completion"
    assert final["choices"][0]["message"]["content"] == expected
    assert final["choices"][0]["message"]["role"] == "assistant"
    assert final["choices"][0]["finish_reason"] == "length"


@pytest.mark.feature("completion-stream")
def test_completion_stream_matches_the_plain_answer(target: Target, driver: ServerDriver) -> None:
    args: dict[str, Any] = {
        "model": target.chat.model,
        "prompt": "The world is",
        "max_tokens": 6,
        "temperature": 0,
    }
    expected = driver.call(lambda c: c.completions.create(**args))["choices"][0]["text"]
    deltas = driver.stream_method(
        driver.call(lambda c: c.completions.stream(**args)), "text_deltas"
    )
    assert "".join(deltas) == expected
    final = driver.stream_method(driver.call(lambda c: c.completions.stream(**args)), "final")
    assert final["choices"][0]["text"] == expected
    assert final["choices"][0]["finish_reason"] == "length"


@pytest.mark.feature("usage-chunk")
def test_usage_chunk_arrives_last_and_reaches_final(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    args: dict[str, Any] = {
        "model": target.chat.model,
        "messages": HELLO,
        "max_tokens": 5,
        "temperature": 0,
        "stream_options": {"include_usage": True},
    }
    events = driver.events(lambda c: c.chat.completions.stream(**args))
    assert events[-1].done
    first = (events[0].data or {})["choices"][0]["delta"]
    assert first["role"] == "assistant"
    if target.name == "llama.cpp":
        assert first["content"] is None
        record.note("the first stream chunk's delta has `content: null`")
    else:
        assert first["content"] == ""
    last = events[-2].data
    assert last is not None and last["choices"] == []
    assert last["usage"]["completion_tokens"] == 5
    final = driver.stream_method(driver.call(lambda c: c.chat.completions.stream(**args)), "final")
    # Token counts match; prompt-cache details may differ between the two requests.
    counts = ("prompt_tokens", "completion_tokens", "total_tokens")
    assert {k: final["usage"][k] for k in counts} == {k: last["usage"][k] for k in counts}
    # Without the option no chunk carries usage.
    del args["stream_options"]
    plain = driver.events(lambda c: c.chat.completions.stream(**args))
    assert all(not (e.data or {}).get("usage") for e in plain)


@pytest.mark.feature("stream-close")
def test_closing_mid_generation_frees_the_connection(target: Target, driver: ServerDriver) -> None:
    args: dict[str, Any] = {
        "model": target.chat.model,
        "messages": HELLO,
        "max_tokens": 1500,
        "temperature": 0,
    }
    stream = driver.call(lambda c: c.chat.completions.stream(**args))
    if not driver.is_async:
        received = []
        for text in stream.text_deltas():
            received.append(text)
            if len(received) == 3:
                break
        stream.close()
    else:

        async def read_three() -> list[str]:
            got = []
            async for text in stream.text_deltas():
                got.append(text)
                if len(got) == 3:
                    break
            await stream.aclose()
            return got

        received = driver.run(read_three())
    assert len(received) == 3
    assert stream.response.is_closed
    # The server stays healthy and the client's pool usable: the next call is answered.
    after = driver.call(
        lambda c: c.chat.completions.create(model=target.chat.model, messages=HELLO, max_tokens=2)
    )
    assert after["choices"][0]["finish_reason"] == "length"
