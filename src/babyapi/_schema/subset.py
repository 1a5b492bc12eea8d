"""Which JSON Schemas babyapi can check: the subset, and the refusal of everything outside it.

A schema is checked here before it is sent (``parse()``, ``tool(parameters=...)``), so an
answer is never judged by a schema the validator would have to guess about.
"""

from __future__ import annotations

import re
from typing import Any, Optional, cast

from babyapi._errors import InvalidArgumentError
from babyapi._schema.validator import APPLICATORS, CHECKED, resolve

__all__ = ["INVALID", "UNSUPPORTED", "check_schema"]

UNSUPPORTED = "UNSUPPORTED_SCHEMA"
INVALID = "INVALID_SCHEMA"
# Keywords that carry no verdict: annotations, and places that hold definitions.
_QUIET = frozenset(
    {
        "$schema",
        "$id",
        "$anchor",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "discriminator",
    }
)
# Validation keywords outside the subset, with what to write instead.
_REFUSED = {
    "unevaluatedProperties": "use additionalProperties",
    "unevaluatedItems": "use items",
    "$dynamicRef": "use $ref to a definition under $defs",
    "$dynamicAnchor": "use $ref to a definition under $defs",
    "$recursiveRef": "use $ref to a definition under $defs",
    "$recursiveAnchor": "use $ref to a definition under $defs",
    "additionalItems": "a draft-07 keyword: use prefixItems for the first items and items for the rest",
    "dependencies": "a draft-07 keyword: use dependentRequired or dependentSchemas",
}
_TYPES = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_ONE_SCHEMA = (
    "not",
    "if",
    "then",
    "else",
    "items",
    "contains",
    "additionalProperties",
    "propertyNames",
)
_COUNTS = (
    "minLength", "maxLength", "minItems", "maxItems", "minContains", "maxContains",
    "minProperties", "maxProperties",
)  # fmt: skip


def check_schema(schema: object, where: str = "the schema") -> None:
    """Refuse (``InvalidArgumentError``) a schema outside the subset babyapi checks, naming where."""
    if not isinstance(schema, dict):
        raise _error(where, f"a JSON Schema is an object, got {type(schema).__name__}", INVALID)
    root = cast("dict[str, Any]", schema)
    reader = _Reader(root, where)
    reader.read(root, "#")
    _refuse_loops(root, reader.nodes, where)


