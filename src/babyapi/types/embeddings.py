"""Embeddings: the request body and the response."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Sequence
from typing import Literal, Optional, TypedDict, Union

from babyapi.types.shared import Usage

__all__ = ["CreateEmbeddingResponse", "Embedding", "EmbeddingCreateParams"]


class Embedding(TypedDict):
    """One vector, as floats: a base64 answer (``encoding_format="base64"``) is decoded."""

    object: Literal["embedding"]
    index: int
    embedding: list[float]


class _ResponseRequired(TypedDict):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: Usage


class CreateEmbeddingResponse(_ResponseRequired, total=False):
    """The answer of POST /v1/embeddings; order `data` by `index`."""

    id: str
    created: int


class _CreateParamsRequired(TypedDict):
    model: str
    input: Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]]


class EmbeddingCreateParams(_CreateParamsRequired, total=False):
    """The JSON body of POST /v1/embeddings."""

    encoding_format: Literal["float", "base64"]
    """Servers may ignore "base64" and send floats anyway."""
    dimensions: int
    user: str
    truncate_prompt_tokens: Optional[int]
    """vLLM: keep only the last N tokens of each input."""
    add_special_tokens: bool
    priority: int
