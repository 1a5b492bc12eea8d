"""Python types and JSON Schema: the schema to send, the check of the answer, the typed value.

Used by ``structured`` (``parse()``) and ``tools`` (functions as tools); the core never
imports it. The entry points, all re-exported here:

``shape_of(tp) -> Shape``
    A type's JSON Schema (``shape.schema``, ready to send) and ``shape.convert(value)``,
    which turns JSON that fits it into the type. One walker (``forms.Walker``) makes both,
    with one adapter per type form, so schema and conversion never disagree.
``function_shape(fn) -> FunctionShape``
    A callable as a tool: ``.name``, ``.description`` (from the docstring), ``.parameters``
    (a JSON Schema object) and ``.convert(arguments)`` for the keyword arguments to call with;
    ``callable_name(fn)`` is the name alone.
``check_schema(schema, where)``
    Refuses, before sending, a JSON Schema outside the subset the validator checks
    (``InvalidArgumentError``, codes ``UNSUPPORTED_SCHEMA`` / ``INVALID_SCHEMA``).
``first_mismatch(value, schema) -> Mismatch | None``
    Where a JSON value first breaks a schema (Draft 2020-12 verdicts on the subset).
``loads(text)``, ``as_object(value)``, ``to_jsonable(value)``
    Untrusted JSON text read safely, a value read as an object, a Python value made JSON.

Modules: ``forms`` (the walker and its adapters), ``functions`` (callables as tools),
``docstrings``, ``validator``, ``subset`` (what the validator can check), ``values``
(JSON values: kinds, equality, conversion to JSON).
"""

from __future__ import annotations

import json
from typing import Any

from babyapi._schema.forms import UNSUPPORTED, Schema, Shape, shape_of
from babyapi._schema.functions import FunctionShape, callable_name, function_shape
from babyapi._schema.subset import check_schema
from babyapi._schema.validator import Mismatch, first_mismatch
from babyapi._schema.values import as_object, is_pydantic_model, to_jsonable

__all__ = [
    "UNSUPPORTED",
    "FunctionShape",
    "Mismatch",
    "Schema",
    "Shape",
    "as_object",
    "callable_name",
    "check_schema",
    "first_mismatch",
    "function_shape",
    "is_pydantic_model",
    "loads",
    "schema_of",
    "shape_of",
    "to_jsonable",
]


def schema_of(tp: object) -> Schema:
    """The JSON Schema for a Python type; an unsupported type raises, naming where it sits."""
    return shape_of(tp).schema


def loads(text: str) -> Any:
    """``json.loads`` whose every failure is a ``ValueError``: text nested too deeply for the
    parser raises ``RecursionError`` there, which no caller of untrusted text expects."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("the JSON nests too deeply to read") from exc
