"""Folding stream chunks into the answer the non-streaming endpoint would have returned."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from babyapi._accumulate import Accumulator, text_of_chunk

HEAD = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "m"}


def chunk(*choices: Dict[str, Any], **extra: Any) -> Dict[str, Any]:
    return {**HEAD, "choices": list(choices), **extra}


def delta(index: int = 0, finish_reason: Optional[str] = None, **fields: Any) -> Dict[str, Any]:
    return {"index": index, "delta": fields, "finish_reason": finish_reason}


def fold(events: List[Any]) -> Dict[str, Any]:
    acc = Accumulator()
    for event in events:
        acc.add(event)
    return acc.result()


def test_simple_chat_stream() -> None:
    result = fold(
        [
            chunk(delta(role="assistant", content="")),
            chunk(delta(content="Hel")),
            chunk(delta(content="lo")),
            chunk(delta(finish_reason="stop")),
        ]
    )
    assert result == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello"},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
    }


def test_first_chunk_content_null() -> None:
    result = fold([chunk(delta(role="assistant", content=None)), chunk(delta(content="Hi"))])
    assert result["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}


def test_only_empty_content_is_empty_string() -> None:
    result = fold([chunk(delta(role="assistant", content="")), chunk(delta(finish_reason="stop"))])
    assert result["choices"][0]["message"]["content"] == ""


def test_no_content_at_all_is_null_and_role_defaults() -> None:
    result = fold([chunk(delta(content=None)), chunk(delta(finish_reason="length"))])
    assert result["choices"][0]["message"] == {"role": "assistant", "content": None}
    assert result["choices"][0]["finish_reason"] == "length"


def test_tool_calls_merged_by_index() -> None:
    def call(index: int, **fields: Any) -> Dict[str, Any]:
        return {"index": index, **fields}

    result = fold(
        [
            chunk(delta(role="assistant", content=None)),
            chunk(
                delta(
                    tool_calls=[
                        call(
                            0,
                            id="call_a",
                            type="function",
                            function={"name": "get_weather", "arguments": ""},
                        )
                    ]
                )
            ),
            chunk(delta(tool_calls=[call(0, function={"arguments": '{"city": '})])),
            chunk(
                delta(
                    tool_calls=[
                        call(
                            1,
                            id="call_b",
                            type="function",
                            function={"name": "get_time", "arguments": "{}"},
                        )
                    ]
                )
            ),
            chunk(delta(tool_calls=[call(0, function={"arguments": '"Paris"}'})])),
            chunk(delta(finish_reason="tool_calls")),
        ]
    )
    message = result["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "type": "function",
            "id": "call_a",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"type": "function", "id": "call_b", "function": {"name": "get_time", "arguments": "{}"}},
    ]
    assert result["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_calls_sorted_by_index_whatever_the_order() -> None:
    result = fold(
        [
            chunk(
                delta(
                    tool_calls=[
                        {"index": 1, "id": "b", "function": {"name": "g", "arguments": "2"}}
                    ]
                )
            ),
            chunk(
                delta(
                    tool_calls=[
                        {"index": 0, "id": "a", "function": {"name": "f", "arguments": "1"}}
                    ]
                )
            ),
        ]
    )
    assert [c["id"] for c in result["choices"][0]["message"]["tool_calls"]] == ["a", "b"]


def test_logprobs_concatenated() -> None:
    def lp(token: str) -> Dict[str, Any]:
        return {"token": token, "logprob": -0.5, "top_logprobs": []}

    result = fold(
        [
            chunk({"index": 0, "delta": {"content": "a"}, "logprobs": {"content": [lp("a")]}}),
            chunk(
                {"index": 0, "delta": {"content": "b"}, "logprobs": {"content": [lp("b"), lp("c")]}}
            ),
            chunk({"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}),
        ]
    )
    assert result["choices"][0]["logprobs"] == {"content": [lp("a"), lp("b"), lp("c")]}


USAGE = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


@pytest.mark.parametrize(
    "usage_chunk",
    [chunk(usage=USAGE), chunk({"index": 0, "delta": {}}, usage=USAGE)],
    ids=["choices []", "choices [{delta: {}}]"],
)
def test_usage_chunk(usage_chunk: Dict[str, Any]) -> None:
    result = fold(
        [
            chunk(delta(role="assistant", content="Hi"), usage=None),
            chunk(delta(finish_reason="stop"), usage=None),
            usage_chunk,
        ]
    )
    assert result["usage"] == USAGE
    assert len(result["choices"]) == 1
    assert result["choices"][0]["message"]["content"] == "Hi"
    assert result["choices"][0]["finish_reason"] == "stop"


def test_no_usage_key_without_usage() -> None:
    assert "usage" not in fold([chunk(delta(content="x"), usage=None)])


def test_two_choices() -> None:
    result = fold(
        [
            chunk(delta(0, role="assistant", content=""), delta(1, role="assistant", content="")),
            chunk(delta(1, content="B1")),
            chunk(delta(0, content="A1")),
            chunk(delta(0, content="A2", finish_reason="stop")),
            chunk(delta(1, content="B2", finish_reason="length")),
        ]
    )
    assert [
        (c["index"], c["message"]["content"], c["finish_reason"]) for c in result["choices"]
    ] == [
        (0, "A1A2", "stop"),
        (1, "B1B2", "length"),
    ]


def test_completion_chunks() -> None:
    head = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m"}
    result = fold(
        [
            {
                **head,
                "choices": [{"index": 0, "text": "Once", "logprobs": None, "finish_reason": None}],
            },
            {
                **head,
                "choices": [
                    {
                        "index": 0,
                        "text": " upon",
                        "logprobs": None,
                        "finish_reason": None,
                        "stop_reason": None,
                    }
                ],
            },
            {
                **head,
                "choices": [{"index": 0, "text": "", "finish_reason": "length", "stop_reason": 42}],
            },
            {**head, "choices": [], "usage": USAGE},
        ]
    )
    assert result == {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "text": "Once upon",
                "finish_reason": "length",
                "logprobs": None,
                "stop_reason": 42,
            }
        ],
        "usage": USAGE,
    }


def test_completion_logprobs_concatenated() -> None:
    def piece(text: str, logprob: float) -> Dict[str, Any]:
        return {
            "index": 0,
            "text": text,
            "logprobs": {"tokens": [text], "token_logprobs": [logprob], "text_offset": [0]},
        }

    result = fold([{"choices": [piece("a", -1.0)]}, {"choices": [piece("b", -2.0)]}])
    assert result["choices"][0]["logprobs"] == {
        "tokens": ["a", "b"],
        "token_logprobs": [-1.0, -2.0],
        "text_offset": [0, 0],
    }


def test_whole_non_stream_object_passed_through() -> None:
    whole = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 2,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "All at once"},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
    assert fold([whole]) == whole


def test_reasoning_content() -> None:
    result = fold(
        [
            chunk(delta(role="assistant", reasoning_content="think ")),
            chunk(delta(reasoning_content="hard")),
            chunk(delta(content="42")),
        ]
    )
    assert result["choices"][0]["message"] == {
        "role": "assistant",
        "content": "42",
        "reasoning_content": "think hard",
    }


def test_non_dict_events_ignored() -> None:
    result = fold([None, "[DONE]", 3, [1], chunk(delta(content="ok")), {"choices": "nope"}])
    assert result["choices"][0]["message"]["content"] == "ok"


def test_empty_stream() -> None:
    assert fold([]) == {"id": None, "object": "chat.completion", "choices": []}


def test_result_is_a_snapshot_midway() -> None:
    acc = Accumulator()
    acc.add(chunk(delta(content="par")))
    assert acc.result()["choices"][0]["message"]["content"] == "par"
    acc.add(chunk(delta(content="tial")))
    assert acc.result()["choices"][0]["message"]["content"] == "partial"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (chunk(delta(content="Hi")), "Hi"),
        (chunk(delta(content="")), None),
        (chunk(delta(content=None)), None),
        (chunk(delta(role="assistant")), None),
        (chunk(delta(1, content="second"), delta(0, content="first")), "first"),
        (chunk(delta(1, content="second")), None),
        ({"choices": [{"index": 0, "text": "t"}]}, "t"),
        ({"choices": [{"index": 0, "text": ""}]}, None),
        (chunk(usage=USAGE), None),
        ({"choices": None}, None),
        ({"choices": ["x"]}, None),
        ("data", None),
        (None, None),
    ],
    ids=[
        "content",
        "empty content",
        "null content",
        "role only",
        "choice 0 wherever listed",
        "only another choice",
        "completion text",
        "empty text",
        "usage chunk",
        "choices null",
        "choice not a dict",
        "string",
        "None",
    ],
)
def test_text_of_chunk(data: Any, expected: Optional[str]) -> None:
    assert text_of_chunk(data) == expected


def test_thousands_of_pieces_keep_their_order_across_short_and_full_paths() -> None:
    events: List[Any] = [chunk(delta(role="assistant", content=""))]
    expected: List[str] = []
    args: List[str] = []
    for i in range(2000):
        text = f"<{i}>"
        expected.append(text)
        if i % 97 == 0:  # a chunk the short path leaves to the full one
            events.append(
                chunk({**delta(content=text), "logprobs": {"content": [{"token": text}]}})
            )
        else:
            events.append(chunk(delta(content=text)))
        if i % 3 == 0:
            args.append(str(i))
            call = {"index": 0, "id": "t", "function": {"name": "f", "arguments": str(i)}}
            events.append(chunk(delta(tool_calls=[call])))
    events.append(chunk(delta(finish_reason="stop"), usage={"total_tokens": 5}))
    result = fold(events)
    message = result["choices"][0]["message"]
    assert message["content"] == "".join(expected)
    assert message["tool_calls"][0]["function"] == {"arguments": "".join(args), "name": "f"}
    assert len(result["choices"][0]["logprobs"]["content"]) == 21
    assert result["choices"][0]["finish_reason"] == "stop" and result["usage"] == {
        "total_tokens": 5
    }


def test_completion_pieces_and_a_chat_chunk_shape_that_is_not_the_usual_one() -> None:
    pieces = [f"w{i} " for i in range(600)]
    completion = fold([{**HEAD, "choices": [{"index": 0, "text": p}]} for p in pieces])
    assert completion["choices"][0]["text"] == "".join(pieces)
    two_choices = fold([chunk(delta(0, content="a"), delta(1, content="b"))] * 300)
    assert [c["message"]["content"] for c in two_choices["choices"]] == ["a" * 300, "b" * 300]
