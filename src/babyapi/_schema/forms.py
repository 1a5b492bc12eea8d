"""One adapter per Python type form: each owns the form's JSON Schema and how JSON becomes it.

``shape_of(tp)`` walks a type once and returns a ``Shape``: the schema to send and the
conversion of an answer that fits it. Generating the schema and converting the answer go
through the same adapter, so the two can never disagree about a form.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import enum
import sys
import types
import typing
from typing import Any, Callable, Optional, Union, cast

from babyapi._errors import InvalidArgumentTypeError
from babyapi._schema.validator import first_mismatch
from babyapi._schema.values import is_pydantic_model, json_equal, json_type

__all__ = [
    "UNSUPPORTED",
    "Adapter",
    "Described",
    "Schema",
    "Shape",
    "Walker",
    "read_hints",
    "shape_of",
]

Schema = dict[str, Any]
UNSUPPORTED = "UNSUPPORTED_SCHEMA_TYPE"
SUPPORTED = (
    "str, int, float, bool, None, Any, list[X], Sequence[X], tuple[X, ...], set[X], frozenset[X], "
    "dict[str, X], Mapping[str, X], Literal[...], an Enum, Optional/Union, Annotated, a TypedDict, "
    "a dataclass or a pydantic model"
)
_NONE_TYPE = type(None)
_UNIONS: tuple[object, ...] = (Union, getattr(types, "UnionType", Union))  # X | Y on 3.10+
_LISTS: tuple[object, ...] = (list, abc.Sequence, abc.MutableSequence)
_SETS: tuple[object, ...] = (set, frozenset, abc.Set, abc.MutableSet)
_MAPPINGS: tuple[object, ...] = (dict, abc.Mapping, abc.MutableMapping)
# Any JSON scalar: what a set[Any] can hold (arrays and objects are not hashable).
_SCALAR_TYPES = ["string", "number", "boolean", "null"]


class Adapter:
    """A type form's JSON Schema, and how a JSON value that fits it becomes the Python value."""

    __slots__ = ("hashable", "schema")

    def __init__(self, schema: Schema, *, hashable: bool = True) -> None:
        self.schema = schema
        #: Whether converted values can be set members.
        self.hashable = hashable

    def convert(self, value: Any) -> Any:
        """The Python value of ``value``, which already fits ``self.schema``."""
        return value


class _Integer(Adapter):
    def convert(self, value: Any) -> Any:
        # JSON Schema's integer includes 3.0; an int field still gets an int.
        return int(value) if isinstance(value, float) else value


class _Real(Adapter):
    def convert(self, value: Any) -> Any:
        return float(value) if isinstance(value, int) else value


class _Choice(Adapter):
    """An Enum or a Literal: the member whose JSON value the answer equals."""

    __slots__ = ("members",)

    def __init__(self, schema: Schema, members: list[tuple[object, object]]) -> None:
        super().__init__(schema)
        self.members = members

    def convert(self, value: Any) -> Any:
        return next((member for wire, member in self.members if json_equal(value, wire)), value)


class Described(Adapter):
    """``Annotated[X, "text"]``: X's schema with a description."""

    __slots__ = ("inner",)

    def __init__(self, inner: Adapter, description: str) -> None:
        super().__init__({**inner.schema, "description": description}, hashable=inner.hashable)
        self.inner = inner

    def convert(self, value: Any) -> Any:
        return self.inner.convert(value)


class _Either(Adapter):
    """A Union: the first arm the value fits converts it."""

    __slots__ = ("arms", "defs")

    def __init__(self, arms: list[Adapter], defs: Schema) -> None:
        super().__init__(
            {"anyOf": [a.schema for a in arms]}, hashable=all(a.hashable for a in arms)
        )
        self.arms = arms
        self.defs = defs  # the walk's $defs, where a pydantic arm's refs point

    def convert(self, value: Any) -> Any:
        root = {"$defs": self.defs}
        for arm in self.arms:
            if first_mismatch(value, arm.schema, root=root) is None:
                return arm.convert(value)
        return value


class _Items(Adapter):
    """list, Sequence, tuple[X, ...], set, frozenset: a JSON array."""

    __slots__ = ("item", "make")

    def __init__(self, item: Adapter, make: Callable[[Any], Any], *, hashable: bool) -> None:
        super().__init__({"type": "array", "items": item.schema}, hashable=hashable)
        self.item = item
        self.make = make

    def convert(self, value: Any) -> Any:
        return self.make(self.item.convert(v) for v in value)


