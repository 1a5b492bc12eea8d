"""Python types to JSON Schema, JSON checked against a schema, and JSON turned back into the type.

Used by ``structured`` (parse) and ``tools`` (functions as tools); the core never imports it.
The same type always gives the same schema: properties follow declaration order.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import math
import re
import sys
import typing
from typing import Any, Callable, Mapping, Optional, Sequence, Union, cast

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "Mismatch",
    "as_object",
    "build",
    "first_mismatch",
    "function_schema",
    "is_pydantic_model",
    "schema_of",
    "to_jsonable",
]

Schema = dict[str, Any]
UNSUPPORTED = "UNSUPPORTED_SCHEMA_TYPE"
_SUPPORTED = (
    "str, int, float, bool, None, Any, list[...], tuple[X, ...], set[...], dict[str, ...], "
    "Literal[...], an Enum, Optional/Union, a TypedDict, a dataclass or a pydantic model"
)
_SCALARS: dict[type, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}
_NONE_TYPE = type(None)
_ARRAYS = (list, set, frozenset, Sequence, typing.MutableSequence, typing.AbstractSet)


def _union_types() -> tuple[object, ...]:
    union_type = getattr(__import__("types"), "UnionType", None)  # X | Y, Python >= 3.10
    return (Union,) if union_type is None else (Union, union_type)


_UNIONS = _union_types()


def _name(tp: object) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def as_object(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: for reading untrusted answers."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def is_pydantic_model(tp: object) -> bool:
    """True for a pydantic BaseModel class; never imports pydantic itself."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _is_typeddict(tp: object) -> bool:
    return hasattr(tp, "__total__") and isinstance(tp, type) and issubclass(tp, dict)


def _as_class(tp: object) -> Optional[type]:
    return tp if isinstance(tp, type) else None


def _is_record(tp: object) -> bool:
    """A class whose fields become an object's properties."""
    return _is_typeddict(tp) or dataclasses.is_dataclass(tp) or is_pydantic_model(tp)


def _hints(tp: object) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp, include_extras=True)
    except Exception as exc:  # a forward reference that cannot be resolved, a bad annotation
        raise InvalidArgumentTypeError(
            f"the type hints of {_name(tp)} cannot be read ({type(exc).__name__}: {exc}); "
            "define the types they name at module level.",
            code=UNSUPPORTED,
            cause=exc,
        ) from exc


