"""OpenTelemetry spans and metrics for every call, by the semantic conventions for generative AI.

Install ``babyapi[otel]`` and turn it on per client (its ``with_options`` copies follow)::

    from babyapi.integrations.otel import instrument
    instrument(client)

Each call is a CLIENT span named ``"{operation} {model}"`` (``chat mistral``) with one child
span per HTTP attempt that records its status and the retry decision. Metrics:
``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage`` and, for streams,
``gen_ai.client.operation.time_to_first_chunk``. Prompts and answers are recorded only with
``capture_content=True``; the API key never is.
"""

from __future__ import annotations

import json
import time
from contextvars import Token
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, TypeVar, Union, cast

import httpx
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from babyapi._errors import BabyAPIError
from babyapi._observe import Answer, CallInfo, CallWatch, Observer, Outcome
from babyapi._usage import token_counts
from babyapi._version import __version__
from babyapi._wire import answer_in

if TYPE_CHECKING:
    from babyapi._client import AsyncBabyAPI, BabyAPI
    from babyapi._retry import Decision

__all__ = ["GenAITelemetry", "instrument", "uninstrument"]

ClientT = TypeVar("ClientT", "BabyAPI", "AsyncBabyAPI")
AttributeValue = Union[str, bool, int, float, Sequence[str]]

# The operation names the conventions define, and ours for endpoints they have none for.
OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/infer": "text_completion",
    "/v1/embeddings": "embeddings",
    "/v1/rerank": "rerank",
    "/v1/models": "list_models",
    "/v1/responses": "chat",
}
# Request fields and the attributes that carry them.
_REQUEST_PARAMS = (
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("top_k", "gen_ai.request.top_k"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("seed", "gen_ai.request.seed"),
    ("dimensions", "gen_ai.embeddings.dimension.count"),
)
# Bucket boundaries the conventions ask for.
_DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
_TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
_METRIC_KEYS = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "server.address",
    "server.port",
)
CANCELLED = "cancelled"


def instrument(
    client: ClientT,
    *,
    tracer_provider: Optional[trace.TracerProvider] = None,
    meter_provider: Optional[metrics.MeterProvider] = None,
    capture_content: bool = False,
    provider_name: str = "babyapi",
    propagate_context: bool = True,
) -> ClientT:
    """Trace and measure every call of ``client`` (and of copies made from it afterwards).

    Providers default to the global ones. ``capture_content=True`` records prompts and answers
    (``gen_ai.input.messages``, ``gen_ai.output.messages``): leave it off where they may hold
    personal data. ``provider_name`` is ``gen_ai.provider.name`` (e.g. "openai" for OpenAI
    itself). ``propagate_context`` sends the W3C ``traceparent`` header, so a server that traces
    (vLLM with ``--otlp-traces-endpoint``) joins the trace. Returns the client.
    """
    telemetry = GenAITelemetry(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        capture_content=capture_content,
        provider_name=provider_name,
        propagate_context=propagate_context,
    )
    api = client._api  # the client's declared request API (see _request_api)
    others: list[Observer] = [o for o in api.config.observers if not isinstance(o, GenAITelemetry)]
    api.observe((*others, telemetry))
    return client


def uninstrument(client: ClientT) -> ClientT:
    """Stop tracing ``client``; copies made while it was instrumented keep tracing."""
    api = client._api
    api.observe([o for o in api.config.observers if not isinstance(o, GenAITelemetry)])
    return client


