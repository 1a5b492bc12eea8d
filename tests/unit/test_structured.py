"""Reading a structured answer back: each way it can go wrong has its own code."""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, TypedDict

import pytest

from babyapi import BabyAPIError, StructuredOutputError
from babyapi.structured import OutputFormat, wants_parsing


class Movie(TypedDict):
    title: str
    year: int
    genres: List[str]


@dataclasses.dataclass
class Point:
    x: float
    y: float
    label: Optional[str] = None


def completion(
    content: Optional[str], finish: Optional[str] = "stop", **message: Any
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish,
            }
        ],
    }


MOVIE = '{"title": "Alien", "year": 1979, "genres": ["horror", "sci-fi"]}'


def test_wire_body_is_openai_json_schema_strict() -> None:
    fmt: OutputFormat[Movie] = OutputFormat(Movie)
    assert fmt.response_format["type"] == "json_schema"
    inner = fmt.response_format["json_schema"]
    assert inner["name"] == "Movie" and inner["strict"] is True
    assert inner["schema"]["required"] == ["title", "year", "genres"]


def test_a_fitting_answer_is_parsed() -> None:
    parsed = OutputFormat(Movie).read(completion(MOVIE))
    assert parsed.parsed == {"title": "Alien", "year": 1979, "genres": ["horror", "sci-fi"]}
    assert parsed.text == MOVIE and parsed.finish_reason == "stop"


def test_padded_answer_cut_at_length_is_accepted_when_it_parses_and_fits() -> None:
    # vLLM's guided decoding pads a complete object with whitespace up to max_tokens.
    parsed = OutputFormat(Point).read(completion('{"x": 1, "y": 2.5}' + " " * 200, "length"))
    assert parsed.parsed == Point(1.0, 2.5)
    assert parsed.finish_reason == "length"


def test_json_in_a_markdown_fence_is_read() -> None:
    parsed = OutputFormat(Point).read(completion('```json\n{"x": 1, "y": 2}\n```'))
    assert parsed.parsed == Point(1.0, 2.0)


def test_cut_answer_is_truncated_not_invalid() -> None:
    with pytest.raises(StructuredOutputError) as info:
        OutputFormat(Movie).read(completion('{"title": "Ali', "length"))
    assert info.value.code == "OUTPUT_TRUNCATED"
    assert "max_tokens" in info.value.message
    assert info.value.raw == '{"title": "Ali'


def test_text_that_is_not_json_is_not_json() -> None:
    with pytest.raises(StructuredOutputError) as info:
        OutputFormat(Movie).read(completion("Alien is a 1979 film."))
    assert info.value.code == "OUTPUT_NOT_JSON"
    assert info.value.raw == "Alien is a 1979 film."


def test_mismatch_names_the_first_offending_field_and_keeps_the_raw_text() -> None:
    raw = '{"title": "Alien", "year": 1979, "genres": ["horror", 7]}'
    with pytest.raises(StructuredOutputError) as info:
        OutputFormat(Movie).read(completion(raw, "length"))
    assert info.value.code == "OUTPUT_SCHEMA_MISMATCH"
    assert info.value.path == "$.genres[1]"
    assert info.value.raw == raw
    assert "$.genres[1]" in str(info.value)


def test_refusal_is_reported_as_such() -> None:
    with pytest.raises(StructuredOutputError) as info:
        OutputFormat(Movie).read(completion(None, refusal="I can't help with that."))
    assert info.value.code == "OUTPUT_REFUSED"
    assert info.value.raw == "I can't help with that."


@pytest.mark.parametrize(
    "answer",
    [
        completion(None, "tool_calls", tool_calls=[{"id": "c"}]),
        {"choices": []},
        {"choices": [None]},
        "not a dict",
        {"error": "x"},
    ],
)
def test_odd_answers_are_structured_output_errors(answer: Any) -> None:
    with pytest.raises(StructuredOutputError) as info:
        OutputFormat(Movie).read(answer)
    assert info.value.code == "OUTPUT_NOT_JSON"


def test_every_choice_is_parsed() -> None:
    answer = completion('{"x": 1, "y": 2}')
    answer["choices"].append({**answer["choices"][0], "index": 1})
    answer["choices"][1]["message"] = {"role": "assistant", "content": '{"x": 3, "y": 4}'}
    parsed = OutputFormat(Point).read(answer)
    assert parsed.parsed_choices == [Point(1, 2), Point(3, 4)]


def test_a_json_schema_dict_gives_plain_json() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    fmt: OutputFormat[Any] = OutputFormat(schema)
    assert fmt.response_format["json_schema"]["name"] == "response"
    assert fmt.read(completion('{"ok": true}')).parsed == {"ok": True}
    with pytest.raises(StructuredOutputError) as info:
        fmt.read(completion("{}"))
    assert info.value.path == "$.ok"


def test_a_wire_json_schema_format_is_read_with_its_schema() -> None:
    wire = {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "integer"}}}
    assert OutputFormat(wire).read(completion("12")).parsed == 12


@pytest.mark.parametrize(
    "bad",
    [{"type": "text"}, {"type": "json_schema", "json_schema": {"name": "x"}}, 42, "Movie"],
)
def test_formats_that_cannot_be_parsed_are_refused(bad: Any) -> None:
    with pytest.raises(BabyAPIError) as info:
        OutputFormat(bad)
    assert info.value.code == "INVALID_RESPONSE_FORMAT"


def test_a_validator_that_rejects_the_value_is_a_mismatch() -> None:
    @dataclasses.dataclass
    class Positive:
        n: int

        def __post_init__(self) -> None:
            if self.n <= 0:
                raise ValueError("n must be positive")

    with pytest.raises(StructuredOutputError) as info:
        OutputFormat(Positive).read(completion('{"n": -1}'))
    assert info.value.code == "OUTPUT_SCHEMA_MISMATCH"
    assert "n must be positive" in info.value.message


def test_wants_parsing_tells_types_and_schemas_from_wire_formats() -> None:
    assert wants_parsing(Movie)
    assert wants_parsing({"type": "object"})
    assert not wants_parsing({"type": "json_object"})
    assert not wants_parsing({"type": "json_schema", "json_schema": {}})
    assert not wants_parsing(None)