class _Builder:
    """Walks a type once; remembers the classes being built to refuse recursive ones."""

    def __init__(self) -> None:
        self._open: list[object] = []
        # Definitions of embedded pydantic models: their "#/$defs/..." refs point at the root.
        self.defs: Schema = {}

    def rooted(self, schema: Schema) -> Schema:
        """The schema with the collected definitions attached, ready to send."""
        return (
            {**schema, "$defs": {**schema.get("$defs", {}), **self.defs}} if self.defs else schema
        )

    def build(self, tp: object, where: str) -> Schema:
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is _NONE_TYPE:
            return {"type": "null"}
        if isinstance(tp, type) and tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        origin = typing.get_origin(tp)
        if origin is not None:
            return self._generic(tp, origin, typing.get_args(tp), where)
        cls = _as_class(tp)
        if cls is not None:
            if _is_record(cls):
                return self._record(cls, where)
            if issubclass(cls, enum.Enum):
                return _enum_schema([m.value for m in cls], cls, where)
            if cls in (list, tuple, set, frozenset):
                return {"type": "array", "items": {}}
            if cls is dict:
                return {"type": "object"}
        raise _unsupported(tp, where)

    def _generic(self, tp: object, origin: object, args: tuple[Any, ...], where: str) -> Schema:
        if origin is typing.Annotated:
            schema = self.build(args[0], where)
            notes = [a for a in args[1:] if isinstance(a, str)]
            return {**schema, "description": " ".join(notes)} if notes else schema
        if origin is typing.Literal:
            return _enum_schema(list(args), tp, where)
        if origin in _UNIONS:
            arms = [self.build(arg, where) for arg in args]
            return {"anyOf": arms}
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.build(args[0], f"{where}[]")}
            raise _unsupported(tp, where, "use tuple[X, ...] or list[X]")
        if any(origin is kind for kind in _ARRAYS):
            return {"type": "array", "items": self.build(args[0], f"{where}[]") if args else {}}
        if any(origin is kind for kind in (dict, Mapping, typing.MutableMapping)):
            if args and args[0] is not str:
                raise _unsupported(tp, where, "JSON object keys are strings: use dict[str, ...]")
            values = self.build(args[1], f"{where}{{}}") if args else {}
            return {"type": "object", "additionalProperties": values}
        raise _unsupported(tp, where)

    def _record(self, tp: type, where: str) -> Schema:
        if tp in self._open:
            raise _unsupported(tp, where, "recursive types cannot be written without references")
        self._open.append(tp)
        try:
            if is_pydantic_model(tp):
                schema = cast("Schema", cast(Any, tp).model_json_schema())
                self.defs.update(schema.pop("$defs", {}))
                return schema
            hints = _hints(tp)
            if _is_typeddict(tp):
                required = [k for k in hints if k in cast(Any, tp).__required_keys__]
                fields = list(hints)
            else:
                fields = [f.name for f in dataclasses.fields(tp) if f.init]
                required = [
                    f.name
                    for f in dataclasses.fields(tp)
                    if f.init
                    and f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING
                ]
            properties = {k: self.build(hints[k], f"{where}.{k}") for k in fields}
            return {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        finally:
            self._open.pop()


def _enum_schema(values: list[Any], tp: object, where: str) -> Schema:
    for value in values:
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise _unsupported(tp, where, f"its value {value!r} is not a JSON scalar")
    kinds = {_json_type(v) for v in values}
    schema: Schema = {"enum": values}
    if len(kinds) == 1:
        schema = {"type": kinds.pop(), **schema}
    return schema


def _unsupported(tp: object, where: str, why: str = "") -> InvalidArgumentTypeError:
    reason = f" ({why})" if why else ""
    return InvalidArgumentTypeError(
        f"{where}: the type {tp!r} cannot be expressed as JSON Schema{reason}; use {_SUPPORTED}.",
        code=UNSUPPORTED,
    )


def schema_of(tp: object) -> Schema:
    """The JSON Schema for a Python type; an unsupported type raises, naming where it sits."""
    builder = _Builder()
    return builder.rooted(builder.build(tp, _name(tp)))


# --- functions as tools --------------------------------------------------------------------------

_SECTION_RE = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Returns?|Raises|Yields|Examples?|Notes?)\s*:?$"
)
_PARAM_SECTIONS = ("args", "arguments", "parameters", "params", "keyword args")
# Google ``name (type): text`` and NumPy ``name : type`` lines open a parameter's note.
_GOOGLE_PARAM_RE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_PARAM_RE = re.compile(r"^(\w+)\s+:\s*[^:]*$")
_SPHINX_PARAM_RE = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def _docstring_parts(doc: str) -> tuple[str, dict[str, str]]:
    """The summary and per-parameter notes of a Google, NumPy or Sphinx style docstring."""
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    notes: dict[str, str] = {}
    section: Optional[str] = None
    base: Optional[int] = None
    current: Optional[str] = None
    for index, line in enumerate(lines):
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        heading = _SECTION_RE.match(text)
        underlined = index + 1 < len(lines) and set(lines[index + 1].strip()) == {"-"}
        if (heading or underlined) and text and indent == 0:
            section, base, current = (heading.group(1) if heading else text).lower(), None, None
            continue
        if not text or set(text) == {"-"}:
            summary.extend([""] if section is None else [])
            continue
        sphinx = _SPHINX_PARAM_RE.match(text)
        if sphinx or text.startswith(":"):
            section, current = "sphinx", sphinx.group(1) if sphinx else None
            if current:
                notes[current] = sphinx.group(2).strip() if sphinx else ""
            continue
        if section is None:
            summary.append(line)
            continue
        if section == "sphinx" or section in _PARAM_SECTIONS:
            base = indent if base is None else base
            numpy = _NUMPY_PARAM_RE.match(text)
            google = None if numpy else _GOOGLE_PARAM_RE.match(text)
            if section != "sphinx" and indent <= base and (numpy or google):
                current = str(cast("re.Match[str]", numpy or google).group(1))
                notes[current] = google.group(2).strip() if google else ""
            elif current:
                notes[current] = f"{notes[current]} {text}".strip()
    first = "\n".join(summary).strip().split("\n\n")[0]
    return " ".join(first.split()), notes


