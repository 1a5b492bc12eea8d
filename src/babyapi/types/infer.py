"""BabyAPI's POST /infer: text in, text out."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Mapping, Sequence
from typing import Any, Optional, TypedDict, Union

from babyapi.types.shared import Usage

__all__ = [
    "InferInput",
    "InferOptions",
    "InferRequestBody",
    "InferResponse",
    "InferSamplingOptions",
]


class InferSamplingOptions(TypedDict, total=False):
    """Options in snake_case or camelCase; `None` values are dropped."""

    max_tokens: Optional[int]
    maxTokens: Optional[int]
    temperature: Optional[float]
    top_p: Optional[float]
    topP: Optional[float]
    top_k: Optional[int]
    topK: Optional[int]
    stop: Union[str, Sequence[str], None]
    presence_penalty: Optional[float]
    presencePenalty: Optional[float]
    frequency_penalty: Optional[float]
    frequencyPenalty: Optional[float]


class InferOptions(InferSamplingOptions, total=False):
    """The mapping form of `baby.infer` input; the prompt is the first of prompt/input/text."""

    prompt: Optional[str]
    input: Optional[str]
    text: Optional[str]
    model: Optional[str]
    options: InferSamplingOptions
    """Nested options; they win over the top-level ones."""


# Mapping[str, Any] keeps any mapping valid, as at runtime; annotate a dict as
# InferOptions to have its keys checked.
InferInput = Union[str, InferOptions, Mapping[str, Any]]


class _RequestBodyRequired(TypedDict):
    model: str
    prompt: str


class InferRequestBody(_RequestBodyRequired, total=False):
    """The JSON body sent to POST /infer: snake_case only, no `None` values."""

    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    stop: Union[str, list[str]]
    presence_penalty: float
    frequency_penalty: float


class _ResponseRequired(TypedDict):
    output: str


class InferResponse(_ResponseRequired, total=False):
    """The answer of POST /infer."""

    usage: Usage
    model: str
    id: str
