"""The answer check behind parse() and tool arguments: no false verdicts, no guessing.

Through ``OutputFormat`` (what ``parse()`` sends and reads back) and ``tool(parameters=...)``,
so each test is what a user of those sees.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from babyapi import BabyAPIError, InvalidArgumentError, StructuredOutputError
from babyapi.structured import OutputFormat
from babyapi.tools import tool


def answer(value: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": json.dumps(value)}
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


def parsed(schema: dict[str, Any], value: Any) -> Any:
    fmt: OutputFormat[Any] = OutputFormat(schema)
    return fmt.read(answer(value)).parsed


def mismatch(schema: dict[str, Any], value: Any) -> StructuredOutputError:
    with pytest.raises(StructuredOutputError) as info:
        parsed(schema, value)
    assert info.value.code == "OUTPUT_SCHEMA_MISMATCH"
    return info.value


LABELS = {
    "type": "object",
    "properties": {"id": {"type": "integer"}},
    "patternProperties": {"^x-": {"type": "string"}},
    "additionalProperties": False,
}


def test_pattern_properties_are_declared_fields_when_no_others_are_allowed() -> None:
    assert parsed(LABELS, {"id": 1, "x-team": "core"}) == {"id": 1, "x-team": "core"}
    assert mismatch(LABELS, {"id": 1, "x-team": 2}).path == "$.x-team"
    assert mismatch(LABELS, {"id": 1, "team": "core"}).path == "$.team"


TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "replies": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["text"],
        }
    },
    "$ref": "#/$defs/node",
}


def thread(depth: int, leaf: Any = "end") -> Any:
    node: Any = {"text": leaf}
    for _ in range(depth):
        node = {"text": "re", "replies": [node]}
    return node


@pytest.mark.parametrize("depth", [22, 65, 150])
def test_a_recursive_schema_checks_values_nested_deep(depth: int) -> None:
    assert parsed(TREE, thread(depth)) == thread(depth)
    path = mismatch(TREE, thread(depth, leaf=5)).path
    assert path == "$" + ".replies[0]" * depth + ".text"


def test_one_of_refuses_a_value_that_fits_two_shapes() -> None:
    schema = {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}
    assert parsed(schema, -3) == -3
    assert parsed(schema, 2.5) == 2.5
    assert "more than one oneOf shape" in mismatch(schema, 3).args[0]


@pytest.mark.parametrize(
    ("schema", "code", "words"),
    [
        (
            {"type": "object", "unevaluatedProperties": False},
            "UNSUPPORTED_SCHEMA",
            "unevaluatedProperties",
        ),
        ({"type": "array", "items": [{"type": "string"}]}, "UNSUPPORTED_SCHEMA", "prefixItems"),
        ({"type": "array", "additionalItems": False}, "UNSUPPORTED_SCHEMA", "draft-07"),
        (
            {"$ref": "https://example.com/schema.json"},
            "UNSUPPORTED_SCHEMA",
            "only local references",
        ),
        ({"$ref": "#/$defs/Missing"}, "UNSUPPORTED_SCHEMA", "only local references"),
        ({"$dynamicRef": "#node"}, "UNSUPPORTED_SCHEMA", "$dynamicRef"),
        ({"type": "strng"}, "INVALID_SCHEMA", "'strng' is not a JSON type"),
        ({"type": "string", "pattern": "(unclosed"}, "INVALID_SCHEMA", "not a regular expression"),
        ({"type": "string", "minLength": -1}, "INVALID_SCHEMA", "minLength"),
        (
            {
                "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
                "$ref": "#/$defs/a",
            },
            "INVALID_SCHEMA",
            "reaches itself",
        ),
        ({"$ref": "#"}, "INVALID_SCHEMA", "reaches itself"),
    ],
)
def test_a_schema_the_validator_cannot_check_is_refused_before_sending(
    schema: dict[str, Any], code: str, words: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        OutputFormat(schema)
    assert info.value.code == code and words in info.value.message
    assert "response_format" in info.value.message
    with pytest.raises(BabyAPIError) as tool_info:
        tool(lambda **kw: "", name="t", parameters=schema)
    assert tool_info.value.code == code and "tool 't' parameters" in tool_info.value.message


def test_annotations_and_unknown_words_are_not_refused() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "T",
        "type": "string",
        "format": "email",
        "x-vendor": True,
        "examples": ["a@b.c"],
    }
    assert parsed(schema, "not an email") == "not an email"  # format is an annotation


def test_the_rest_of_the_subset_is_checked() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "uniqueItems": True,
                "contains": {"const": "x"},
                "maxContains": 1,
            },
            "step": {"type": "number", "multipleOf": 0.5},
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "string"}],
                "items": {"type": "integer"},
            },
        },
        "propertyNames": {"maxLength": 4},
        "dependentRequired": {"step": ["tags"]},
        "if": {"required": ["pair"]},
        "then": {"minProperties": 2},
    }
    good = {"tags": ["x", "y"], "step": 1.5, "pair": ["a", 1, 2]}
    assert parsed(schema, good) == good
    for bad, path in [
        ({**good, "tags": ["x", "x"]}, "$.tags"),
        ({**good, "tags": [1, 1.0, "x"]}, "$.tags[1]"),
        ({**good, "tags": ["y"]}, "$.tags"),
        ({**good, "step": 1.2}, "$.step"),
        ({**good, "pair": ["a", "b"]}, "$.pair[1]"),
        ({**good, "longer": 1}, "$.longer"),
        ({"step": 1}, "$.tags"),
        ({"pair": []}, "$"),
    ]:
        assert mismatch(schema, bad).path.startswith(path), bad


def test_true_and_one_are_different_inside_arrays_too() -> None:
    schema = {"enum": [[1], {"a": [0]}]}
    assert parsed(schema, [1.0]) == [1.0]
    mismatch(schema, [True])
    mismatch(schema, {"a": [False]})