def function_schema(function: Callable[..., Any]) -> tuple[str, Schema, dict[str, Any]]:
    """A function's description, its parameters as a JSON Schema object, and their hints."""
    name = getattr(function, "__name__", repr(function))
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentTypeError(
            f"{name}: its signature cannot be read, so it cannot be a tool; use a plain function.",
            code="INVALID_TOOL",
            cause=exc,
        ) from exc
    hints = _hints(function)
    summary, notes = _docstring_parts(function.__doc__ or "")
    properties: Schema = {}
    required: list[str] = []
    kinds: dict[str, Any] = {}
    builder = _Builder()
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise InvalidArgumentError(
                f"{name}: parameter {param.name!r} is {param.kind.description}; a tool takes its "
                "arguments by name, so give every parameter a name and a type hint.",
                code="INVALID_TOOL",
            )
        if param.name not in hints:
            raise InvalidArgumentError(
                f"{name}: parameter {param.name!r} has no type hint; the model needs one to know "
                f"what to send (e.g. `{param.name}: str`).",
                code="INVALID_TOOL",
            )
        schema = builder.build(hints[param.name], f"{name}({param.name})")
        if notes.get(param.name) and "description" not in schema:
            schema = {**schema, "description": notes[param.name]}
        properties[param.name] = schema
        kinds[param.name] = hints[param.name]
        if param.default is param.empty:
            required.append(param.name)
    parameters: Schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return summary, builder.rooted(parameters), kinds


# --- checking JSON against a schema -----------------------------------------------------------


