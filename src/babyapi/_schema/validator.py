"""Checking a JSON value against a JSON Schema (Draft 2020-12, the subset in ``KEYWORDS``).

Hand-written so that ``import babyapi`` stays light; tests/unit/test_validator_differential.py
proves its verdicts equal the ``jsonschema`` library's on generated schemas and values.
Schemas with keywords outside the subset are refused before sending (``subset.check_schema``),
so a verdict here is never a guess.
"""

from __future__ import annotations

import math
import re
import typing
from fractions import Fraction
from typing import Any, Mapping, Optional, Union, cast
from urllib.parse import unquote

from babyapi._schema.values import is_number, json_equal, json_type

__all__ = ["APPLICATORS", "CHECKED", "Mismatch", "first_mismatch", "resolve"]

Schema = dict[str, Any]
#: Keywords whose subschemas apply to the same value (a loop through them alone never ends).
APPLICATORS = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")
#: The keywords this module checks; together with annotations they make the supported subset.
CHECKED = frozenset(
    {
        *APPLICATORS,
        "$ref",
        "type",
        "enum",
        "const",
        "multipleOf",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "prefixItems",
        "items",
        "contains",
        "minContains",
        "maxContains",
        "minProperties",
        "maxProperties",
        "required",
        "dependentRequired",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
    }
)
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


