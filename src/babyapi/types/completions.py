"""Text completions: the request body, responses and stream chunks."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Sequence
from typing import Any, Literal, Optional, TypedDict, Union

from babyapi.types.shared import ResponseFormat, SamplingParams, Usage, VLLMSamplingParams

__all__ = [
    "Completion",
    "CompletionChoice",
    "CompletionChunk",
    "CompletionChunkChoice",
    "CompletionCreateParams",
    "CompletionLogprobs",
]


class CompletionLogprobs(TypedDict, total=False):
    """Log probabilities of a text completion's tokens."""

    text_offset: list[int]
    token_logprobs: list[Optional[float]]
    tokens: list[str]
    top_logprobs: Optional[list[Optional[dict[str, float]]]]


class _ChoiceRequired(TypedDict):
    index: int
    text: str
    finish_reason: Optional[str]


class CompletionChoice(_ChoiceRequired, total=False):
    """One choice; `finish_reason` is "stop", "length", ... or null."""

    logprobs: Optional[CompletionLogprobs]
    stop_reason: Union[int, str, None]
    """vLLM: the stop string or token id that ended the choice."""
    prompt_logprobs: Optional[list[Any]]
    token_ids: Optional[list[int]]
    prompt_token_ids: Optional[list[int]]


class _CompletionRequired(TypedDict):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[CompletionChoice]


class Completion(_CompletionRequired, total=False):
    """A text completion (POST /v1/completions); `id` may start with "chatcmpl-"."""

    usage: Usage
    system_fingerprint: Optional[str]
    timings: dict[str, float]
    """llama-server: prompt and generation speed."""


class _ChunkChoiceRequired(TypedDict):
    index: int
    text: str


class CompletionChunkChoice(_ChunkChoiceRequired, total=False):
    """One choice of a streamed text chunk."""

    finish_reason: Optional[str]
    logprobs: Optional[CompletionLogprobs]
    stop_reason: Union[int, str, None]
    token_ids: Optional[list[int]]


class _ChunkRequired(TypedDict):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[CompletionChunkChoice]


class CompletionChunk(_ChunkRequired, total=False):
    """A streamed text chunk; the usage chunk may have `choices: []`."""

    usage: Optional[Usage]
    system_fingerprint: Optional[str]
    timings: dict[str, float]


class _CreateParamsRequired(TypedDict):
    model: str
    prompt: Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]]


class CompletionCreateParams(
    _CreateParamsRequired, SamplingParams, VLLMSamplingParams, total=False
):
    """The JSON body of POST /v1/completions; `stream` is set by `.stream()`."""

    best_of: Optional[int]
    logprobs: Optional[int]
    suffix: Optional[str]
    response_format: Optional[ResponseFormat]
    """vLLM: structured output for text completions."""
    prompt_embeds: Union[str, Sequence[str], None]
    """vLLM: base64-encoded prompt embeddings."""
