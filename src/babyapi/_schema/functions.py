"""Callables as tools: their parameters as a JSON Schema object, and the model's arguments typed.

Functions, methods, callable objects (``__call__``) and ``functools.partial`` all work; a
partial's bound arguments are not the model's to send, so they leave the schema.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi._schema.docstrings import docstring_parts
from babyapi._schema.forms import Adapter, Described, Schema, Walker, read_hints

__all__ = ["FunctionShape", "callable_name", "function_shape"]


class FunctionShape:
    """A callable's name, description and parameter schema, and how its arguments are typed."""

    __slots__ = ("adapters", "description", "name", "parameters")

    def __init__(
        self, name: str, description: str, parameters: Schema, adapters: dict[str, Adapter]
    ) -> None:
        self.name = name
        self.description = description
        #: The parameters as a JSON Schema object, ready to send.
        self.parameters = parameters
        self.adapters = adapters

    def convert(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments from JSON that fits ``parameters``: ints, dataclasses, sets..."""
        return {k: self.adapters[k].convert(v) for k, v in arguments.items() if k in self.adapters}


def _parts(function: Callable[..., Any]) -> tuple[Any, str, str, frozenset[str]]:
    """What holds the hints, the name, the docstring, and the names a partial binds."""
    bound: set[str] = set()
    target: Any = function
    while isinstance(target, functools.partial):
        bound.update(target.keywords)
        target = target.func
    plain = inspect.isfunction(target) or inspect.ismethod(target) or isinstance(target, type)
    if not plain and callable(target):  # a callable object: its __call__ has the hints
        kind = type(target)
        doc = str(kind.__call__.__doc__ or kind.__doc__ or "")
        return kind.__call__, str(kind.__name__), doc, frozenset(bound)
    name = str(getattr(target, "__name__", "") or repr(target))
    return target, name, target.__doc__ or "", frozenset(bound)


def callable_name(function: Callable[..., Any]) -> str:
    """The name a tool takes by default: the function's, or a callable object's class name."""
    return _parts(function)[1]


def function_shape(function: Callable[..., Any]) -> FunctionShape:
    """The shape of ``function`` as a tool; a parameter the model cannot send is refused."""
    holder, name, doc, bound = _parts(function)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentTypeError(
            f"{name}: its signature cannot be read, so it cannot be a tool; use a plain function.",
            code="INVALID_TOOL",
            cause=exc,
        ) from exc
    hints = read_hints(holder, name)
    summary, notes = docstring_parts(doc)
    walker = Walker()
    adapters: dict[str, Adapter] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        if param.name in bound and param.kind is param.KEYWORD_ONLY:
            continue
        _refuse_unnamed(name, param, hints)
        adapter = walker.adapt(hints[param.name], f"{name}({param.name})")
        if notes.get(param.name) and "description" not in adapter.schema:
            adapter = Described(adapter, notes[param.name])
        adapters[param.name] = adapter
        if param.default is param.empty:
            required.append(param.name)
    parameters: Schema = {
        "type": "object",
        "properties": {k: a.schema for k, a in adapters.items()},
        "required": required,
        "additionalProperties": False,
    }
    return FunctionShape(name, summary, walker.rooted(parameters), adapters)


def _refuse_unnamed(name: str, param: inspect.Parameter, hints: dict[str, Any]) -> None:
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