class Mismatch(typing.NamedTuple):
    """Where a value first breaks its schema, and how."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def first_mismatch(
    value: object, schema: Union[Mapping[str, Any], bool], *, root: Optional[Schema] = None
) -> Optional[Mismatch]:
    """The first place where ``value`` breaks ``schema``, or None when it fits.

    ``$ref``s resolve against ``root`` (default: ``schema`` itself). Annotations such as
    title, description, default or format are not checked, as in Draft 2020-12.
    """
    document = root if root is not None else (dict(schema) if isinstance(schema, Mapping) else {})
    try:
        return _Checker(document).check(value, schema, "$", frozenset())
    except RecursionError:  # a value nested hundreds deep: say so rather than crash
        return Mismatch("$", "the value nests too deeply to check")


def resolve(ref: str, root: Schema) -> Optional[object]:
    """The subschema a local ``$ref`` ("#" or "#/json/pointer") names, or None."""
    if ref in ("#", ""):
        return root
    if not ref.startswith("#/"):
        return None
    node: object = root
    for raw in ref[2:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = cast("dict[str, object]", node).get(part, _MISSING)
        elif isinstance(node, list) and part.isdigit():
            items = cast("list[object]", node)
            node = items[int(part)] if int(part) < len(items) else _MISSING
        else:
            return None
        if node is _MISSING:
            return None
    return node


_MISSING = object()


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _has_type(value: object, kind: object) -> bool:
    actual = json_type(value)
    if kind == "number":
        return actual in ("integer", "number")
    if kind == "integer" and actual == "number":
        return cast(float, value).is_integer()
    return actual == kind


class _Checker:
    """One check of one value against a document whose ``$ref``s it resolves."""

    def __init__(self, root: Schema) -> None:
        self.root = root

    def check(
        self, value: object, given: object, path: str, refs: frozenset[str]
    ) -> Optional[Mismatch]:
        """``refs``: the references followed at this value without descending into it."""
        if given is False:
            return Mismatch(path, "no value is allowed here")
        if not isinstance(given, dict):
            return None
        schema = cast(Schema, given)
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in refs:
                return Mismatch(path, f"the schema's {ref!r} refers to itself without end")
            found = self.check(value, resolve(ref, self.root), path, refs | {ref})
            if found:
                return found
        found = (
            _check_kind(value, schema, path)
            or _check_choice(value, schema, path)
            or _check_number(value, schema, path)
            or _check_string(value, schema, path)
            or self._applicators(value, schema, path, refs)
        )
        if found:
            return found
        if isinstance(value, dict):
            return self._object(cast("dict[str, Any]", value), schema, path)
        if isinstance(value, list):
            return self._array(cast("list[object]", value), schema, path)
        return None

    def fits(self, value: object, schema: object, path: str, refs: frozenset[str]) -> bool:
        return self.check(value, schema, path, refs) is None

    def _applicators(
        self, value: object, schema: Schema, path: str, refs: frozenset[str]
    ) -> Optional[Mismatch]:
        for arm in _schemas(schema.get("allOf")):
            found = self.check(value, arm, path, refs)
            if found:
                return found
        any_of = _schemas(schema.get("anyOf"))
        if any_of:
            results = [self.check(value, arm, path, refs) for arm in any_of]
            if all(results):
                return _closest(cast("list[Mismatch]", results), path)
        found = self._one_of(value, _schemas(schema.get("oneOf")), path, refs)
        if found:
            return found
        if "not" in schema and self.fits(value, schema["not"], path, refs):
            return Mismatch(path, f"{_short(value)} fits a shape the schema excludes (not)")
        if "if" in schema:
            branch = "then" if self.fits(value, schema["if"], path, refs) else "else"
            found = self.check(value, schema.get(branch, True), path, refs)
            if found:
                return found
        if isinstance(value, dict):
            fields = cast("dict[str, object]", value)
            for key, sub in _entries(schema.get("dependentSchemas")):
                if key in fields:
                    found = self.check(fields, sub, path, refs)
                    if found:
                        return found
        return None

    def _one_of(
        self, value: object, arms: list[object], path: str, refs: frozenset[str]
    ) -> Optional[Mismatch]:
        if not arms:
            return None
        results = [self.check(value, arm, path, refs) for arm in arms]
        fitting = [i for i, r in enumerate(results) if r is None]
        if not fitting:
            return _closest(cast("list[Mismatch]", results), path)
        if len(fitting) > 1:
            return Mismatch(
                path, f"fits more than one oneOf shape (numbers {fitting[0]} and {fitting[1]})"
            )
        return None

    def _object(self, value: dict[str, Any], schema: Schema, path: str) -> Optional[Mismatch]:
        properties = dict(_entries(schema.get("properties")))
        required = [r for r in _list(schema.get("required")) if isinstance(r, str)]
        # Fields in the schema's order, so the first offending field is the first one a reader sees.
        for key, sub in properties.items():
            if key in value:
                found = self.check(value[key], sub, f"{path}.{key}", frozenset())
                if found:
                    return found
            elif key in required:
                return Mismatch(f"{path}.{key}", "required field is missing")
        for name in required:
            if name not in value:
                return Mismatch(f"{path}.{name}", "required field is missing")
        for key, names in _entries(schema.get("dependentRequired")):
            missing = [n for n in _list(names) if key in value and n not in value]
            if missing:
                return Mismatch(f"{path}.{missing[0]}", f"required when {key!r} is present")
        return self._each_field(value, schema, properties, path) or _check_size(
            len(value), schema, "Properties", path
        )

    def _each_field(
        self, value: dict[str, Any], schema: Schema, properties: Schema, path: str
    ) -> Optional[Mismatch]:
        patterns = list(_entries(schema.get("patternProperties")))
        extra: object = schema.get("additionalProperties", True)
        names: object = schema.get("propertyNames", True)
        for key, item in value.items():
            where = f"{path}.{key}"
            if names is not True and not self.fits(key, names, where, frozenset()):
                return Mismatch(where, f"the field name {key!r} does not fit propertyNames")
            matched = [sub for pattern, sub in patterns if _search(pattern, key)]
            for sub in matched:
                found = self.check(item, sub, where, frozenset())
                if found:
                    return found
            if key in properties or matched:
                continue
            if extra is False:
                return Mismatch(where, "unexpected field (the schema allows no others)")
            found = self.check(item, extra, where, frozenset())
            if found:
                return found
        return None

    def _array(self, value: list[object], schema: Schema, path: str) -> Optional[Mismatch]:
        prefix = _schemas(schema.get("prefixItems"))
        items: object = schema.get("items", True)
        for index, item in enumerate(value):
            sub = prefix[index] if index < len(prefix) else items
            found = self.check(item, sub, f"{path}[{index}]", frozenset())
            if found:
                return found
        if schema.get("uniqueItems") is True:
            for later, item in enumerate(value):
                if any(json_equal(item, value[earlier]) for earlier in range(later)):
                    return Mismatch(f"{path}[{later}]", "repeats an earlier item (uniqueItems)")
        return self._contains(value, schema, path) or _check_size(len(value), schema, "Items", path)

    def _contains(self, value: list[object], schema: Schema, path: str) -> Optional[Mismatch]:
        if "contains" not in schema:
            return None
        wanted = schema["contains"]
        count = sum(self.fits(item, wanted, path, frozenset()) for item in value)
        low, high = _bound(schema.get("minContains", 1)), _bound(schema.get("maxContains"))
        if low is not None and count < low:
            return Mismatch(path, f"has {count} items that fit contains, fewer than {low}")
        if high is not None and count > high:
            return Mismatch(path, f"has {count} items that fit contains, more than {high}")
        return None


def _schemas(value: object) -> list[object]:
    return cast("list[object]", value) if isinstance(value, list) else []


def _list(value: object) -> list[object]:
    return cast("list[object]", value) if isinstance(value, list) else []


def _entries(value: object) -> list[tuple[str, object]]:
    return list(cast("dict[str, object]", value).items()) if isinstance(value, dict) else []


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:  # refused by check_schema before sending; a bare check treats it as no match
        return False


def _closest(results: list[Mismatch], path: str) -> Mismatch:
    # The arm whose failure lies deepest is the one the value most nearly fits.
    deepest = max(results, key=lambda m: len(m.path))
    if deepest.path != path:
        return deepest
    return Mismatch(
        path, "fits none of the allowed shapes: " + "; ".join(m.problem for m in results)
    )


def _check_kind(value: object, schema: Schema, path: str) -> Optional[Mismatch]:
    kind = schema.get("type")
    kinds: list[object] = [kind] if isinstance(kind, str) else _list(kind)
    if "type" in schema and not any(_has_type(value, k) for k in kinds):
        wanted = " or ".join(str(k) for k in kinds)
        return Mismatch(path, f"expected {wanted}, got {json_type(value)} {_short(value)}")
    return None


def _check_choice(value: object, schema: Schema, path: str) -> Optional[Mismatch]:
    if "const" in schema and not json_equal(value, schema["const"]):
        return Mismatch(path, f"expected {_short(schema['const'])}, got {_short(value)}")
    given: object = schema.get("enum")
    options = _list(given)
    if isinstance(given, list) and not any(json_equal(value, o) for o in options):
        allowed = ", ".join(_short(o) for o in options)
        return Mismatch(path, f"expected one of {allowed}, got {_short(value)}")
    return None


def _check_number(value: object, schema: Schema, path: str) -> Optional[Mismatch]:
    if not is_number(value):
        return None
    number = cast(float, value)
    for key in _BOUNDS:
        bound = schema.get(key)
        if is_number(bound) and not _within(number, key, cast(float, bound)):
            return Mismatch(path, f"{number!r} breaks {key} {bound!r}")
    step = schema.get("multipleOf")
    if is_number(step) and step and not _is_multiple(number, cast(float, step)):
        return Mismatch(path, f"{number!r} is not a multiple of {step!r}")
    return None


def _within(value: float, key: str, bound: float) -> bool:
    if key == "minimum":
        return value >= bound
    if key == "maximum":
        return value <= bound
    return value > bound if key == "exclusiveMinimum" else value < bound


def _is_multiple(value: float, step: float) -> bool:
    # jsonschema's rule, so both give the same verdict on floats: a float step divides in
    # floating point, exactly only when that overflows; an int step takes the remainder.
    try:
        if isinstance(step, float):
            quotient = value / step
            return int(quotient) == quotient
        return not value % step
    except (OverflowError, ValueError):  # an infinite quotient, or a value too big for a float
        if not (isinstance(value, int) or math.isfinite(value)):
            return False
        return (Fraction(value) / Fraction(step)).denominator == 1


def _check_string(value: object, schema: Schema, path: str) -> Optional[Mismatch]:
    if not isinstance(value, str):
        return None
    found = _check_size(len(value), schema, "Length", path)
    if found:
        return found
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _search(pattern, value):
        return Mismatch(path, f"{_short(value)} does not match pattern {pattern!r}")
    return None


def _check_size(size: int, schema: Schema, unit: str, path: str) -> Optional[Mismatch]:
    low, high = _bound(schema.get(f"min{unit}")), _bound(schema.get(f"max{unit}"))
    if low is not None and size < low:
        return Mismatch(path, f"has {size}, fewer than min{unit} {low}")
    if high is not None and size > high:
        return Mismatch(path, f"has {size}, more than max{unit} {high}")
    return None


def _bound(value: object) -> Optional[float]:
    return cast(float, value) if is_number(value) else None
