"""Chat completions: message params, the request body, responses and stream chunks."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional, TypedDict, Union

from babyapi.types.shared import ResponseFormat, SamplingParams, Usage, VLLMSamplingParams

__all__ = [
    "ChatCompletion",
    "ChatCompletionAssistantMessageParam",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionContentPart",
    "ChatCompletionContentPartImage",
    "ChatCompletionContentPartInputAudio",
    "ChatCompletionContentPartRefusal",
    "ChatCompletionContentPartText",
    "ChatCompletionCreateParams",
    "ChatCompletionDeveloperMessageParam",
    "ChatCompletionMessage",
    "ChatCompletionMessageParam",
    "ChatCompletionMessageToolCall",
    "ChatCompletionNamedToolChoiceParam",
    "ChatCompletionParseParams",
    "ChatCompletionSystemMessageParam",
    "ChatCompletionTokenLogprob",
    "ChatCompletionToolChoiceOption",
    "ChatCompletionToolMessageParam",
    "ChatCompletionToolParam",
    "ChatCompletionToolRunParams",
    "ChatCompletionUserMessageParam",
    "ChoiceDelta",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceLogprobs",
    "ChunkChoice",
    "FunctionCall",
    "FunctionDefinition",
    "ImageURL",
    "InputAudio",
    "ToolChoiceFunction",
    "TopLogprob",
]

# --- content parts ------------------------------------------------------------


class ChatCompletionContentPartText(TypedDict):
    """A text part of a message's content."""

    type: Literal["text"]
    text: str


class _ImageURLRequired(TypedDict):
    url: str


class ImageURL(_ImageURLRequired, total=False):
    """An image by URL or as a `data:image/...;base64,` URL."""

    detail: Literal["auto", "low", "high"]


class ChatCompletionContentPartImage(TypedDict):
    """An image part of a user message (vision models)."""

    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(TypedDict):
    """Base64-encoded audio."""

    data: str
    format: Literal["wav", "mp3"]


class ChatCompletionContentPartInputAudio(TypedDict):
    """An audio part of a user message (audio models)."""

    type: Literal["input_audio"]
    input_audio: InputAudio


class ChatCompletionContentPartRefusal(TypedDict):
    """A refusal part of an assistant message."""

    type: Literal["refusal"]
    refusal: str


ChatCompletionContentPart = Union[
    ChatCompletionContentPartText,
    ChatCompletionContentPartImage,
    ChatCompletionContentPartInputAudio,
]

# --- tool calls (shared by requests and responses) ------------------------------


class FunctionCall(TypedDict):
    """A function the model called; `arguments` is JSON text, possibly invalid."""

    name: str
    arguments: str


class ChatCompletionMessageToolCall(TypedDict):
    """A tool call made by the model."""

    id: str
    type: Literal["function"]
    function: FunctionCall


# --- message params ---------------------------------------------------------------


class _SystemMessageRequired(TypedDict):
    role: Literal["system"]
    content: Union[str, Sequence[ChatCompletionContentPartText]]


class ChatCompletionSystemMessageParam(_SystemMessageRequired, total=False):
    """A system message."""

    name: str


class _DeveloperMessageRequired(TypedDict):
    role: Literal["developer"]
    content: Union[str, Sequence[ChatCompletionContentPartText]]


class ChatCompletionDeveloperMessageParam(_DeveloperMessageRequired, total=False):
    """A developer message (OpenAI's successor to system messages)."""

    name: str


class _UserMessageRequired(TypedDict):
    role: Literal["user"]
    content: Union[str, Sequence[ChatCompletionContentPart]]


class ChatCompletionUserMessageParam(_UserMessageRequired, total=False):
    """A user message: text, or a list of text, image and audio parts."""

    name: str


class _AssistantMessageRequired(TypedDict):
    role: Literal["assistant"]


