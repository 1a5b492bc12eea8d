"""The Responses API: input items, the request body, the response object and stream events."""

# No `from __future__ import annotations` here: see babyapi/types/__init__.py.
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Optional, TypedDict, Union

__all__ = [
    "EasyInputMessageParam",
    "FunctionCallOutputParam",
    "FunctionToolParam",
    "Response",
    "ResponseCreateParams",
    "ResponseError",
    "ResponseFormatTextJSONSchemaParam",
    "ResponseFunctionCallParam",
    "ResponseFunctionToolCall",
    "ResponseIncompleteDetails",
    "ResponseInputContent",
    "ResponseInputImageParam",
    "ResponseInputItemParam",
    "ResponseInputMessageParam",
    "ResponseInputTextParam",
    "ResponseOutputItem",
    "ResponseOutputMessage",
    "ResponseOutputText",
    "ResponseParseParams",
    "ResponseReasoningItem",
    "ResponseStatus",
    "ResponseStreamEvent",
    "ResponseTextConfigParam",
    "ResponseToolRunParams",
    "ResponseUsage",
    "ToolChoiceFunctionParam",
]

ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]

# --- input ----------------------------------------------------------------------


class ResponseInputTextParam(TypedDict):
    """A text part of an input message."""

    type: Literal["input_text"]
    text: str


class _InputImageRequired(TypedDict):
    type: Literal["input_image"]


class ResponseInputImageParam(_InputImageRequired, total=False):
    """An image part of an input message: ``image_url`` (a URL or a ``data:`` URL)."""

    image_url: Optional[str]
    file_id: Optional[str]
    detail: Literal["auto", "low", "high"]


ResponseInputContent = Union[ResponseInputTextParam, ResponseInputImageParam]


class _EasyInputMessageRequired(TypedDict):
    role: Literal["user", "assistant", "system", "developer"]
    content: Union[str, Sequence[ResponseInputContent]]


class EasyInputMessageParam(_EasyInputMessageRequired, total=False):
    """A message in the short form: ``{"role": "user", "content": "Hello"}``."""

    type: Literal["message"]


ResponseInputMessageParam = EasyInputMessageParam


class _FunctionCallRequired(TypedDict):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str


class ResponseFunctionCallParam(_FunctionCallRequired, total=False):
    """A function call the model made, sent back as part of the conversation."""

    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class _FunctionCallOutputRequired(TypedDict):
    type: Literal["function_call_output"]
    call_id: str
    output: str


class FunctionCallOutputParam(_FunctionCallOutputRequired, total=False):
    """The answer to a ``function_call``: its ``call_id`` and the function's output as text."""

    id: str
    status: Literal["in_progress", "completed", "incomplete"]


# Items the server returned (output messages, reasoning) may be sent back as they came.
ResponseInputItemParam = Union[
    EasyInputMessageParam,
    ResponseFunctionCallParam,
    FunctionCallOutputParam,
    Mapping[str, Any],
]

# --- tools and formats ----------------------------------------------------------


class _FunctionToolRequired(TypedDict):
    type: Literal["function"]
    name: str


class FunctionToolParam(_FunctionToolRequired, total=False):
    """A function tool, flat (unlike chat's ``{"type": "function", "function": {...}}``)."""

    description: Optional[str]
    parameters: Optional[Mapping[str, Any]]
    strict: Optional[bool]


class ToolChoiceFunctionParam(TypedDict):
    """Make the model call this function."""

    type: Literal["function"]
    name: str


class _JSONSchemaFormatRequired(TypedDict):
    type: Literal["json_schema"]
    name: str
    schema: Mapping[str, Any]


class ResponseFormatTextJSONSchemaParam(_JSONSchemaFormatRequired, total=False):
    """``text.format`` asking for JSON that fits a schema (flat, unlike chat's)."""

    description: str
    strict: Optional[bool]


class ResponseTextConfigParam(TypedDict, total=False):
    """``text``: the answer's format (``{"type": "text"}``, ``json_object`` or ``json_schema``)."""

    format: Union[ResponseFormatTextJSONSchemaParam, Mapping[str, Any]]


# --- the request body -------------------------------------------------------------


class _CreateRequired(TypedDict):
    input: Union[str, Sequence[ResponseInputItemParam]]