class Mismatch(typing.NamedTuple):
    """Where a value first breaks its schema, and how."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _has_type(value: object, kind: str) -> bool:
    actual = _json_type(value)
    if kind == "number":
        return actual in ("integer", "number")
    if kind == "integer" and actual == "number":
        return math.isfinite(cast(float, value)) and cast(float, value).is_integer()
    return actual == kind


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(ref: str, root: Schema) -> Schema:
    if not ref.startswith("#"):
        return {}
    node: Optional[Schema] = root
    for part in ref.lstrip("#").strip("/").split("/") if ref.strip("#/") else []:
        child = node.get(part.replace("~1", "/").replace("~0", "~")) if node is not None else None
        node = cast(Schema, child) if isinstance(child, dict) else None
    return node or {}


def first_mismatch(value: object, schema: Mapping[str, Any]) -> Optional[Mismatch]:
    """The first place where ``value`` breaks ``schema``, or None when it fits.

    Checks the keywords that shape data (type, enum, const, properties, required,
    additionalProperties, items, anyOf/oneOf/allOf, $ref, bounds, lengths, pattern);
    annotations such as title, description or format are not checked.
    """
    root = dict(schema)
    return _check(value, root, root, "$", 0)


def _check(value: object, given: object, root: Schema, path: str, depth: int) -> Optional[Mismatch]:
    if depth > 64:
        return Mismatch(path, "the schema nests or refers to itself too deeply to check")
    if not isinstance(given, dict):
        return None if given is not False else Mismatch(path, "no value is allowed here")
    schema = cast(Schema, given)
    ref = schema.get("$ref")
    if isinstance(ref, str):
        found = _check(value, _resolve(ref, root), root, path, depth + 1)
        if found:
            return found
    for check in (_check_kind, _check_choice, _check_bounds):
        found = check(value, schema, path)
        if found:
            return found
    for keyword in ("anyOf", "oneOf"):
        arms = schema.get(keyword)
        if isinstance(arms, list) and arms:
            results = [
                _check(value, arm, root, path, depth + 1) for arm in cast("list[object]", arms)
            ]
            if all(results):
                return _closest(cast("list[Mismatch]", results), path)
    for arm in schema.get("allOf") or ():
        found = _check(value, arm, root, path, depth + 1)
        if found:
            return found
    if isinstance(value, dict):
        return _check_object(cast("dict[str, Any]", value), schema, root, path, depth)
    if isinstance(value, list):
        return _check_array(cast("list[object]", value), schema, root, path, depth)
    return None


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
    kinds: list[Any] = [kind] if isinstance(kind, str) else cast("list[Any]", kind or [])
    if kinds and not any(_has_type(value, str(k)) for k in kinds):
        wanted = " or ".join(str(k) for k in kinds)
        return Mismatch(path, f"expected {wanted}, got {_json_type(value)} {_short(value)}")
    return None


def _check_choice(value: object, schema: Schema, path: str) -> Optional[Mismatch]:
    if "const" in schema and not _same(value, schema["const"]):
        return Mismatch(path, f"expected {_short(schema['const'])}, got {_short(value)}")
    options: object = schema.get("enum")
    if isinstance(options, list) and not any(
        _same(value, o) for o in cast("list[object]", options)
    ):
        allowed = ", ".join(_short(o) for o in cast("list[object]", options))
        return Mismatch(path, f"expected one of {allowed}, got {_short(value)}")
    return None


def _same(a: object, b: object) -> bool:
    # JSON Schema equality: true is not 1, and 1 equals 1.0.
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _check_bounds(value: object, schema: Schema, path: str) -> Optional[Mismatch]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            bound = schema.get(key)
            if _is_number(bound) and not _within(value, key, cast(float, bound)):
                return Mismatch(path, f"{value!r} breaks {key} {bound!r}")
    sized: Optional[tuple[int, str]] = None
    if isinstance(value, str):
        sized = (len(value), "Length")
    elif isinstance(value, list):
        sized = (len(cast("list[object]", value)), "Items")
    elif isinstance(value, dict):
        sized = (len(cast("dict[str, Any]", value)), "Properties")
    if sized is not None:
        size, unit = sized
        low, high = schema.get(f"min{unit}"), schema.get(f"max{unit}")
        if isinstance(low, int) and size < low:
            return Mismatch(path, f"has {size}, fewer than min{unit} {low}")
        if isinstance(high, int) and size > high:
            return Mismatch(path, f"has {size}, more than max{unit} {high}")
    pattern = schema.get("pattern")
    if isinstance(value, str) and isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # a pattern Python cannot read is the server's to judge
        if not matched:
            return Mismatch(path, f"{_short(value)} does not match pattern {pattern!r}")
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _within(value: float, key: str, bound: float) -> bool:
    if key == "minimum":
        return value >= bound
    if key == "maximum":
        return value <= bound
    return value > bound if key == "exclusiveMinimum" else value < bound


def _check_object(
    value: dict[str, Any], schema: Schema, root: Schema, path: str, depth: int
) -> Optional[Mismatch]:
    properties = schema.get("properties")
    properties = cast(Schema, properties) if isinstance(properties, dict) else {}
    required: list[object] = cast("list[object]", schema.get("required") or [])
    # Fields in the schema's order, so the first offending field is the first one a reader sees.
    for key, sub in properties.items():
        if key in value:
            found = _check(value[key], sub, root, f"{path}.{key}", depth + 1)
            if found:
                return found
        elif key in required:
            return Mismatch(f"{path}.{key}", "required field is missing")
    for name in required:
        if isinstance(name, str) and name not in value and name not in properties:
            return Mismatch(f"{path}.{name}", "required field is missing")
    extra: object = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            continue
        if extra is False:
            return Mismatch(f"{path}.{key}", "unexpected field (the schema allows no others)")
        if extra is not True:
            found = _check(item, extra, root, f"{path}.{key}", depth + 1)
            if found:
                return found
    return None


def _check_array(
    value: list[object], schema: Schema, root: Schema, path: str, depth: int
) -> Optional[Mismatch]:
    prefix = schema.get("prefixItems")
    prefix = cast("list[Schema]", prefix) if isinstance(prefix, list) else []
    items = schema.get("items")
    for index, item in enumerate(value):
        item_schema = prefix[index] if index < len(prefix) else items
        if isinstance(item_schema, (dict, bool)):
            found = _check(item, cast(Schema, item_schema), root, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


# --- JSON back into the Python type ---------------------------------------------------------------


def build(value: Any, tp: object) -> Any:
    """Turn JSON that fits ``schema_of(tp)`` into ``tp``: dataclasses, enums, tuples and sets."""
    if tp is Any or tp is object or value is None:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return build(value, args[0])
    if origin in _UNIONS:
        for arm in args:
            if arm is not _NONE_TYPE and first_mismatch(value, schema_of(arm)) is None:
                return build(value, arm)
        return value
    if isinstance(value, list):
        items = cast("list[object]", value)
        item_type = args[0] if args else Any
        built = [build(v, item_type) for v in items]
        if origin is tuple or tp is tuple:
            return tuple(built)
        if origin in (set, typing.AbstractSet) or tp is set:
            return set(built)
        if origin is frozenset or tp is frozenset:
            return frozenset(built)
        return built
    if isinstance(value, dict):
        fields = cast("dict[str, Any]", value)
        if origin in (dict, Mapping, typing.MutableMapping) and len(args) == 2:
            return {k: build(v, args[1]) for k, v in fields.items()}
        if isinstance(tp, type):
            if is_pydantic_model(tp):
                return cast(Any, tp).model_validate(fields)
            if _is_typeddict(tp) or dataclasses.is_dataclass(tp):
                hints = _hints(tp)
                record = {k: build(v, hints.get(k, Any)) for k, v in fields.items()}
                return record if _is_typeddict(tp) else cast(Any, tp)(**record)
        return fields
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def to_jsonable(value: Any) -> Any:
    """A tool's return value as JSON data: dataclasses, pydantic models, enums, tuples, sets."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if is_pydantic_model(type(cast(object, value))):
        return cast(Any, value).model_dump(mode="json")
    if isinstance(value, Mapping):
        items = cast("Mapping[object, object]", value)
        return {str(k): to_jsonable(v) for k, v in items.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in cast("Sequence[Any]", value)]
    return str(value)
