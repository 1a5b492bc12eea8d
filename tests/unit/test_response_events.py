"""Folding Responses API stream events into the response, whatever a server sends."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi._accumulate import Accumulator, text_of_chunk
from babyapi._response_events import ResponseFold, failure_of, output_text
from babyapi._sse import SSEEvent


def delta(text: str, index: int = 0, part: int = 0) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "output_index": index,
        "content_index": part,
        "delta": text,
    }


def test_text_deltas_without_any_other_event_still_make_a_message() -> None:
    fold = ResponseFold()
    for piece in ("Hel", "lo", "!"):
        fold.add(delta(piece))
    result = fold.result()
    assert result["output_text"] == "Hello!"
    assert result["output"][0]["type"] == "message"


def test_a_done_item_replaces_what_its_deltas_built() -> None:
    fold = ResponseFold()
    fold.add(delta("Hel"))
    item = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Hello", "annotations": []}],
    }
    fold.add({"type": "response.output_item.done", "output_index": 0, "item": item})
    assert fold.result()["output"] == [item]


def test_the_terminal_response_wins_over_the_deltas() -> None:
    fold = ResponseFold()
    fold.add(delta("partial"))
    whole = {"id": "r", "object": "response", "status": "incomplete", "output": []}
    fold.add({"type": "response.incomplete", "response": whole})
    assert fold.result() == {**whole, "output_text": ""}


def test_output_text_joins_every_text_part_and_skips_the_rest() -> None:
    response = {
        "output": [
            {"type": "reasoning", "content": [{"type": "reasoning_text", "text": "hmm"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "a"}]},
            {"type": "function_call", "arguments": "{}"},
            {
                "type": "message",
                "content": [{"type": "refusal"}, {"type": "output_text", "text": "b"}],
            },
        ]
    }
    assert output_text(response) == "ab"
    assert output_text({"output": "nope"}) == ""
    assert output_text(None) == ""


def test_a_failure_without_an_error_object_still_has_a_message() -> None:
    body = failure_of({"type": "response.failed", "response": {"status": "failed"}})
    assert "without saying why" in body["error"]["message"]


def test_the_shared_accumulator_and_text_helper_know_responses_events() -> None:
    accumulator = Accumulator()
    accumulator.add({"type": "response.created", "response": {"id": "r1", "model": "m"}})
    accumulator.add(delta("Hi"))
    assert accumulator.result()["id"] == "r1"
    assert accumulator.result()["output_text"] == "Hi"
    assert text_of_chunk(delta("Hi")) == "Hi"
    assert text_of_chunk({"type": "response.output_text.done", "text": "Hi"}) is None


def test_an_event_is_named_by_its_event_field_else_its_type() -> None:
    assert SSEEvent('{"type": "response.created"}', event="response.created").type == (
        "response.created"
    )
    assert SSEEvent('{"type": "response.output_text.delta"}').type == "response.output_text.delta"
    assert SSEEvent('{"choices": []}').type == "message"
    assert SSEEvent("[DONE]").type == "message"


# Whatever a server sends, folding never raises and the result stays a response.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
_KINDS = st.sampled_from(
    [
        "response.created",
        "response.completed",
        "response.failed",
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.reasoning_text.delta",
        "response.something_new",
    ]
)
_EVENTS = st.builds(
    lambda kind, fields: {**fields, "type": kind},
    _KINDS,
    st.fixed_dictionaries(
        {},
        optional={
            "output_index": st.integers(-1, 3) | _JSON,
            "content_index": st.integers(-1, 3) | _JSON,
            "delta": st.text(max_size=4) | _JSON,
            "text": st.text(max_size=4) | _JSON,
            "arguments": st.text(max_size=4) | _JSON,
            "item": _JSON,
            "part": _JSON,
            "response": _JSON,
        },
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_EVENTS, max_size=12))
def test_any_sequence_of_events_folds_without_raising(events: list[dict[str, Any]]) -> None:
    fold = ResponseFold()
    for event in events:
        fold.add(event)
    result = fold.result()
    assert isinstance(result["output_text"], str)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=20))
def test_deltas_however_split_join_into_the_text(pieces: list[str]) -> None:
    fold = ResponseFold()
    for piece in pieces:
        fold.add(delta(piece))
    assert fold.result()["output_text"] == "".join(pieces)


# --- the Responses tool loop, driven through its rules with any answers -----------------------


def measure(size: int) -> int:
    """A tool that works."""
    return size * 2


def broken(x: int) -> str:
    raise RuntimeError("a tool that always fails")


_CALL = st.fixed_dictionaries(
    {
        "type": st.just("function_call"),
        "call_id": st.text(max_size=4) | _JSON,
        "name": st.sampled_from(["measure", "broken", "missing"]) | _JSON,
        "arguments": st.sampled_from(['{"size": 2}', '{"size": "x"}', "{", ""]) | _JSON,
    }
)
_ROUND = st.one_of(
    st.lists(_CALL, min_size=1, max_size=3).map(
        lambda calls: {"id": "resp_1", "object": "response", "output": calls}
    ),
    st.builds(lambda text: {"id": "r", "output": [{"type": "message", "content": text}]}, _JSON),
    _JSON,
)


@settings(max_examples=200, deadline=None)
@given(
    rounds=st.lists(_ROUND, min_size=1, max_size=4),
    stored=st.booleans(),
    raise_errors=st.booleans(),
)
def test_the_responses_tool_loop_gives_a_run_or_a_babyapi_error(
    rounds: list[Any], stored: bool, raise_errors: bool
) -> None:
    from babyapi import BabyAPIError
    from babyapi.tools import (  # pyright: ignore[reportPrivateUsage]
        ResponseToolRun,
        _Ask,
        _Loop,
        _ResponsesConversation,
        _run_one,
        _Stored,
    )

    loop = _Loop(
        [measure, broken],
        {"model": "m", "input": "go"},
        max_rounds=len(rounds),
        raise_tool_errors=raise_errors,
        allow_async=False,
        kind=_ResponsesConversation,
    )
    steps = loop.steps()
    answers = iter(rounds)
    try:
        step = next(steps)
        while True:
            reply: Any = None
            if isinstance(step, _Ask):
                if loop.conversation.continued_by == "previous_response_id":
                    assert "previous_response_id" in step.body
                reply = next(answers)
            elif isinstance(step, _Stored):
                reply = stored
            else:
                for call in step.calls:
                    _run_one(call)
                    assert isinstance(call.answer, str)  # every call is answered
            step = steps.send(reply)
    except StopIteration as stop:
        assert isinstance(stop.value, ResponseToolRun)
        assert isinstance(stop.value.text, str)
    except BabyAPIError:
        pass


_PART = st.fixed_dictionaries(
    {"type": st.sampled_from(["output_text", "refusal", "other"]) | _JSON},
    optional={
        "text": st.sampled_from(['{"ok": true}', '{"ok": 1}', "{", ""]) | _JSON,
        "refusal": _JSON,
    },
)
_ITEM = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "function_call", "reasoning"]) | _JSON},
    optional={"content": st.lists(_PART, max_size=3) | _JSON},
)
_ANSWER = st.one_of(
    _JSON,
    st.fixed_dictionaries(
        {"output": st.lists(_ITEM, max_size=3) | _JSON},
        optional={"status": st.sampled_from(["completed", "incomplete"]) | _JSON},
    ),
)


@settings(max_examples=200, deadline=None)
@given(_ANSWER)
def test_parse_reads_any_response_into_a_value_or_a_babyapi_error(answer: Any) -> None:
    from babyapi import BabyAPIError
    from babyapi.structured import OutputFormat

    output: OutputFormat[Any] = OutputFormat(
        {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    )
    try:
        parsed = output.read_response(answer)
    except BabyAPIError:
        return
    assert parsed.parsed == {"ok": True}