class ResponseToolRunParams(_CreateRequired, total=False):
    """The body of ``responses.run_tools()``: every create field but ``tools`` and ``text``."""

    model: str
    instructions: Optional[str]
    max_output_tokens: Optional[int]
    temperature: Optional[float]
    top_p: Optional[float]
    tool_choice: Union[Literal["none", "auto", "required"], ToolChoiceFunctionParam]
    parallel_tool_calls: Optional[bool]
    previous_response_id: Optional[str]
    store: Optional[bool]
    reasoning: Optional[Mapping[str, Any]]
    include: Optional[Sequence[str]]
    metadata: Optional[Mapping[str, str]]
    truncation: Optional[Literal["auto", "disabled"]]
    user: Optional[str]
    # vLLM's extras: pass through to its sampler.
    top_k: Optional[int]
    min_p: Optional[float]
    seed: Optional[int]
    stop: Union[str, Sequence[str], None]
    repetition_penalty: Optional[float]
    presence_penalty: Optional[float]
    frequency_penalty: Optional[float]
    chat_template_kwargs: Optional[Mapping[str, Any]]
    structured_outputs: Optional[Mapping[str, Any]]


class ResponseParseParams(ResponseToolRunParams, total=False):
    """The body of ``responses.parse()``: every create field but ``text``, which parse() owns."""

    tools: Sequence[Union[FunctionToolParam, Mapping[str, Any]]]
    background: Optional[bool]


class ResponseCreateParams(ResponseParseParams, total=False):
    """The JSON body of ``POST /v1/responses``; ``stream`` is set by ``.stream()``."""

    text: Optional[ResponseTextConfigParam]


# --- the response -----------------------------------------------------------------


class _OutputTextRequired(TypedDict):
    type: Literal["output_text"]
    text: str


class ResponseOutputText(_OutputTextRequired, total=False):
    """A text part of an output message."""

    annotations: list[Any]
    logprobs: Optional[list[Any]]


class _OutputMessageRequired(TypedDict):
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[ResponseOutputText]


class ResponseOutputMessage(_OutputMessageRequired, total=False):
    """The model's message; its text is in ``content[i]["text"]``."""

    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class _FunctionToolCallRequired(TypedDict):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str


class ResponseFunctionToolCall(_FunctionToolCallRequired, total=False):
    """A call the model asks for; answer it with a ``function_call_output`` item."""

    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class _ReasoningRequired(TypedDict):
    type: Literal["reasoning"]


class ResponseReasoningItem(_ReasoningRequired, total=False):
    """The model's reasoning, for reasoning models."""

    id: str
    summary: list[Any]
    content: Optional[list[Any]]
    encrypted_content: Optional[str]
    status: Optional[str]


ResponseOutputItem = Union[
    ResponseOutputMessage, ResponseFunctionToolCall, ResponseReasoningItem, dict[str, Any]
]


class _UsageRequired(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ResponseUsage(_UsageRequired, total=False):
    """Tokens read and written; the details vary by server."""

    input_tokens_details: dict[str, Any]
    output_tokens_details: dict[str, Any]


class ResponseError(TypedDict, total=False):
    """Why a response failed."""

    code: Optional[str]
    message: str


class ResponseIncompleteDetails(TypedDict, total=False):
    """Why a response stopped early, such as ``{"reason": "max_output_tokens"}``."""

    reason: Optional[str]


class _ResponseRequired(TypedDict):
    id: str
    object: Literal["response"]
    status: ResponseStatus
    model: str
    output: list[ResponseOutputItem]
    output_text: str
    """Added by babyapi: the text of every ``output_text`` part, joined (as openai-python's
    ``response.output_text``); ``""`` when the model only called tools."""


class Response(_ResponseRequired, total=False):
    """The ``response`` object; ``res["output_text"]`` is the answer's text."""

    created_at: float
    error: Optional[ResponseError]
    incomplete_details: Optional[ResponseIncompleteDetails]
    instructions: Optional[str]
    max_output_tokens: Optional[int]
    previous_response_id: Optional[str]
    background: Optional[bool]
    store: Optional[bool]
    temperature: Optional[float]
    top_p: Optional[float]
    tool_choice: Any
    tools: list[Any]
    parallel_tool_calls: bool
    text: Any
    reasoning: Any
    metadata: Optional[dict[str, str]]
    usage: Optional[ResponseUsage]
    user: Optional[str]


class _StreamEventRequired(TypedDict):
    type: str


class ResponseStreamEvent(_StreamEventRequired, total=False):
    """The data of one stream event; which keys it has depends on ``type``.

    ``response.output_text.delta`` carries ``delta``; ``response.created``,
    ``response.completed``, ``response.failed`` and ``response.incomplete`` carry
    ``response``; ``response.output_item.added`` and ``.done`` carry ``item``.
    """

    sequence_number: int
    response: Response
    item: ResponseOutputItem
    item_id: str
    output_index: int
    content_index: int
    delta: str
    text: str
    arguments: str
    part: dict[str, Any]
    code: Optional[str]
    message: str
    param: Optional[str]
