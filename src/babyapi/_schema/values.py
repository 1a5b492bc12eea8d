"""JSON values as JSON Schema sees them: their kind, their equality, and Python values made JSON."""

from __future__ import annotations

import dataclasses
import enum
import sys
from typing import Any, Mapping, Sequence, cast

__all__ = ["as_object", "is_pydantic_model", "json_equal", "json_type", "to_jsonable"]


def as_object(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: for reading untrusted answers."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def is_pydantic_model(tp: object) -> bool:
    """True for a pydantic BaseModel class; never imports pydantic itself."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def json_type(value: object) -> str:
    """The JSON Schema type name of a decoded JSON value (a Python type's name for others)."""
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


def is_number(value: object) -> bool:
    """An int or float that is not a bool: what JSON Schema calls a number."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_equal(a: object, b: object) -> bool:
    """JSON Schema equality: true is not 1, 1 equals 1.0, and arrays and objects compare deeply."""
    if isinstance(a, list) and isinstance(b, list):
        left, right = cast("list[object]", a), cast("list[object]", b)
        return len(left) == len(right) and all(json_equal(x, y) for x, y in zip(left, right))
    if isinstance(a, dict) and isinstance(b, dict):
        first, second = cast("dict[str, object]", a), cast("dict[str, object]", b)
        return first.keys() == second.keys() and all(
            json_equal(v, second[k]) for k, v in first.items()
        )
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    return isinstance(a, bool) == isinstance(b, bool) and a == b


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