class _Reader:
    def __init__(self, root: dict[str, Any], where: str) -> None:
        self.root = root
        self.where = where
        self.nodes: list[object] = []  # every subschema read, for the loop check

    def fail(self, at: str, problem: str, code: str = INVALID) -> InvalidArgumentError:
        return _error(self.where, f"at {at}: {problem}", code)

    def read(self, node: object, at: str) -> None:
        if isinstance(node, bool):
            return
        if not isinstance(node, dict):
            raise self.fail(at, f"a subschema must be an object or a boolean, got {node!r:.60}")
        schema = cast("dict[str, Any]", node)
        self.nodes.append(schema)
        for key, value in schema.items():
            if key in _REFUSED:
                raise self.fail(at, f"babyapi cannot check {key!r} ({_REFUSED[key]})", UNSUPPORTED)
            if key == "$id" and at != "#":
                raise self.fail(
                    at, "a nested $id changes where $refs point; keep $id at the root", UNSUPPORTED
                )
            if key in CHECKED or key in ("$defs", "definitions"):
                self._keyword(key, value, f"{at}/{key}")
            elif key not in _QUIET and _looks_like_schema_keyword(key):
                raise self.fail(
                    at, f"{key!r} is not a JSON Schema keyword babyapi knows", UNSUPPORTED
                )

    def _keyword(self, key: str, value: Any, at: str) -> None:
        if key in _SCHEMA_LISTS:
            if not isinstance(value, list) or not value:
                raise self.fail(at, f"{key} must be a non-empty list of schemas")
            for index, sub in enumerate(cast("list[object]", value)):
                self.read(sub, f"{at}/{index}")
        elif key in _SCHEMA_MAPS:
            for name, sub in self._mapping(value, at).items():
                if key == "patternProperties":
                    self._pattern(name, at)
                self.read(sub, f"{at}/{name}")
        elif key in _ONE_SCHEMA:
            if key == "items" and isinstance(value, list):
                raise self.fail(
                    at, "items as a list is draft-07's form: use prefixItems", UNSUPPORTED
                )
            self.read(value, at)
        else:
            self._value(key, value, at)

    def _mapping(self, value: object, at: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(at, f"must be an object, got {value!r:.60}")
        return cast("dict[str, object]", value)

    def _pattern(self, pattern: object, at: str) -> None:
        try:
            re.compile(cast(str, pattern))
        except (re.error, TypeError) as exc:
            raise self.fail(
                at, f"the pattern {pattern!r} is not a regular expression ({exc})"
            ) from exc

    def _value(self, key: str, value: Any, at: str) -> None:
        problem = _bad_value(key, value)
        if key == "pattern" and not problem:
            self._pattern(value, at)
        if key == "$ref" and not problem and resolve(value, self.root) is None:
            problem = "only local references (#/$defs/Name) that exist can be checked"
            raise self.fail(at, f"{value!r}: {problem}", UNSUPPORTED)
        if key == "dependentRequired" and not problem:
            for names in self._mapping(value, at).values():
                if not _is_string_list(names):
                    problem = "each entry must be a list of property names"
        if problem:
            raise self.fail(at, problem)


def _bad_value(key: str, value: Any) -> Optional[str]:
    """What is wrong with a value-keyword's value, or None."""
    if key == "type":
        kinds: list[object] = cast("list[object]", value) if isinstance(value, list) else [value]
        bad = [k for k in kinds if k not in _TYPES]
        return (
            f"{bad[0]!r} is not a JSON type ({', '.join(sorted(_TYPES))})"
            if bad or not kinds
            else None
        )
    if key == "enum":
        return None if isinstance(value, list) else "enum must be a list"
    if key in ("required",):
        return None if _is_string_list(value) else "required must be a list of property names"
    if key in _COUNTS:
        ok = _is_number(value) and value >= 0 and float(value).is_integer()
        return None if ok else f"{key} must be a whole number >= 0"
    if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return None if _is_number(value) else f"{key} must be a number"
    if key == "multipleOf":
        return None if _is_number(value) and value > 0 else "multipleOf must be a number > 0"
    if key == "uniqueItems":
        return None if isinstance(value, bool) else "uniqueItems must be true or false"
    if key in ("pattern", "$ref"):
        return None if isinstance(value, str) else f"{key} must be a string"
    if key == "dependentRequired":
        return None if isinstance(value, dict) else "dependentRequired must be an object"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in cast("list[object]", value))


def _looks_like_schema_keyword(key: str) -> bool:
    # Unknown words are annotations in 2020-12 and pass; a "$..." word is a core keyword we lack.
    return key.startswith("$")


def _refuse_loops(root: dict[str, Any], nodes: list[object], where: str) -> None:
    """Refuse $refs that reach themselves without descending into the value: no value ends them."""
    done: set[int] = set()

    def in_place(node: object) -> list[object]:
        if not isinstance(node, dict):
            return []
        schema = cast("dict[str, Any]", node)
        found: list[object] = []
        if isinstance(schema.get("$ref"), str):
            found.append(resolve(schema["$ref"], root))
        for key in APPLICATORS:
            value = schema.get(key)
            if isinstance(value, list):
                found.extend(cast("list[object]", value))
            elif key == "dependentSchemas" and isinstance(value, dict):
                found.extend(cast("dict[str, object]", value).values())
            elif key in schema and key != "dependentSchemas":
                found.append(value)
        return found

    def visit(node: object, trail: list[int]) -> None:
        if id(node) in trail:
            raise _error(
                where,
                "a $ref reaches itself without descending into the value, so no value can "
                "ever be checked against it",
                INVALID,
            )
        if id(node) in done:
            return
        for child in in_place(node):
            visit(child, [*trail, id(node)])
        done.add(id(node))

    for node in nodes:
        visit(node, [])


def _error(where: str, problem: str, code: str) -> InvalidArgumentError:
    hint = (
        "babyapi checks answers against the schema and refuses what it cannot check; "
        "see docs/structured.md for the keywords it supports."
    )
    return InvalidArgumentError(f"{where}: {problem}. {hint}", code=code)
