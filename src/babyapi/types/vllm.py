"""vLLM's own endpoints: tokens, scores, classes, pooling, LoRA adapters, server status.

Not re-exported from ``babyapi.types``: this module loads only when these endpoints are
used (``from babyapi.types.vllm import TokenizeResponse``).
"""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Mapping, Sequence
from typing import Any, Optional, TypedDict, Union

from babyapi.types.chat import ChatCompletionMessageParam

__all__ = [
    "ClassificationData",
    "ClassificationResponse",
    "ClassifyCreateParams",
    "DetokenizeResponse",
    "PoolingCreateParams",
    "PoolingData",
    "PoolingResponse",
    "PromptFit",
    "ScoreCreateParams",
    "ScoreData",
    "ScoreResponse",
    "ServerLoad",
    "ServerMetrics",
    "ServerVersion",
    "TokenizeParams",
    "TokenizeResponse",
]

ScoreInput = Union[str, Sequence[str]]


class TokenizeParams(TypedDict, total=False):
    """Extra fields of POST /tokenize beyond ``prompt`` or ``messages``."""

    add_special_tokens: bool
    """Prompts: add the tokenizer's own (BOS); default true. Messages: default false."""
    return_token_strs: bool
    add_generation_prompt: bool
    """Messages: end with the opening of the assistant's turn (default true)."""
    continue_final_message: bool
    """Messages: leave the last message open, to be continued; excludes the above."""
    tools: Sequence[Mapping[str, Any]]
    chat_template: str
    chat_template_kwargs: Mapping[str, Any]


class _TokenizeRequired(TypedDict):
    tokens: list[int]
    count: int


class TokenizeResponse(_TokenizeRequired, total=False):
    """The answer of POST /tokenize.

    llama-server sends only ``tokens``; the SDK adds ``count`` (their number) so both read
    the same. ``max_model_len`` is vLLM's context length, prompt and answer together.
    """

    max_model_len: int
    token_strs: Optional[list[str]]


class DetokenizeResponse(TypedDict):
    """The answer of POST /detokenize (llama-server's ``content`` is copied to ``prompt``)."""

    prompt: str


class PromptFit(TypedDict):
    """Whether a prompt (and the answer it asks for) fits in the model's context."""

    count: int
    """Tokens of the prompt, as the server's tokenizer and chat template count them."""
    max_model_len: int
    tokens_left: int
    """What the context has room for after the prompt (negative: the prompt is too long)."""
    fits: bool
    """The prompt fits, and so does ``max_tokens`` of answer when it was given."""


class _ScoreParamsRequired(TypedDict):
    queries: ScoreInput
    documents: ScoreInput


class ScoreCreateParams(_ScoreParamsRequired, total=False):
    """The JSON body of POST /score: one query against N documents, or N pairs."""

    model: str
    truncate_prompt_tokens: Optional[int]
    use_activation: Optional[bool]
    instruction: Optional[str]
    chat_template_kwargs: Mapping[str, Any]
    priority: int


class ScoreData(TypedDict):
    index: int
    object: str
    score: float


class Usage(TypedDict, total=False):
    prompt_tokens: int
    total_tokens: int
    completion_tokens: Optional[int]


class _ListRequired(TypedDict):
    model: str


class ScoreResponse(_ListRequired, total=False):
    """The answer of POST /score: ``data[i]`` scores pair ``i`` (document ``i`` for 1:N)."""

    id: str
    object: str
    created: int
    data: list[ScoreData]
    usage: Usage


class _ClassifyRequired(TypedDict):
    input: ScoreInput


class ClassifyCreateParams(_ClassifyRequired, total=False):
    """The JSON body of POST /classify."""

    model: str
    truncate_prompt_tokens: Optional[int]
    use_activation: Optional[bool]
    priority: int


class ClassificationData(TypedDict):
    index: int
    label: Optional[str]
    probs: list[float]
    num_classes: int


class ClassificationResponse(_ListRequired, total=False):
    """The answer of POST /classify: the most probable label and every class's probability."""

    id: str
    object: str
    created: int
    data: list[ClassificationData]
    usage: Usage


class PoolingCreateParams(TypedDict, total=False):
    """The JSON body of POST /pooling: ``input`` (or ``messages``) and the pooling ``task``."""

    model: str
    input: ScoreInput
    messages: Sequence[ChatCompletionMessageParam]
    task: str
    """``embed``, ``classify``, ``token_embed``, ...: the one the served model pools for."""
    dimensions: Optional[int]
    use_activation: Optional[bool]
    truncate_prompt_tokens: Optional[int]
    priority: int


class PoolingData(TypedDict):
    index: int
    object: str
    data: Union[list[float], list[list[float]], str]


class PoolingResponse(_ListRequired, total=False):
    """The answer of POST /pooling: the model's pooled output per input, as nested lists."""

    id: str
    object: str
    created: int
    data: list[PoolingData]
    usage: Usage


class ServerVersion(TypedDict):
    """GET /version."""

    version: str


class ServerLoad(TypedDict):
    """GET /load: requests in flight (always 0 unless the server tracks load)."""

    server_load: int


class ServerMetrics(TypedDict):
    """GET /metrics: the gauges that tell how busy the server is, and the whole text.

    Each figure is the sum over the server's engines and models (KV-cache use: the fullest),
    or None when the server does not export it.
    """

    requests_running: Optional[float]
    requests_waiting: Optional[float]
    kv_cache_usage: Optional[float]
    """Fraction of the KV cache in use, 0 to 1."""
    text: str
    """The Prometheus text exposition as the server sent it."""
