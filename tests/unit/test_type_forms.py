"""Every documented type form, as a tool parameter and as a parse() target: schema and value.

Each test goes through what a user calls (``tool(f)``, ``Tool.arguments``, ``OutputFormat``,
the object behind ``parse()``), so it holds whatever the schema package looks like inside.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import json
import typing
from typing import Any, FrozenSet, List, Literal, Mapping, Optional, Sequence, Set, Union

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from typing_extensions import NotRequired, Required, TypedDict

from babyapi import BabyAPIError
from babyapi._schema import first_mismatch, to_jsonable
from babyapi.structured import OutputFormat
from babyapi.tools import tool
from json_schemas import instances  # pyright: ignore[reportImplicitRelativeImport]


def answer(value: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": json.dumps(value)}
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


# --- Sequence and Mapping, in both spellings ---------------------------------------------------


def total(numbers: typing.Sequence[int], weights: typing.Mapping[str, float]) -> float:
    return sum(numbers) * sum(weights.values())


def total_abc(
    numbers: collections.abc.Sequence[int], weights: collections.abc.Mapping[str, float]
) -> float:
    return sum(numbers) * sum(weights.values())


@pytest.mark.parametrize("function", [total, total_abc])
def test_sequence_and_mapping_parameters_make_a_tool(function: Any) -> None:
    made = tool(function)
    assert made.parameters["properties"] == {
        "numbers": {"type": "array", "items": {"type": "integer"}},
        "weights": {"type": "object", "additionalProperties": {"type": "number"}},
    }
    kwargs = made.arguments('{"numbers": [1, 2], "weights": {"a": 1}}')
    assert kwargs == {"numbers": [1, 2], "weights": {"a": 1.0}}
    assert isinstance(kwargs["weights"]["a"], float)
    assert made(**kwargs) == 3.0


def test_abstract_sets_and_mutable_forms_are_read_as_their_types() -> None:
    def tag(
        names: collections.abc.Set[str],
        seen: typing.MutableSequence[int],
        counts: collections.abc.MutableMapping[str, int],
    ) -> str:
        return ""

    kwargs = tool(tag).arguments('{"names": ["a", "a"], "seen": [1], "counts": {"x": 2.0}}')
    assert kwargs == {"names": {"a"}, "seen": [1], "counts": {"x": 2}}
    assert type(kwargs["counts"]["x"]) is int


# --- TypedDict Required / NotRequired ------------------------------------------------------------


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Draft(TypedDict, total=False):
    title: Required[str]
    notes: str


@pytest.mark.parametrize(
    ("target", "fields"), [(Movie, ["title", "year"]), (Draft, ["title", "notes"])]
)
def test_typeddict_required_and_not_required_fields(target: Any, fields: list[str]) -> None:
    fmt: OutputFormat[Any] = OutputFormat(target)
    schema = fmt.response_format["json_schema"]["schema"]
    assert list(schema["properties"]) == fields
    assert schema["required"] == ["title"]
    assert fmt.read(answer({"title": "Alien"})).parsed == {"title": "Alien"}


# --- integers that JSON spells 3.0 ---------------------------------------------------------------


@dataclasses.dataclass
class Repeat:
    text: str
    times: int


def repeat(text: str, times: int) -> str:
    return text * times


def test_an_integral_float_reaches_an_int_parameter_as_an_int() -> None:
    made = tool(repeat)
    kwargs = made.arguments('{"text": "ab", "times": 3.0}')
    assert type(kwargs["times"]) is int
    assert made(**kwargs) == "ababab"


def test_an_integral_float_reaches_an_int_field_as_an_int() -> None:
    parsed = OutputFormat(Repeat).read(answer({"text": "ab", "times": 2.0})).parsed
    assert type(parsed.times) is int and parsed.text * parsed.times == "abab"
    nested = OutputFormat(List[Optional[int]]).read(answer([1.0, None])).parsed
    assert nested == [1, None] and type(nested[0]) is int


# --- sets -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: int
    y: int


@pytest.mark.parametrize("member", [Point, List[int], typing.Dict[str, int], Movie])
def test_unhashable_set_members_are_refused_before_sending(member: Any) -> None:
    def plot(points: Any) -> str:
        return ""

    plot.__annotations__ = {"points": Set[member], "return": str}  # real classes, not strings
    with pytest.raises(BabyAPIError) as info:
        tool(plot)
    assert info.value.code == "UNSUPPORTED_SCHEMA_TYPE"
    assert "hashable" in info.value.message and "plot(points)" in info.value.message
    with pytest.raises(BabyAPIError) as parse_info:
        OutputFormat(FrozenSet[member])
    assert parse_info.value.code == "UNSUPPORTED_SCHEMA_TYPE"


def test_hashable_set_members_are_built_into_sets() -> None:
    def plot(points: Set[FrozenPoint], tags: FrozenSet[str], anything: set) -> str:  # type: ignore[type-arg]
        return ""

    made = tool(plot)
    assert made.parameters["properties"]["anything"]["items"] == {
        "type": ["string", "number", "boolean", "null"]
    }
    kwargs = made.arguments(
        '{"points": [{"x": 1, "y": 2}, {"x": 1, "y": 2}], "tags": ["a"], "anything": [1, "1"]}'
    )
    assert kwargs == {
        "points": {FrozenPoint(1, 2)},
        "tags": frozenset({"a"}),
        "anything": {1, "1"},
    }
    with pytest.raises(ValueError, match="expected string or number or boolean or null"):
        made.arguments('{"points": [], "tags": [], "anything": [[1]]}')


# --- callable objects and partials ---------------------------------------------------------------


class Shout:
    """Shout a word."""

    def __call__(self, word: str, times: int = 1) -> str:
        """Say a word loudly.

        Args:
            word: What to say.
        """
        return (word.upper() + " ") * times


def greet(greeting: str, name: str, punctuation: str = "!") -> str:
    """Greet someone.

    Args:
        name: Who to greet.
    """
    return f"{greeting}, {name}{punctuation}"


def test_a_callable_object_is_a_tool_named_for_its_class() -> None:
    made = tool(Shout())
    assert made.name == "Shout"
    assert made.description == "Say a word loudly."
    assert made.parameters["properties"]["word"] == {
        "type": "string",
        "description": "What to say.",
    }
    assert made.parameters["required"] == ["word"]
    assert made(**made.arguments('{"word": "hi", "times": 2.0}')) == "HI HI "


def test_a_partial_is_a_tool_without_its_bound_arguments() -> None:
    made = tool(functools.partial(greet, "Hello", punctuation="?"))
    assert made.name == "greet"
    assert made.description == "Greet someone."
    assert made.parameters == {
        "type": "object",
        "properties": {"name": {"type": "string", "description": "Who to greet."}},
        "required": ["name"],
        "additionalProperties": False,
    }
    assert made(**made.arguments('{"name": "Ada"}')) == "Hello, Ada?"
    nested = tool(functools.partial(functools.partial(greet, greeting="Hi"), name="Bo"))
    assert nested.parameters["properties"] == {"punctuation": {"type": "string"}}
    assert nested(**nested.arguments("{}")) == "Hi, Bo!"


# --- one walker: what the schema admits, the conversion builds -----------------------------------


class Color(__import__("enum").Enum):
    RED = "red"
    ONE = 1


@dataclasses.dataclass(frozen=True)
class Pair:
    left: int
    right: Optional[str] = None


class Box(TypedDict):
    size: float
    label: NotRequired[Literal["a", "b"]]


HASHABLE: list[Any] = [int, float, str, bool, type(None), Color, Literal[1, "x"], Pair]
LEAVES: list[Any] = [*HASHABLE, Any, Box]


def _compound(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    hashable = st.sampled_from(HASHABLE)
    return st.one_of(
        inner.map(lambda t: List[t]),  # type: ignore[valid-type]
        inner.map(lambda t: Sequence[t]),  # type: ignore[valid-type]
        inner.map(lambda t: typing.Tuple[t, ...]),
        inner.map(lambda t: Mapping[str, t]),  # type: ignore[valid-type]
        inner.map(lambda t: typing.Annotated[t, "note"]),
        st.tuples(inner, inner).map(lambda ts: Union[ts[0], ts[1]]),
        hashable.map(lambda t: FrozenSet[t]),  # type: ignore[valid-type]
    )


TYPES = st.recursive(st.sampled_from(LEAVES), _compound, max_leaves=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), target=TYPES)
def test_whatever_fits_a_types_schema_converts_and_still_fits(
    data: st.DataObject, target: Any
) -> None:
    fmt: OutputFormat[Any] = OutputFormat(target)
    schema = fmt.response_format["json_schema"]["schema"]
    value = data.draw(instances(schema, wild=False), label="answer")
    assume(Draft202012Validator(schema).is_valid(value))  # the reference says it fits
    parsed = fmt.read(answer(value)).parsed  # never raises: the value fits, so it converts
    assert first_mismatch(to_jsonable(parsed), schema) is None