class _Entries(Adapter):
    """dict[str, X], Mapping[str, X]: a JSON object of X values."""

    __slots__ = ("values",)

    def __init__(self, values: Adapter) -> None:
        super().__init__({"type": "object", "additionalProperties": values.schema}, hashable=False)
        self.values = values

    def convert(self, value: Any) -> Any:
        return {k: self.values.convert(v) for k, v in value.items()}


class _Fields(Adapter):
    """A TypedDict or a dataclass: a JSON object with a property per field."""

    __slots__ = ("fields", "make")

    def __init__(
        self,
        fields: dict[str, Adapter],
        required: list[str],
        make: Callable[..., Any],
        *,
        hashable: bool,
    ) -> None:
        schema: Schema = {
            "type": "object",
            "properties": {name: field.schema for name, field in fields.items()},
            "required": required,
            "additionalProperties": False,
        }
        super().__init__(schema, hashable=hashable)
        self.fields = fields
        self.make = make

    def convert(self, value: Any) -> Any:
        fields = self.fields
        return self.make(**{k: fields[k].convert(v) for k, v in value.items() if k in fields})


class _Pydantic(Adapter):
    __slots__ = ("model",)

    def __init__(self, model: type, schema: Schema) -> None:
        super().__init__(schema, hashable=getattr(model, "__hash__", None) is not None)
        self.model: Any = model

    def convert(self, value: Any) -> Any:
        return self.model.model_validate(value)


def _name(tp: object) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def read_hints(target: object, name: str) -> dict[str, Any]:
    """``target``'s type hints, ``Annotated`` kept; an unreadable hint is refused, naming it."""
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception as exc:  # a forward reference that cannot be resolved, a bad annotation
        raise InvalidArgumentTypeError(
            f"the type hints of {name} cannot be read ({type(exc).__name__}: {exc}); "
            "define the types they name at module level.",
            code=UNSUPPORTED,
            cause=exc,
        ) from exc


def _unsupported(tp: object, where: str, why: str = "") -> InvalidArgumentTypeError:
    reason = f" ({why})" if why else ""
    return InvalidArgumentTypeError(
        f"{where}: the type {tp!r} cannot be expressed as JSON Schema{reason}; use {SUPPORTED}.",
        code=UNSUPPORTED,
    )


def _qualifier(tp: object) -> Optional[str]:
    """'Required', 'NotRequired' or 'ReadOnly' for a TypedDict field wrapper, from typing or
    typing_extensions (compared by identity, so a look-alike of another name never matches)."""
    origin = typing.get_origin(tp)
    for module in (typing, sys.modules.get("typing_extensions")):
        for name in ("Required", "NotRequired", "ReadOnly"):
            if origin is not None and origin is getattr(module, name, None):
                return name
    return None


