"""Types shared by several endpoints: token usage, error bodies, common request fields."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional, TypedDict, Union

__all__ = [
    "CompletionTokensDetails",
    "ErrorObject",
    "ErrorResponse",
    "JSONSchema",
    "PromptTokensDetails",
    "ResponseFormat",
    "ResponseFormatJSONObject",
    "ResponseFormatJSONSchema",
    "ResponseFormatText",
    "SamplingParams",
    "StreamOptions",
    "Usage",
    "VLLMSamplingParams",
]


class PromptTokensDetails(TypedDict, total=False):
    """Breakdown of the prompt tokens."""

    cached_tokens: int
    audio_tokens: int


class CompletionTokensDetails(TypedDict, total=False):
    """Breakdown of the completion tokens."""

    reasoning_tokens: int
    audio_tokens: int
    accepted_prediction_tokens: int
    rejected_prediction_tokens: int


class _UsageRequired(TypedDict):
    prompt_tokens: int
    total_tokens: int


class Usage(_UsageRequired, total=False):
    """Token counts; embeddings omit `completion_tokens`."""

    completion_tokens: int
    prompt_tokens_details: Optional[PromptTokensDetails]
    completion_tokens_details: Optional[CompletionTokensDetails]


class _ErrorObjectRequired(TypedDict):
    message: str


class ErrorObject(_ErrorObjectRequired, total=False):
    """The `error` member of an error body; `code` may be null, an int or a string."""

    type: Optional[str]
    param: Optional[str]
    code: Union[str, int, None]


class ErrorResponse(TypedDict):
    """An OpenAI-style error body, also sent by vLLM as a data frame mid-stream."""

    error: ErrorObject


class StreamOptions(TypedDict, total=False):
    """Options for a streamed response."""

    include_usage: Optional[bool]
    continuous_usage_stats: Optional[bool]
    """vLLM: send usage in every chunk."""


class ResponseFormatText(TypedDict):
    """Plain text output."""

    type: Literal["text"]


class ResponseFormatJSONObject(TypedDict):
    """Any valid JSON object."""

    type: Literal["json_object"]


class _JSONSchemaRequired(TypedDict):
    name: str


class JSONSchema(_JSONSchemaRequired, total=False):
    """A named JSON Schema the output must follow."""

    description: str
    schema: Mapping[str, object]
    strict: Optional[bool]


class ResponseFormatJSONSchema(TypedDict):
    """Output that follows a JSON Schema."""

    type: Literal["json_schema"]
    json_schema: JSONSchema


ResponseFormat = Union[ResponseFormatText, ResponseFormatJSONObject, ResponseFormatJSONSchema]


class SamplingParams(TypedDict, total=False):
    """Request fields the OpenAI API defines for both chat and text completions."""

    frequency_penalty: Optional[float]
    logit_bias: Optional[Mapping[str, float]]
    max_tokens: Optional[int]
    n: Optional[int]
    presence_penalty: Optional[float]
    seed: Optional[int]
    stop: Union[str, Sequence[str], None]
    stream_options: Optional[StreamOptions]
    temperature: Optional[float]
    top_p: Optional[float]
    user: str


class VLLMSamplingParams(TypedDict, total=False):
    """Extra request fields vLLM accepts on both chat and text completions."""

    top_k: Optional[int]
    min_p: Optional[float]
    repetition_penalty: Optional[float]
    length_penalty: float
    use_beam_search: bool
    min_tokens: int
    stop_token_ids: Optional[Sequence[int]]
    include_stop_str_in_output: bool
    ignore_eos: bool
    bad_words: Sequence[str]
    allowed_token_ids: Optional[Sequence[int]]
    skip_special_tokens: bool
    spaces_between_special_tokens: bool
    add_special_tokens: bool
    truncate_prompt_tokens: Optional[int]
    prompt_logprobs: Optional[int]
    echo: bool
    guided_json: Union[str, Mapping[str, object], None]
    guided_regex: Optional[str]
    guided_choice: Optional[Sequence[str]]
    guided_grammar: Optional[str]
    guided_decoding_backend: Optional[str]
    guided_whitespace_pattern: Optional[str]
    structured_outputs: Optional[Mapping[str, object]]
    """Newer vLLM's replacement for the guided_* fields."""
    priority: int
    request_id: str
    return_tokens_as_token_ids: Optional[bool]
    return_token_ids: Optional[bool]
    cache_salt: Optional[str]
    kv_transfer_params: Optional[Mapping[str, Any]]
    vllm_xargs: Optional[Mapping[str, Union[str, int, float]]]
