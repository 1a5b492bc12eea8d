"""Public names whose modules load on first access (PEP 562), to keep ``import babyapi`` light."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

__all__ = ["names_on_first_use"]


def names_on_first_use(
    namespace: dict[str, Any], modules: Mapping[str, str]
) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``name`` is read from ``modules[name]`` when first asked for.

    The value is then stored in ``namespace`` (the package's globals), so the next access is a
    plain lookup. Type checkers see the names through ``TYPE_CHECKING`` imports instead.
    """

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
