"""Python types to JSON Schema, JSON checked against it, and JSON built back into the type."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Annotated, Any, Dict, List, Literal, Optional, Tuple, TypedDict, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st

from babyapi import BabyAPIError, InvalidArgumentTypeError
from babyapi._schema import first_mismatch, function_shape, schema_of, shape_of, to_jsonable


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class _AddressRequired(TypedDict):
    city: str


class Address(_AddressRequired, total=False):
    zip: Optional[str]


@dataclasses.dataclass
class Item:
    name: str
    price: float
    tags: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Order:
    id: int
    items: List[Item]
    address: Address
    color: Color
    status: Literal["open", "shipped"]
    note: Optional[str] = None


ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "price": {"type": "number"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "price"],
                "additionalProperties": False,
            },
        },
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "zip": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
        "color": {"type": "string", "enum": ["red", "blue"]},
        "status": {"type": "string", "enum": ["open", "shipped"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["id", "items", "address", "color", "status"],
    "additionalProperties": False,
}

GOOD_ORDER: dict[str, Any] = {
    "id": 7,
    "items": [{"name": "pen", "price": 1.5}, {"name": "ink", "price": 3, "tags": ["blue"]}],
    "address": {"city": "Paris"},
    "color": "blue",
    "status": "open",
}


def test_nested_dataclass_typeddict_enum_literal_optional_schema() -> None:
    assert schema_of(Order) == ORDER_SCHEMA


def test_the_same_type_gives_the_same_schema_text() -> None:
    assert json.dumps(schema_of(Order)) == json.dumps(schema_of(Order))


@pytest.mark.parametrize(
    ("tp", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (List[int], {"type": "array", "items": {"type": "integer"}}),
        (Tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
        (Dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Literal["a", 1], {"enum": ["a", 1]}),
        (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (Annotated[str, "a city"], {"type": "string", "description": "a city"}),
    ],
)
def test_scalar_and_generic_schemas(tp: Any, schema: dict[str, Any]) -> None:
    assert schema_of(tp) == schema


class Node(TypedDict):
    value: int
    children: List[Node]


@pytest.mark.parametrize(
    ("tp", "named"),
    [
        (complex, "complex"),
        (Dict[int, str], "Dict[int, str]"),
        (Tuple[int, str], "Tuple[int, str]"),
        (List[bytes], "bytes"),
        (Node, "Node"),
    ],
)
def test_unsupported_types_fail_naming_them(tp: Any, named: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        schema_of(tp)
    assert info.value.code == "UNSUPPORTED_SCHEMA_TYPE"
    assert isinstance(info.value, InvalidArgumentTypeError)  # refused before sending
    assert named in info.value.message


def test_an_unsupported_field_is_named_with_its_path() -> None:
    @dataclasses.dataclass
    class Bad:
        when: complex

    with pytest.raises(BabyAPIError, match=r"Bad\.when: the type <class 'complex'>"):
        schema_of(Bad)


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        ({"id": "7"}, "$.id", "expected integer, got string '7'"),
        ({"id": 1.5}, "$.id", "expected integer"),
        ({"id": True}, "$.id", "expected integer, got boolean"),
        ({"color": "green"}, "$.color", "expected one of 'red', 'blue'"),
        ({"status": None}, "$.status", "expected string, got null"),
        ({"address": {}}, "$.address.city", "required field is missing"),
        ({"address": {"city": "P", "zip": 75}}, "$.address.zip", "fits none"),
        ({"items": [{"name": "pen", "price": "1"}]}, "$.items[0].price", "expected number"),
        (
            {"items": [{"name": "pen", "price": 1, "tags": [3]}]},
            "$.items[0].tags[0]",
            "expected string",
        ),
        ({"extra": 1}, "$.extra", "unexpected field"),
        ({"items": "pen"}, "$.items", "expected array"),
    ],
)
def test_first_mismatch_names_the_path(change: dict[str, Any], path: str, problem: str) -> None:
    found = first_mismatch({**GOOD_ORDER, **change}, schema_of(Order))
    assert found is not None
    assert found.path == path
    assert problem in found.problem


def test_a_fitting_value_has_no_mismatch_and_builds_the_dataclass() -> None:
    assert first_mismatch(GOOD_ORDER, schema_of(Order)) is None
    order = shape_of(Order).convert(GOOD_ORDER)
    assert order == Order(
        id=7,
        items=[Item("pen", 1.5), Item("ink", 3.0, ["blue"])],
        address={"city": "Paris"},
        color=Color.BLUE,
        status="open",
    )
    assert isinstance(order.items[1].price, float)


def test_bounds_lengths_pattern_refs_and_const() -> None:
    schema = {
        "$defs": {"Code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": 5},
            "x": {"type": "number", "exclusiveMinimum": 0},
            "code": {"$ref": "#/$defs/Code"},
            "tags": {"type": "array", "minItems": 1, "maxItems": 2},
            "name": {"type": "string", "minLength": 2, "maxLength": 4},
            "kind": {"const": "fixed"},
        },
    }
    good = {"n": 3, "x": 0.5, "code": "ABC", "tags": ["a"], "name": "abc", "kind": "fixed"}
    assert first_mismatch(good, schema) is None
    for change, path in [
        ({"n": 0}, "$.n"),
        ({"n": 6}, "$.n"),
        ({"x": 0}, "$.x"),
        ({"code": "abc"}, "$.code"),
        ({"tags": []}, "$.tags"),
        ({"tags": [1, 2, 3]}, "$.tags"),
        ({"name": "a"}, "$.name"),
        ({"name": "abcde"}, "$.name"),
        ({"kind": "other"}, "$.kind"),
    ]:
        found = first_mismatch({**good, **change}, schema)
        assert found is not None and found.path == path, change


def test_a_self_referring_schema_is_checked_without_recursing_forever() -> None:
    schema = {"$ref": "#"}
    assert first_mismatch({"a": 1}, schema) is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(json_values)
def test_any_json_fits_the_empty_schema_and_checking_never_raises(value: Any) -> None:
    assert first_mismatch(value, {}) is None
    first_mismatch(value, schema_of(Order))  # a mismatch or None, never an exception


def weather(city: str, unit: Literal["c", "f"] = "c", days: int = 1) -> str:
    """Get the weather for a city.

    More words that are not the summary.

    Args:
        city: The city name,
            such as Paris.
        unit (str): Celsius or Fahrenheit.
    """
    return city


def numpy_style(x: int, y: float) -> float:
    """Add two numbers.

    Parameters
    ----------
    x : int
        The first number.
    y : float
        The second number.
    """
    return x + y


def sphinx_style(path: str) -> str:
    """Read a file.

    :param path: where the file is
    :returns: its text
    """
    return path


def test_function_schema_from_hints_and_google_docstring() -> None:
    shape = function_shape(weather)
    description, parameters = shape.description, shape.parameters
    assert description == "Get the weather for a city."
    assert parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city name, such as Paris."},
            "unit": {"type": "string", "enum": ["c", "f"], "description": "Celsius or Fahrenheit."},
            "days": {"type": "integer"},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    assert shape.convert({"city": "Paris", "days": 2.0}) == {"city": "Paris", "days": 2}


def test_function_schema_reads_numpy_and_sphinx_docstrings() -> None:
    shape = function_shape(numpy_style)
    description, parameters = shape.description, shape.parameters
    assert description == "Add two numbers."
    assert parameters["properties"]["x"]["description"] == "The first number."
    assert parameters["properties"]["y"]["description"] == "The second number."
    shape = function_shape(sphinx_style)
    description, parameters = shape.description, shape.parameters
    assert description == "Read a file."
    assert parameters["properties"]["path"]["description"] == "where the file is"


def test_function_without_hints_or_with_star_args_is_refused() -> None:
    def untyped(city):  # type: ignore[no-untyped-def]
        return city

    def star(*cities: str) -> None:
        return None

    for function, words in [(untyped, "'city' has no type hint"), (star, "'cities'")]:
        with pytest.raises(BabyAPIError) as info:
            function_shape(function)
        assert info.value.code == "INVALID_TOOL"
        assert words in info.value.message


def test_to_jsonable_turns_records_into_json() -> None:
    value = {"order": Item("pen", 1.5), "color": Color.RED, "pair": (1, 2), "other": object}
    dumped = to_jsonable(value)
    assert dumped["order"] == {"name": "pen", "price": 1.5, "tags": []}
    assert dumped["color"] == "red"
    assert dumped["pair"] == [1, 2]
    assert json.dumps(dumped)


def test_pydantic_models_give_their_own_schema_and_are_validated() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Person(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        name: str
        age: int

    schema = schema_of(Person)
    assert schema["required"] == ["name", "age"]
    assert first_mismatch({"name": "Ada", "age": "x"}, schema) is not None
    person = shape_of(Person).convert({"name": "Ada", "age": 36})
    assert isinstance(person, Person) and person.age == 36
    assert to_jsonable(person) == {"name": "Ada", "age": 36}


def test_pydantic_definitions_move_to_the_root_where_their_refs_point() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Stop(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        city: str

    class Route(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        stops: List[Stop]

    # Built with real classes, not the strings `from __future__ import annotations` leaves.
    trip = dataclasses.make_dataclass("Trip", [("route", Route), ("days", int)])

    def plan(route: Any, days: Any) -> str:
        return f"{days}"

    plan.__annotations__ = {"route": Route, "days": int, "return": str}

    for schema in (schema_of(trip), function_shape(plan).parameters):
        assert set(schema["$defs"]) == {"Stop"}
        good = {"route": {"stops": [{"city": "Rome"}]}, "days": 2}
        assert first_mismatch(good, schema) is None
        bad = first_mismatch({"route": {"stops": [{"town": "Rome"}]}, "days": 2}, schema)
        assert bad is not None and bad.path == "$.route.stops[0].city"