class ChatCompletionAssistantMessageParam(_AssistantMessageRequired, total=False):
    """An earlier assistant turn; `content` may be left out when `tool_calls` is given."""

    content: Union[
        str, Sequence[Union[ChatCompletionContentPartText, ChatCompletionContentPartRefusal]], None
    ]
    name: str
    refusal: Optional[str]
    tool_calls: Sequence[ChatCompletionMessageToolCall]
    function_call: Optional[FunctionCall]


class ChatCompletionToolMessageParam(TypedDict):
    """The result of a tool call, sent back to the model."""

    role: Literal["tool"]
    content: Union[str, Sequence[ChatCompletionContentPartText]]
    tool_call_id: str


# --- tools --------------------------------------------------------------------------


class _FunctionDefinitionRequired(TypedDict):
    name: str


class FunctionDefinition(_FunctionDefinitionRequired, total=False):
    """A function the model may call; `parameters` is a JSON Schema object."""

    description: str
    parameters: Mapping[str, object]
    strict: Optional[bool]


class ChatCompletionToolParam(TypedDict):
    """A tool the model may call."""

    type: Literal["function"]
    function: FunctionDefinition


class ToolChoiceFunction(TypedDict):
    """The function a named tool choice forces."""

    name: str


class ChatCompletionNamedToolChoiceParam(TypedDict):
    """Force the model to call this function."""

    type: Literal["function"]
    function: ToolChoiceFunction


ChatCompletionToolChoiceOption = Union[
    Literal["none", "auto", "required"], ChatCompletionNamedToolChoiceParam
]

# --- logprobs -------------------------------------------------------------------------


class _TopLogprobRequired(TypedDict):
    token: str
    logprob: float


class TopLogprob(_TopLogprobRequired, total=False):
    """One of the most likely tokens at a position."""

    bytes: Optional[list[int]]


class _TokenLogprobRequired(TypedDict):
    token: str
    logprob: float
    top_logprobs: list[TopLogprob]


class ChatCompletionTokenLogprob(_TokenLogprobRequired, total=False):
    """The log probability of one generated token."""

    bytes: Optional[list[int]]


class _ChoiceLogprobsRequired(TypedDict):
    content: Optional[list[ChatCompletionTokenLogprob]]


class ChoiceLogprobs(_ChoiceLogprobsRequired, total=False):
    """Log probabilities of a choice's tokens."""

    refusal: Optional[list[ChatCompletionTokenLogprob]]


# --- responses ----------------------------------------------------------------------


class _MessageRequired(TypedDict):
    role: Literal["assistant"]
    content: Optional[str]


class ChatCompletionMessage(_MessageRequired, total=False):
    """The message the model generated; can be appended to `messages` as is."""

    tool_calls: Optional[list[ChatCompletionMessageToolCall]]
    reasoning_content: Optional[str]
    """Reasoning models on vLLM (older name) and llama-server."""
    reasoning: Optional[str]
    """Reasoning models on newer vLLM."""
    refusal: Optional[str]
    annotations: list[dict[str, Any]]
    audio: Optional[dict[str, Any]]
    function_call: Optional[FunctionCall]


class _ChoiceRequired(TypedDict):
    index: int
    message: ChatCompletionMessage
    finish_reason: Optional[str]


class ChatCompletionChoice(_ChoiceRequired, total=False):
    """One choice; `finish_reason` is "stop", "length", "tool_calls", ... or null."""

    logprobs: Optional[ChoiceLogprobs]
    stop_reason: Union[int, str, None]
    """vLLM: the stop string or token id that ended the choice."""
    token_ids: Optional[list[int]]


class _ChatCompletionRequired(TypedDict):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatCompletionChoice]


class ChatCompletion(_ChatCompletionRequired, total=False):
    """A chat completion (POST /v1/chat/completions)."""

    usage: Usage
    system_fingerprint: Optional[str]
    service_tier: Optional[str]
    prompt_logprobs: Optional[list[Any]]
    prompt_token_ids: Optional[list[int]]
    timings: dict[str, float]
    """llama-server: prompt and generation speed."""