class GenAITelemetry(Observer):
    """The observer behind ``instrument``; pass it in ``observers=`` to choose where it goes."""

    def __init__(
        self,
        *,
        tracer_provider: Optional[trace.TracerProvider] = None,
        meter_provider: Optional[metrics.MeterProvider] = None,
        capture_content: bool = False,
        provider_name: str = "babyapi",
        propagate_context: bool = True,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self.capture_content = capture_content
        self.provider_name = provider_name
        self.propagate_context = propagate_context
        self._tools: Optional[_Instruments] = None

    def __repr__(self) -> str:
        return f"GenAITelemetry(provider_name={self.provider_name!r}, capture_content={self.capture_content!r})"

    def __getstate__(self) -> dict[str, Any]:
        # Providers hold threads and exporters that cannot travel to another process; a
        # pickled client traces there with that process's global providers.
        state = dict(self.__dict__)
        state.update(_tracer_provider=None, _meter_provider=None, _tools=None)
        return state

    def watch(self, call: CallInfo) -> Optional[CallWatch]:
        tools = self._tools
        if tools is None:
            # Made on first use, so a provider that fails to give a tracer fails a call's
            # observation (logged), never the instrument() call or the client.
            tools = self._tools = _Instruments(self._tracer_provider, self._meter_provider)
        return _CallSpan(self, tools, call)


class _Instruments:
    """The tracer and the three histograms, made once per observer."""

    def __init__(
        self,
        tracer_provider: Optional[trace.TracerProvider],
        meter_provider: Optional[metrics.MeterProvider],
    ) -> None:
        self.tracer = trace.get_tracer("babyapi", __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter("babyapi", __version__, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed answer.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )


class _CallSpan(CallWatch):
    """One call: its span, its attempts' child spans, and its metrics at the end."""

    __slots__ = (
        "_attempt",
        "_attributes",
        "_call",
        "_current",
        "_operation",
        "_settings",
        "_span",
        "_started",
        "_tools",
        "_url",
    )

    def __init__(self, settings: GenAITelemetry, tools: _Instruments, call: CallInfo) -> None:
        self._settings = settings
        self._tools = tools
        self._call = call
        self._operation = _operation(call.path)
        model = call.model
        url = call.url
        self._attributes: dict[str, AttributeValue] = {
            "gen_ai.operation.name": self._operation,
            "gen_ai.provider.name": settings.provider_name,
            "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
        }
        if model is not None:
            self._attributes["gen_ai.request.model"] = model
        attributes = {**self._attributes, **_request_attributes(call)}
        attributes["babyapi.request_id"] = call.request_id
        if settings.capture_content:
            attributes.update(_input_messages(call.body, call.path))
        self._span = tools.tracer.start_span(
            f"{self._operation} {model}" if model else self._operation,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        self._attempt: Optional[trace.Span] = None
        # The attempt's span is current while it is sent, so spans that the HTTP library's own
        # instrumentation makes are its children; the token undoes that when the attempt ends.
        self._current: Optional[Token[Context]] = None
        self._started = time.perf_counter()
        self._url = url

    def routed(self, url: httpx.URL) -> None:
        # A client of several servers: this attempt, and the call's figures, name its server.
        self._url = url
        self._attributes["server.address"] = url.host
        self._attributes["server.port"] = url.port or (443 if url.scheme == "https" else 80)
        self._span.set_attribute("server.address", url.host)
        self._span.set_attribute("server.port", self._attributes["server.port"])

    def sending(self, retries: int) -> Optional[Mapping[str, str]]:
        call = self._call
        attributes: dict[str, AttributeValue] = {
            "http.request.method": call.method,
            "url.full": _without_credentials(self._url),
            "server.address": self._attributes["server.address"],
            "server.port": self._attributes["server.port"],
        }
        if retries:
            attributes["http.request.resend_count"] = retries
        context = trace.set_span_in_context(self._span)
        self._attempt = attempt = self._tools.tracer.start_span(
            f"{call.method} {call.path}",
            context=context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        sent_in = trace.set_span_in_context(attempt, context)
        self._current = otel_context.attach(sent_in)
        if not self._settings.propagate_context:
            return None
        headers: dict[str, str] = {}
        propagate.inject(headers, context=sent_in)
        return headers

    def _take_attempt(self) -> Optional[trace.Span]:
        """The attempt's span, which stops being current and is ours to end."""
        token, self._current = self._current, None
        if token is not None:
            otel_context.detach(token)
        attempt, self._attempt = self._attempt, None
        return attempt

    def attempt_ended(self, retries: int, outcome: Outcome, decision: Optional[Decision]) -> None:
        attempt = self._take_attempt()
        if attempt is None:
            return
        response = answer_in(outcome)
        if response is not None:
            attempt.set_attribute("http.response.status_code", response.status_code)
        if decision is not None:
            error_type = (
                str(response.status_code) if response is not None else _qualified_name(outcome)
            )
            attempt.set_attribute("error.type", error_type)
            attempt.set_attribute("babyapi.retry.decision", "retry" if decision.retry else "stop")
            attempt.set_attribute("babyapi.retry.reason", decision.reason)
            if decision.retry:
                attempt.set_attribute("babyapi.retry.wait_s", decision.wait_s)
            attempt.set_status(Status(StatusCode.ERROR))
        attempt.end()

    def first_event(self) -> None:
        seconds = time.perf_counter() - self._started
        self._tools.first_chunk.record(seconds, self._attributes)
        self._span.set_attribute("gen_ai.response.time_to_first_chunk", seconds)

    def succeeded(self, answer: Answer) -> None:
        self._finish(answer(), None)

    def closed_early(self, answer: Answer) -> None:
        self._span.set_attribute("babyapi.stream.closed_early", True)
        self._finish(answer(), None)

    def failed(self, error: BaseException, answer: Answer) -> None:
        self._finish(answer(), error)

    def cancelled(self, answer: Answer) -> None:
        self._finish(answer(), None, cancelled=True)

    def _finish(
        self,
        answer: Optional[Mapping[str, Any]],
        error: Optional[BaseException],
        *,
        cancelled: bool = False,
    ) -> None:
        span = self._span
        attributes = dict(self._attributes)
        response = _response_attributes(answer)
        model = response.get("gen_ai.response.model")
        if model is not None:
            attributes["gen_ai.response.model"] = model
        error_type = CANCELLED if cancelled else _error_type(error) if error is not None else None
        # Metrics first: a span processor that fails on end must not cost the figures.
        self._record_tokens(answer, attributes)
        if error_type is not None:
            attributes["error.type"] = error_type
        self._tools.duration.record(time.perf_counter() - self._started, attributes)
        span.set_attributes(response)
        if self._settings.capture_content and answer is not None:
            span.set_attributes(_output_messages(answer))
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            message = "the call was cancelled before it ended" if cancelled else str(error)
            span.set_status(Status(StatusCode.ERROR, message))
        attempt = self._take_attempt()
        if attempt is not None:
            # Cancelled while an attempt was on the wire.
            attempt.set_attribute("error.type", error_type or CANCELLED)
            attempt.set_status(Status(StatusCode.ERROR))
            attempt.end()
        span.end()

    def _record_tokens(
        self, answer: Optional[Mapping[str, Any]], attributes: Mapping[str, AttributeValue]
    ) -> None:
        counts = token_counts(answer)
        if counts is None:
            return
        self._tools.tokens.record(counts.input, {**attributes, "gen_ai.token.type": "input"})
        if counts.output or self._operation in ("chat", "text_completion"):
            self._tools.tokens.record(counts.output, {**attributes, "gen_ai.token.type": "output"})


def _operation(path: str) -> str:
    """The operation's name; never a path segment that is an id (a span name must stay short)."""
    known = OPERATIONS.get(path)
    if known is not None:
        return known
    if path.startswith("/v1/responses/"):
        return "cancel_response" if path.endswith("/cancel") else "retrieve_response"
    return path.rsplit("/", 1)[-1] or "call"


def _request_attributes(call: CallInfo) -> dict[str, AttributeValue]:
    body = call.body or {}
    attributes: dict[str, AttributeValue] = {}
    if call.stream:
        attributes["gen_ai.request.stream"] = True
    for field, key in (*_REQUEST_PARAMS, ("max_output_tokens", "gen_ai.request.max_tokens")):
        value = body.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[key] = value
    stop = body.get("stop")
    if isinstance(stop, str):
        attributes["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list):
        words = cast("list[object]", stop)
        if all(isinstance(word, str) for word in words):
            attributes["gen_ai.request.stop_sequences"] = cast("list[str]", words)
    count = body.get("n")
    if isinstance(count, int) and not isinstance(count, bool) and count != 1:
        attributes["gen_ai.request.choice.count"] = count
    encoding = body.get("encoding_format")
    if isinstance(encoding, str):
        attributes["gen_ai.request.encoding_formats"] = [encoding]
    text = body.get("text")
    response_format = (
        cast("Mapping[str, Any]", text).get("format")
        if isinstance(text, Mapping)
        else body.get("response_format")
    )
    output_type = _output_type(response_format)
    if output_type is not None:
        attributes["gen_ai.output.type"] = output_type
    return attributes


def _output_type(response_format: Any) -> Optional[str]:
    if not isinstance(response_format, Mapping):
        return None
    kind = cast("Mapping[str, Any]", response_format).get("type")
    if kind in ("json_object", "json_schema"):
        return "json"
    return "text" if kind == "text" else None


def _response_attributes(answer: Optional[Mapping[str, Any]]) -> dict[str, AttributeValue]:
    if answer is None:
        return {}
    attributes: dict[str, AttributeValue] = {}
    for field, key in (("model", "gen_ai.response.model"), ("id", "gen_ai.response.id")):
        value = answer.get(field)
        if isinstance(value, str) and value:
            attributes[key] = value
    reasons = [
        str(choice.get("finish_reason"))
        for choice in _choices(answer)
        if choice.get("finish_reason") is not None
    ]
    status = answer.get("status")
    if not reasons and answer.get("object") == "response" and isinstance(status, str):
        reasons = [status]  # the Responses API's nearest to a finish reason
    if reasons:
        attributes["gen_ai.response.finish_reasons"] = reasons
    counts = token_counts(answer)
    if counts is not None:
        attributes["gen_ai.usage.input_tokens"] = counts.input
        attributes["gen_ai.usage.output_tokens"] = counts.output
    usage = answer.get("usage")
    if isinstance(usage, Mapping):
        details = _mapping(cast("Mapping[str, Any]", usage), "prompt_tokens_details")
        cached = details.get("cached_tokens")
        if isinstance(cached, int) and not isinstance(cached, bool):
            attributes["gen_ai.usage.cache_read.input_tokens"] = cached
        details = _mapping(cast("Mapping[str, Any]", usage), "completion_tokens_details")
        reasoning = details.get("reasoning_tokens")
        if isinstance(reasoning, int) and not isinstance(reasoning, bool):
            attributes["gen_ai.usage.reasoning.output_tokens"] = reasoning
    return attributes


def _choices(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _mappings(answer.get("choices"))


def _mappings(value: object) -> list[Mapping[str, Any]]:
    """The objects in a JSON list, skipping anything else."""
    if not isinstance(value, list):
        return []
    items = cast("list[object]", value)
    return [cast("Mapping[str, Any]", item) for item in items if isinstance(item, Mapping)]


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    return cast("Mapping[str, Any]", value) if isinstance(value, Mapping) else {}


def _without_credentials(url: httpx.URL) -> str:
    """The URL, with any user and password in it replaced, as the HTTP conventions ask."""
    if url.userinfo:
        url = url.copy_with(username="REDACTED", password="REDACTED")
    return str(url)


def _error_type(error: BaseException) -> str:
    """Low-cardinality: the HTTP status, else the SDK's error code, else the exception's name."""
    if isinstance(error, BabyAPIError):
        if error.status is not None:
            return str(error.status)
        if error.code:
            return error.code.lower()
    return _qualified_name(error)


def _qualified_name(value: object) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _input_messages(body: Optional[Mapping[str, Any]], path: str) -> dict[str, AttributeValue]:
    """The prompt as ``gen_ai.input.messages`` (JSON text, in the conventions' message shape)."""
    if body is None:
        return {}
    if isinstance(body.get("messages"), list):
        converted = [
            _message(m.get("role"), m.get("content"), m.get("tool_calls"))
            for m in _mappings(body.get("messages"))
        ]
    elif path == "/v1/responses":
        converted = _response_input(body)
    else:
        prompt: object = body.get("prompt")
        prompts = cast("list[object]", prompt) if isinstance(prompt, list) else [prompt]
        converted = [_message("user", p, None) for p in prompts if isinstance(p, str)]
    return {"gen_ai.input.messages": json.dumps(converted, ensure_ascii=False)} if converted else {}


def _response_input(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A Responses API request's instructions and input as messages."""
    converted: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        converted.append(_message("system", instructions, None))
    given = body.get("input")
    if isinstance(given, str):
        return [*converted, _message("user", given, None)]
    for item in _mappings(given):
        if item.get("type", "message") == "message":
            converted.append(_message(item.get("role"), _parts_as_text(item.get("content")), None))
        elif item.get("type") == "function_call_output":
            converted.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": item.get("call_id"),
                            "response": item.get("output"),
                        }
                    ],
                }
            )
    return converted


def _parts_as_text(content: Any) -> Any:
    """Responses content parts (``input_text``, ``output_text``) as chat's ``text`` parts."""
    if not isinstance(content, list):
        return content
    parts = cast("list[object]", content)
    return [
        {"type": "text", "text": part.get("text")}
        if part.get("type") in ("input_text", "output_text")
        else part
        for part in _mappings(parts)
    ]


def _output_messages(answer: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """The answer as ``gen_ai.output.messages``: one message per choice."""
    converted: list[dict[str, Any]] = []
    output = answer.get("output")
    if isinstance(output, str):  # POST /infer
        converted.append(_message("assistant", output, None))
    elif isinstance(output, list):  # the Responses API's output items
        converted.append(_response_output(answer))
    for choice in _choices(answer):
        message = _mapping(choice, "message")
        content = message.get("content", choice.get("text"))
        reply = _message(message.get("role", "assistant"), content, message.get("tool_calls"))
        reply["finish_reason"] = choice.get("finish_reason")
        converted.append(reply)
    return (
        {"gen_ai.output.messages": json.dumps(converted, ensure_ascii=False)} if converted else {}
    )


def _response_output(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A response's output items as one assistant message."""
    items = _mappings(answer.get("output"))
    content = [
        {"type": "text", "text": part.get("text")}
        for item in items
        if item.get("type") == "message"
        for part in _mappings(item.get("content"))
        if part.get("type") == "output_text"
    ]
    calls = [
        {
            "id": item.get("call_id"),
            "function": {"name": item.get("name"), "arguments": item.get("arguments")},
        }
        for item in items
        if item.get("type") == "function_call"
    ]
    reply = _message("assistant", content, calls)
    reply["finish_reason"] = answer.get("status")
    return reply


def _message(role: Any, content: Any, tool_calls: Any) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if isinstance(content, str):
        parts.append({"type": "text", "content": content})
    for part in _mappings(content):
        if part.get("type") == "text":
            parts.append({"type": "text", "content": part.get("text")})
        else:
            parts.append({"type": str(part.get("type", "unknown"))})
    for call in _mappings(tool_calls):
        function = _mapping(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments"),
            }
        )
    return {"role": str(role or "user"), "parts": parts}
