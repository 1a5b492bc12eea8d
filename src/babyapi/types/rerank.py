"""Rerank: the request body and the response."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Sequence
from typing import Any, Optional, TypedDict

__all__ = [
    "RerankCreateParams",
    "RerankDocument",
    "RerankResponse",
    "RerankResult",
    "RerankUsage",
]


class RerankDocument(TypedDict):
    """A document echoed back with its result."""

    text: str


class _ResultRequired(TypedDict):
    index: int
    relevance_score: float


class RerankResult(_ResultRequired, total=False):
    """One document's score; `index` points into the request's `documents`."""

    document: RerankDocument
    """Present when `return_documents` is true (and always on vLLM)."""


class RerankUsage(TypedDict, total=False):
    """Token counts; vLLM sends only `total_tokens`."""

    prompt_tokens: int
    total_tokens: int


class _ResponseRequired(TypedDict):
    results: list[RerankResult]


class RerankResponse(_ResponseRequired, total=False):
    """The answer of POST /v1/rerank; results are sorted by score, not by index."""

    id: str
    model: str
    object: str
    usage: RerankUsage
    meta: dict[str, Any]
    """Cohere-style metadata (LiteLLM)."""


class _CreateParamsRequired(TypedDict):
    model: str
    query: str
    documents: Sequence[str]


class RerankCreateParams(_CreateParamsRequired, total=False):
    """The JSON body of POST /v1/rerank."""

    top_n: Optional[int]
    return_documents: Optional[bool]
    truncate_prompt_tokens: Optional[int]
    """vLLM: keep only the last N tokens of each query-document pair."""
    priority: int