class Walker:
    """Walks types into adapters; remembers the records being walked, to refuse recursive ones."""

    def __init__(self) -> None:
        self._open: list[object] = []
        # Definitions of embedded pydantic models: their "#/$defs/..." refs point at the root.
        self.defs: Schema = {}

    def rooted(self, schema: Schema) -> Schema:
        """``schema`` with the collected definitions attached, ready to send."""
        if not self.defs:
            return schema
        return {**schema, "$defs": {**schema.get("$defs", {}), **self.defs}}

    def adapt(self, tp: object, where: str) -> Adapter:
        """The adapter of ``tp``; an unsupported form raises, naming ``where`` it sits."""
        if tp is Any or tp is object:
            return Adapter({}, hashable=False)
        if tp is None or tp is _NONE_TYPE:
            return Adapter({"type": "null"})
        if tp is str:
            return Adapter({"type": "string"})
        if tp is bool:
            return Adapter({"type": "boolean"})
        if tp is int:
            return _Integer({"type": "integer"})
        if tp is float:
            return _Real({"type": "number"})
        origin = typing.get_origin(tp)
        if origin is not None:
            return self._generic(tp, origin, typing.get_args(tp), where)
        if isinstance(tp, type):
            return self._class(tp, where)
        raise _unsupported(tp, where)

    def _class(self, cls: type, where: str) -> Adapter:
        if is_pydantic_model(cls) or _is_typeddict(cls) or dataclasses.is_dataclass(cls):
            return self._record(cls, where)
        if issubclass(cls, enum.Enum):
            return _choice([(m.value, m) for m in cls], cls, where)
        if cls in (list, tuple, set, frozenset, dict):
            return self._generic(cls, cls, (), where)
        raise _unsupported(cast(object, cls), where)

    def _generic(self, tp: object, origin: object, args: tuple[Any, ...], where: str) -> Adapter:
        if origin is typing.Annotated:
            inner = self.adapt(args[0], where)
            notes = [a for a in args[1:] if isinstance(a, str)]
            return Described(inner, " ".join(notes)) if notes else inner
        if origin is typing.Literal:
            return _choice(
                [(a.value if isinstance(a, enum.Enum) else a, a) for a in args], tp, where
            )
        if origin in _UNIONS:
            return _Either([self.adapt(arg, where) for arg in args], self.defs)
        if origin is tuple:
            if args and (len(args) != 2 or args[1] is not Ellipsis):
                raise _unsupported(tp, where, "use tuple[X, ...] or list[X]")
            item = self.adapt(args[0] if args else Any, f"{where}[]")
            return _Items(item, tuple, hashable=item.hashable)
        if origin in _LISTS:
            return _Items(self.adapt(args[0] if args else Any, f"{where}[]"), list, hashable=False)
        if origin in _SETS:
            return self._set(tp, origin, args, where)
        if origin in _MAPPINGS:
            if args and args[0] is not str:
                raise _unsupported(tp, where, "JSON object keys are strings: use dict[str, ...]")
            return _Entries(self.adapt(args[1] if args else Any, f"{where}{{}}"))
        raise _unsupported(tp, where)

    def _set(self, tp: object, origin: object, args: tuple[Any, ...], where: str) -> Adapter:
        member = args[0] if args else Any
        if member is Any or member is object:
            item = Adapter({"type": _SCALAR_TYPES})  # only scalars can be set members
        else:
            item = self.adapt(member, f"{where}[]")
        if not item.hashable:
            raise _unsupported(
                tp, where, f"set members must be hashable and {member!r} is not: use list[...]"
            )
        frozen = origin is frozenset
        return _Items(item, frozenset if frozen else set, hashable=frozen)

    def _record(self, cls: type, where: str) -> Adapter:
        if cls in self._open:
            raise _unsupported(cls, where, "recursive types cannot be written without references")
        self._open.append(cls)
        try:
            if is_pydantic_model(cls):
                schema = cast("Schema", cast(Any, cls).model_json_schema())
                self.defs.update(schema.pop("$defs", {}))
                return _Pydantic(cls, schema)
            if _is_typeddict(cls):
                return self._typeddict(cls, where)
            return self._dataclass(cls, where)
        finally:
            self._open.pop()

    def _typeddict(self, cls: type, where: str) -> Adapter:
        required_keys: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
        fields: dict[str, Adapter] = {}
        required: list[str] = []
        for key, hint in read_hints(cls, _name(cls)).items():
            wanted = key in required_keys
            while _qualifier(hint) is not None:  # NotRequired[...] and friends wrap the type
                wanted = {"Required": True, "NotRequired": False}.get(
                    _qualifier(hint) or "", wanted
                )
                hint = typing.get_args(hint)[0]
            fields[key] = self.adapt(hint, f"{where}.{key}")
            required.extend([key] if wanted else [])
        return _Fields(fields, required, dict, hashable=False)

    def _dataclass(self, cls: type, where: str) -> Adapter:
        hints = read_hints(cls, _name(cls))
        init = [f for f in dataclasses.fields(cls) if f.init]
        fields = {f.name: self.adapt(hints[f.name], f"{where}.{f.name}") for f in init}
        required = [
            f.name
            for f in init
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        hashable = getattr(cls, "__hash__", None) is not None and all(
            f.hashable for f in fields.values()
        )
        return _Fields(fields, required, cls, hashable=hashable)


def _is_typeddict(tp: type) -> bool:
    return issubclass(tp, dict) and hasattr(cast(object, tp), "__total__")


def _choice(members: list[tuple[object, object]], tp: object, where: str) -> Adapter:
    values = [wire for wire, _ in members]
    for value in values:
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise _unsupported(tp, where, f"its value {value!r} is not a JSON scalar")
    kinds = {json_type(v) for v in values}
    schema: Schema = {"enum": values}
    if len(kinds) == 1:
        schema = {"type": kinds.pop(), **schema}
    return _Choice(schema, members)


class Shape:
    """A type's JSON Schema, ready to send, and the conversion of answers that fit it."""

    __slots__ = ("adapter", "schema")

    def __init__(self, adapter: Adapter, schema: Schema) -> None:
        self.adapter = adapter
        self.schema = schema

    def convert(self, value: Any) -> Any:
        """``value`` (JSON that fits ``schema``) as the type: dataclasses, enums, sets, ints."""
        return self.adapter.convert(value)


def shape_of(tp: object) -> Shape:
    """The shape of a Python type; an unsupported type raises, naming where it sits."""
    walker = Walker()
    adapter = walker.adapt(tp, _name(tp))
    return Shape(adapter, walker.rooted(adapter.schema))