# --- stream chunks --------------------------------------------------------------------


class ChoiceDeltaFunctionCall(TypedDict, total=False):
    """A piece of a function call; `arguments` arrives in fragments."""

    name: Optional[str]
    arguments: Optional[str]


class _DeltaToolCallRequired(TypedDict):
    index: int


class ChoiceDeltaToolCall(_DeltaToolCallRequired, total=False):
    """A piece of a tool call; `id`, `type` and the name come with the first piece."""

    id: Optional[str]
    type: Literal["function"]
    function: ChoiceDeltaFunctionCall


class ChoiceDelta(TypedDict, total=False):
    """What a chunk adds to the message; the first often has only `role`, the last is {}."""

    role: str
    content: Optional[str]
    reasoning_content: Optional[str]
    reasoning: Optional[str]
    refusal: Optional[str]
    tool_calls: Optional[list[ChoiceDeltaToolCall]]
    function_call: Optional[ChoiceDeltaFunctionCall]


class _ChunkChoiceRequired(TypedDict):
    delta: ChoiceDelta


class ChunkChoice(_ChunkChoiceRequired, total=False):
    """One choice of a chunk; LiteLLM's usage chunk sends only {"delta": {}}."""

    index: int
    finish_reason: Optional[str]
    logprobs: Optional[ChoiceLogprobs]
    stop_reason: Union[int, str, None]
    token_ids: Optional[list[int]]


class _ChunkRequired(TypedDict):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]


class ChatCompletionChunk(_ChunkRequired, total=False):
    """A streamed chat chunk; the usage chunk may have `choices: []`."""

    usage: Optional[Usage]
    system_fingerprint: Optional[str]
    service_tier: Optional[str]
    timings: dict[str, float]


# --- request body ---------------------------------------------------------------------

ChatCompletionMessageParam = Union[
    ChatCompletionSystemMessageParam,
    ChatCompletionDeveloperMessageParam,
    ChatCompletionUserMessageParam,
    ChatCompletionAssistantMessageParam,
    ChatCompletionToolMessageParam,
    # A response message may be sent back unchanged, extra keys and all.
    ChatCompletionMessage,
]


class _CreateParamsRequired(TypedDict):
    model: str
    messages: Sequence[ChatCompletionMessageParam]


class ChatCompletionToolRunParams(
    _CreateParamsRequired, SamplingParams, VLLMSamplingParams, total=False
):
    """The body of `run_tools()`: every create field but `tools` and `response_format`."""

    max_completion_tokens: Optional[int]
    logprobs: Optional[bool]
    top_logprobs: Optional[int]
    tool_choice: ChatCompletionToolChoiceOption
    parallel_tool_calls: bool
    reasoning_effort: Optional[str]
    metadata: Optional[Mapping[str, str]]
    modalities: Optional[Sequence[Literal["text", "audio"]]]
    audio: Optional[Mapping[str, object]]
    prediction: Optional[Mapping[str, object]]
    service_tier: Optional[str]
    store: Optional[bool]
    functions: Sequence[FunctionDefinition]
    function_call: Union[Literal["none", "auto"], ToolChoiceFunction]
    # vLLM chat-only fields
    add_generation_prompt: bool
    continue_final_message: bool
    documents: Optional[Sequence[Mapping[str, str]]]
    chat_template: Optional[str]
    chat_template_kwargs: Optional[Mapping[str, object]]
    mm_processor_kwargs: Optional[Mapping[str, object]]
    include_reasoning: bool


class ChatCompletionParseParams(ChatCompletionToolRunParams, total=False):
    """The body of `parse()`: every create field but `response_format`, which parse() owns."""

    tools: Sequence[ChatCompletionToolParam]


class ChatCompletionCreateParams(ChatCompletionParseParams, total=False):
    """The JSON body of POST /v1/chat/completions; `stream` is set by `.stream()`."""

    response_format: Optional[ResponseFormat]
