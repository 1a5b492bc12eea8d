"""Whatever a server or a model sends, parse() (chat's and the Responses API's) and the tool
loop give a result or a BabyAPIError.

Arbitrary JSON goes where the answer goes: the whole completion, the message's text, and the
tool calls' arguments (as text and as values), against typed targets whose conversion can
itself refuse (a ``__post_init__`` that asserts). The tool loop is driven through its own
rules (``tools._Loop.steps()``, the sans-IO part both clients share) with tools that run.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, Dict, FrozenSet, List, Literal, Optional, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typing_extensions import NotRequired, TypedDict

from babyapi import BabyAPIError
from babyapi.structured import OutputFormat, ParsedChatCompletion, ParsedResponse
from babyapi.tools import ToolRun, _Ask, _Loop, _run_one  # pyright: ignore[reportPrivateUsage]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = st.sampled_from(["span", "start", "end", "kind", "tags", "note", "x"])
# Objects whose keys are the targets' field names, so conversions are reached, not only checks.
SHAPED = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.5, 2.0, -1e308])
    | st.sampled_from(["a", "b", "red"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=12,
)
TEXT = st.one_of(
    (JSON | SHAPED).map(json.dumps),
    st.text(max_size=20),
    st.sampled_from(["[" * 5000, "```json\n{}\n```", "NaN", "1e999", '{"a": 1', ""]),
)


class Kind(enum.Enum):
    A = "a"
    B = "b"


@dataclasses.dataclass(frozen=True)
class Span:
    start: int
    end: int

    def __post_init__(self) -> None:
        assert self.start <= self.end, "start after end"


class Note(TypedDict):
    kind: Kind
    tags: FrozenSet[str]
    note: NotRequired[Optional[str]]


TARGETS: list[Any] = [
    Span,
    Note,
    List[Union[Span, int]],
    Dict[str, Literal["a", 1]],
    {
        "type": "object",
        "properties": {"x": {"type": "integer", "multipleOf": 2}},
        "required": ["x"],
    },
]


def completion_with(content: Any, extra: Any) -> Any:
    message = {"role": "assistant", "content": content}
    return {"choices": [{"index": 0, "message": message, "finish_reason": extra}]}


@settings(max_examples=400)
@given(
    target=st.sampled_from(TARGETS),
    answer=st.one_of(
        JSON,
        st.tuples(TEXT, JSON).map(lambda pair: completion_with(*pair)),
        st.tuples(JSON, JSON).map(lambda pair: completion_with(*pair)),
    ),
)
def test_parse_reads_any_answer_into_a_value_or_a_babyapi_error(target: Any, answer: Any) -> None:
    fmt: OutputFormat[Any] = OutputFormat(target)
    try:
        result = fmt.read(answer)
    except BabyAPIError:
        return
    assert isinstance(result, ParsedChatCompletion)


def response_with(text: Any, status: Any) -> Any:
    part = {"type": "output_text", "text": text}
    return {"status": status, "output": [{"type": "message", "content": [part]}]}


@settings(max_examples=200)
@given(
    target=st.sampled_from(TARGETS),
    answer=st.one_of(
        JSON,
        st.tuples(TEXT, JSON).map(lambda pair: response_with(*pair)),
        st.tuples(JSON, st.sampled_from(["completed", "incomplete"])).map(
            lambda pair: response_with(*pair)
        ),
        st.dictionaries(st.sampled_from(["output", "status"]), JSON),
    ),
)
def test_responses_parse_reads_any_answer_into_a_value_or_a_babyapi_error(
    target: Any, answer: Any
) -> None:
    fmt: OutputFormat[Any] = OutputFormat(target)
    try:
        result = fmt.read_response(answer)
    except BabyAPIError:
        return
    assert isinstance(result, ParsedResponse)


def measure(span: Span, kind: Kind = Kind.A) -> int:
    """A tool whose argument type can refuse."""
    return span.end - span.start


def label(note: Note, tags: FrozenSet[str]) -> str:
    return f"{note['kind']} {sorted(tags)}"


def broken(x: int) -> str:
    raise RuntimeError("a tool that always fails")


TOOL_NAMES = st.sampled_from(["measure", "label", "broken", "missing"])
ARGUMENTS = st.one_of(TEXT, JSON, SHAPED, st.fixed_dictionaries({"span": SHAPED}))
CALL = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=4), JSON),
        "function": st.fixed_dictionaries({"name": TOOL_NAMES, "arguments": ARGUMENTS}),
    }
)
ROUND = st.one_of(
    st.lists(CALL, min_size=1, max_size=3).map(
        lambda calls: {
            "choices": [{"message": {"role": "assistant", "content": None, "tool_calls": calls}}]
        }
    ),
    JSON,
    st.tuples(TEXT, JSON).map(lambda pair: completion_with(*pair)),
)


@settings(max_examples=300)
@given(rounds=st.lists(ROUND, min_size=1, max_size=4), raise_errors=st.booleans())
def test_the_tool_loop_turns_any_answers_into_a_run_or_a_babyapi_error(
    rounds: list[Any], raise_errors: bool
) -> None:
    loop = _Loop(
        [measure, label, broken],
        {"model": "m", "messages": [{"role": "user", "content": "go"}]},
        max_rounds=len(rounds),
        raise_tool_errors=raise_errors,
        allow_async=False,
    )
    steps = loop.steps()
    answers = iter(rounds)
    try:
        step = next(steps)
        while True:
            reply: Any = None
            if isinstance(step, _Ask):
                reply = next(answers)
            else:
                for call in step.calls:
                    _run_one(call)
                    assert isinstance(call.answer, str)  # every call is answered
            step = steps.send(reply)
    except StopIteration as stop:
        assert isinstance(stop.value, ToolRun)
    except BabyAPIError:
        pass


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_makes_a_format(target: Any) -> None:
    assert OutputFormat(target).response_format["type"] == "json_schema"
