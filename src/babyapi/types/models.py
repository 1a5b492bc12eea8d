"""Model list: the answer of GET /v1/models."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from typing import Any, Literal, Optional, TypedDict

__all__ = ["Model", "ModelList"]


class _ModelRequired(TypedDict):
    id: str
    object: Literal["model"]


class Model(_ModelRequired, total=False):
    """A model the server offers; vLLM adds `root`, `parent`, `max_model_len`."""

    created: int
    owned_by: str
    root: Optional[str]
    parent: Optional[str]
    max_model_len: Optional[int]
    permission: list[dict[str, Any]]
    meta: Optional[dict[str, Any]]
    """llama-server: vocabulary and context sizes."""


class ModelList(TypedDict):
    """The answer of GET /v1/models."""

    object: Literal["list"]
    data: list[Model]
