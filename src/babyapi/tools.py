"""Tools: Python functions the model may call, and the loop that runs them.

``client.chat.completions.run_tools(...)`` and ``client.responses.run_tools(...)`` build on the
client from here; the core never imports this module. The loop itself is a generator that asks
for model calls and tool runs, so the sync and async clients, and chat and the Responses API,
share every rule and differ only in how they do the I/O and carry the conversation.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generator,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Union,
    cast,
)
from urllib.parse import quote

from babyapi._errors import (
    APIStatusError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    ToolError,
)
from babyapi._schema import (
    as_object,
    callable_name,
    check_schema,
    first_mismatch,
    function_shape,
    loads,
    to_jsonable,
)

if TYPE_CHECKING:
    from babyapi._options import RequestOptionsLike
    from babyapi._request import Call
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.chat import ChatCompletion, ChatCompletionToolParam
    from babyapi.types.responses import Response

__all__ = ["ResponseToolRun", "Tool", "ToolRun", "tool"]

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Tool:
    """A function the model may call, with its name, description and parameter schema.

    Calling a Tool calls the function, so ``@tool`` can decorate a function you still use.
    """

    __slots__ = ("_convert", "description", "function", "is_async", "name", "parameters")

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if not callable(function):
            raise InvalidArgumentTypeError(
                f"a tool must be a function, got {type(function).__name__} {function!r:.60}.",
                code="INVALID_TOOL",
            )
        self.function = function
        self.name: str = name or callable_name(function)
        if not _NAME_RE.match(self.name):
            raise InvalidArgumentError(
                f"tool name {self.name!r} must be 1-64 letters, digits, '_' or '-': "
                "pass tool(function, name='...').",
                code="INVALID_TOOL",
            )
        if parameters is None:
            shape = function_shape(function)
            summary, schema, self._convert = shape.description, shape.parameters, shape.convert
        else:
            if not isinstance(parameters, Mapping):
                raise InvalidArgumentTypeError(
                    f"{self.name}: parameters must be a JSON Schema dict, got "
                    f"{type(parameters).__name__}.",
                    code="INVALID_TOOL",
                )
            summary, schema, self._convert = "", dict(parameters), _as_is
        # Refused here, before sending: every call's arguments are checked against it.
        check_schema(schema, f"tool {self.name!r} parameters")
        self.parameters: dict[str, Any] = schema
        self.description = description if description is not None else summary
        target = getattr(function, "__call__", None)  # noqa: B004 - callable objects too
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, description={self.description!r})"

    @property
    def param(self) -> ChatCompletionToolParam:
        """The tool as the request's ``tools`` list carries it."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return cast("ChatCompletionToolParam", {"type": "function", "function": function})

    def arguments(self, raw: object) -> dict[str, Any]:
        """The call's arguments parsed, checked and typed.

        Arguments that are not JSON or do not fit raise ValueError saying what is wrong;
        whatever the parameters' own types raise (a dataclass ``__post_init__``) propagates.
        """
        return self._convert(self.checked_arguments(raw))

    def checked_arguments(self, raw: object) -> dict[str, Any]:
        """The call's arguments parsed and checked, as JSON; raises ValueError saying what is wrong."""
        if isinstance(raw, str):
            try:
                value: Any = loads(raw) if raw.strip() else {}
            except ValueError as exc:
                raise ValueError(f"the arguments are not valid JSON ({exc})") from exc
        else:
            value = raw if raw is not None else {}
        fields = as_object(value)
        if not isinstance(value, dict):
            raise ValueError(f"the arguments must be a JSON object, got {value!r:.80}")
        mismatch = first_mismatch(fields, self.parameters)
        if mismatch is not None:
            raise ValueError(f"the arguments do not fit the schema at {mismatch}")
        return fields


def _as_is(arguments: dict[str, Any]) -> dict[str, Any]:
    return arguments


def tool(
    function: Optional[Callable[..., Any]] = None,
    *,
    name: Optional[str] = None,
    description: Optional[str] = None,
    parameters: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Make a Tool of a function: ``tool(f)``, ``@tool``, or ``@tool(name=..., parameters=...)``.

    ``parameters`` is a hand-written JSON Schema that replaces the one read from type hints.
    """
    if function is None:
        return functools.partial(tool, name=name, description=description, parameters=parameters)
    return Tool(function, name=name, description=description, parameters=parameters)


class ToolRun:
    """What ``run_tools`` returns: the final completion and the whole conversation."""

    __slots__ = ("completion", "messages", "rounds")

    def __init__(self, completion: ChatCompletion, messages: list[Any], rounds: int) -> None:
        #: The model's last answer, the one without tool calls.
        self.completion = completion
        #: Your messages, then every assistant turn and tool answer, ending with the final answer.
        self.messages = messages
        #: How many times the model was called.
        self.rounds = rounds

    @property
    def text(self) -> str:
        """The final answer's text."""
        return self.completion["choices"][0]["message"].get("content") or ""

    def __repr__(self) -> str:
        return f"ToolRun(rounds={self.rounds}, text={self.text!r:.80})"


# --- the loop, free of I/O ------------------------------------------------------------------------


class _Ask(NamedTuple):
    """Call the model with this request body."""

    body: dict[str, Any]


class _Call:
    """One tool call of a round: what to run, or the answer already known (a bad call)."""

    __slots__ = ("answer", "arguments", "error", "id", "kwargs", "name", "tool")

    def __init__(self, call_id: str, name: str, arguments: str) -> None:
        self.id = call_id
        self.name = name
        # The arguments as the model wrote them, to send back with the call.
        self.arguments = arguments
        self.tool: Optional[Tool] = None
        self.kwargs: dict[str, Any] = {}
        self.answer: Optional[str] = None
        self.error: Optional[ToolError] = None

    def failed(self, text: str, code: str, cause: Optional[BaseException] = None) -> None:
        self.answer = f"error: {text}"
        self.error = ToolError(f"tool call {self.name!r}: {text}", code=code, cause=cause)

    def raised(self, exc: Exception) -> None:
        self.failed(f"{self.name} raised {type(exc).__name__}: {exc}", "TOOL_FAILED", exc)

    def finished(self, value: Any) -> None:
        self.answer = value if isinstance(value, str) else json.dumps(to_jsonable(value))


class _Run(NamedTuple):
    """Run these calls; each records its own answer."""

    calls: list[_Call]


class _Stored(NamedTuple):
    """Ask whether the server keeps this response (True) or not (False): GET its path."""

    path: str


_Step = Union[_Ask, _Run, _Stored]
# A call as the model asked for it: its id (may be missing), the function's name, its arguments.
_Requested = tuple[Any, Any, Any]


class _Conversation:
    """How one API carries a tool conversation: chat's messages or the Responses API's items."""

    path: str

    @staticmethod
    def tool_param(tool: Tool) -> Any:
        """The tool as this API's ``tools`` list carries it."""
        raise NotImplementedError

    def request(self) -> dict[str, Any]:
        """The body of the next model call."""
        raise NotImplementedError

    def requested(self, reply: Any) -> list[_Requested]:
        """The calls the model asked for in ``reply``; raises ToolError when it is no answer."""
        raise NotImplementedError

    def model_turn(self, reply: Any, calls: list[_Call]) -> None:
        """Keep the model's turn."""
        raise NotImplementedError

    def tool_answers(self, calls: list[_Call]) -> None:
        """Keep the tools' answers, to send with the next call."""
        raise NotImplementedError

    def continue_by(self, reply: Any) -> Optional[_Stored]:
        """Before the second call: what to ask the server first, if anything."""
        return None

    def stored(self, kept: bool) -> None:
        """The server's answer to ``continue_by``'s question."""

    def __init__(self, body: Mapping[str, Any], tools: list[Any]) -> None:
        raise NotImplementedError

    def transcript(self) -> list[Any]:
        raise NotImplementedError

    def result(self, reply: Any, rounds: int) -> Any:
        raise NotImplementedError


class _Loop:
    """The rules of the tool loop; the clients only carry out its steps."""

    def __init__(
        self,
        tools: Sequence[Any],
        body: Mapping[str, Any],
        *,
        max_rounds: int,
        raise_tool_errors: bool,
        allow_async: bool,
        on_text: Optional[Callable[[str], object]] = None,
        request_options: Optional[RequestOptionsLike] = None,
        kind: type[_Conversation] = _Conversation,
        **extras: Any,
    ) -> None:
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise InvalidArgumentError(
                f"max_rounds must be a whole number >= 1, got {max_rounds!r}.",
                code="INVALID_OPTIONS",
            )
        self.tools = _tool_table(tools, allow_async)
        kind = _ChatConversation if kind is _Conversation else kind
        self.conversation = kind(body, [kind.tool_param(t) for t in self.tools.values()])
        self.max_rounds = max_rounds
        self.raise_tool_errors = raise_tool_errors
        self.on_text = on_text
        self.request_options = request_options
        # extra_body, extra_headers, extra_query: sent with every model call of the loop.
        self.extras = extras

    def call(self, api: Union[RequestAPI, AsyncRequestAPI], step: _Ask) -> Call:
        """The prepared request for one model call: streamed when text is wanted as it comes."""
        return api.prepare(
            self.conversation.path,
            step.body,
            self.request_options,
            stream=self.on_text is not None,
            **self.extras,
        )

    def retrieve(self, api: Union[RequestAPI, AsyncRequestAPI], step: _Stored) -> Call:
        """The GET that asks whether the server kept the last response."""
        return api.prepare(step.path, method="GET", request_options=self.request_options)

    def steps(self) -> Generator[_Step, Any, Any]:
        conversation = self.conversation
        for round_number in range(1, self.max_rounds + 1):
            reply = yield _Ask(conversation.request())
            requested = conversation.requested(reply)
            calls = [self._prepare(raw, i) for i, raw in enumerate(requested)]
            conversation.model_turn(reply, calls)
            if not calls:
                return conversation.result(reply, round_number)
            runnable = [c for c in calls if c.answer is None]
            if runnable:
                yield _Run(runnable)
            for call in calls:
                if call.error is not None and self.raise_tool_errors:
                    raise self._with_transcript(call.error)
            conversation.tool_answers(calls)
            question = conversation.continue_by(reply)
            if question is not None:
                conversation.stored((yield question))
        raise ToolError(
            f"the model still asked for tools after max_rounds={self.max_rounds} rounds; "
            "raise max_rounds, or check that tool_choice is not 'required' (it never lets the "
            "model answer). The conversation so far is in error.messages.",
            code="TOOL_ROUNDS_EXCEEDED",
            messages=conversation.transcript(),
        )

    def _with_transcript(self, error: ToolError) -> ToolError:
        error.messages = self.conversation.transcript()
        return error

    def _prepare(self, requested: _Requested, index: int) -> _Call:
        call_id, name, arguments = requested
        call = _Call(
            call_id if isinstance(call_id, str) and call_id else f"call_{index}",
            str(name),
            arguments if isinstance(arguments, str) else json.dumps(arguments or {}),
        )
        found = self.tools.get(name) if isinstance(name, str) else None
        if found is None:
            available = ", ".join(self.tools)
            call.failed(
                f"there is no tool named {name!r}; the tools are: {available}.", "TOOL_UNKNOWN"
            )
            return call
        try:
            checked = found.checked_arguments(arguments)
        except ValueError as exc:
            call.failed(
                f"{exc}; call {found.name} again with arguments that fit.", "TOOL_ARGUMENTS_INVALID"
            )
            return call
        try:
            call.kwargs = found._convert(checked)
        except Exception as exc:  # a parameter's type said no: the model hears it, as for the tool
            call.failed(
                f"the arguments fit the schema but {found.name} rejected them "
                f"({type(exc).__name__}: {exc}); call it again with other arguments.",
                "TOOL_ARGUMENTS_INVALID",
                exc,
            )
            return call
        call.tool = found
        return call


def _tool_table(tools: Sequence[Any], allow_async: bool) -> dict[str, Tool]:
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence) or not tools:
        raise InvalidArgumentTypeError(
            "tools must be a non-empty list of functions (or tool(...) objects).",
            code="INVALID_TOOL",
        )
    table: dict[str, Tool] = {}
    for index, given in enumerate(tools):
        if isinstance(given, Mapping):
            raise InvalidArgumentTypeError(
                f"tools[{index}] is a tool dict, which has no function to run; wrap the function "
                "instead: tool(my_function, parameters={...}) keeps your hand-written schema.",
                code="INVALID_TOOL",
            )
        made = given if isinstance(given, Tool) else Tool(given)
        if made.name in table:
            raise InvalidArgumentError(f"two tools are named {made.name!r}.", code="INVALID_TOOL")
        if made.is_async and not allow_async:
            raise InvalidArgumentError(
                f"tool {made.name!r} is an async function: run it with AsyncBabyAPI, "
                "or give BabyAPI a plain function.",
                code="INVALID_TOOL",
            )
        table[made.name] = made
    return table


# --- chat: a list of messages ---------------------------------------------------------------------


class _ChatConversation(_Conversation):
    path = "/v1/chat/completions"

    def __init__(self, body: Mapping[str, Any], tools: list[Any]) -> None:
        messages = body.get("messages")
        if not isinstance(messages, (list, tuple)):
            raise InvalidArgumentTypeError(
                "messages must be a list such as [{'role': 'user', 'content': 'Hello'}].",
                code="INVALID_REQUEST_BODY",
            )
        self.messages: list[Any] = list(cast("Sequence[Any]", messages))
        self.body = {**body, "tools": tools}

    @staticmethod
    def tool_param(tool: Tool) -> Any:
        return tool.param

    def request(self) -> dict[str, Any]:
        return {**self.body, "messages": list(self.messages)}

    def requested(self, reply: Any) -> list[_Requested]:
        requested: list[_Requested] = []
        for raw in _tool_calls(_first_message(reply)):
            fields = as_object(raw)
            function = as_object(fields.get("function"))
            requested.append((fields.get("id"), function.get("name"), function.get("arguments")))
        return requested

    def model_turn(self, reply: Any, calls: list[_Call]) -> None:
        # Only what every server accepts back: extra response keys (reasoning, refusal: null)
        # can 400.
        message = _first_message(reply)
        turn: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
        if calls:
            turn["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in calls
            ]
        self.messages.append(turn)

    def tool_answers(self, calls: list[_Call]) -> None:
        for call in calls:
            self.messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": call.answer or ""}
            )

    def transcript(self) -> list[Any]:
        return self.messages

    def result(self, reply: Any, rounds: int) -> ToolRun:
        return ToolRun(cast("ChatCompletion", reply), self.messages, rounds)


def _first_message(completion: Any) -> dict[str, Any]:
    choices = as_object(completion).get("choices")
    first: object = (
        cast("list[object]", choices)[0] if isinstance(choices, list) and choices else None
    )
    message = as_object(first).get("message")
    if not isinstance(message, dict):
        raise ToolError(
            f"the server's answer has no message to act on: {completion!r:.120}",
            code="TOOL_BAD_RESPONSE",
        )
    return cast("dict[str, Any]", message)


def _tool_calls(message: dict[str, Any]) -> list[object]:
    calls = message.get("tool_calls")
    return cast("list[object]", calls) if isinstance(calls, list) else []


# --- the Responses API: a list of items ------------------------------------------------------------

PREVIOUS_RESPONSE_ID = "previous_response_id"
CONVERSATION = "conversation"


class ResponseToolRun:
    """What ``responses.run_tools`` returns: the final response and the whole conversation."""

    __slots__ = ("continued_by", "items", "response", "rounds")

    def __init__(
        self, response: Response, items: list[Any], rounds: int, continued_by: Optional[str]
    ) -> None:
        #: The model's last response, the one without function calls.
        self.response = response
        #: Your input items, then every function call and its output, ending with the answer.
        self.items = items
        #: How many times the model was called.
        self.rounds = rounds
        #: How the rounds after the first went on: "previous_response_id" (the server keeps
        #: responses, so only the function outputs were sent), "conversation" (it does not,
        #: or store=False was asked: the whole conversation was sent again), or None (the
        #: model called no function).
        self.continued_by = continued_by

    @property
    def text(self) -> str:
        """The final answer's text."""
        return self.response.get("output_text") or ""

    def __repr__(self) -> str:
        return (
            f"ResponseToolRun(rounds={self.rounds}, continued_by={self.continued_by!r}, "
            f"text={self.text!r:.80})"
        )


class _ResponsesConversation(_Conversation):
    path = "/v1/responses"

    def __init__(self, body: Mapping[str, Any], tools: list[Any]) -> None:
        given = body.get("input")
        if isinstance(given, str):
            items: list[Any] = [{"role": "user", "content": given}]
        elif isinstance(given, (list, tuple)):
            items = list(cast("Sequence[Any]", given))
        else:
            raise InvalidArgumentTypeError(
                "input must be a string or a list of items such as "
                "[{'role': 'user', 'content': 'Hello'}].",
                code="INVALID_REQUEST_BODY",
            )
        self.items = items
        self.body = {**body, "tools": tools}
        # Sent with the next call when going on by previous_response_id.
        self._new: list[Any] = []
        self._last_id: Optional[str] = None
        self.continued_by: Optional[str] = CONVERSATION if body.get("store") is False else None

    @staticmethod
    def tool_param(tool: Tool) -> Any:
        param: dict[str, Any] = {"type": "function", "name": tool.name}
        if tool.description:
            param["description"] = tool.description
        param["parameters"] = tool.parameters
        return param

    def request(self) -> dict[str, Any]:
        if self._last_id is None:
            return {**self.body, "input": list(self.items)}
        if self.continued_by == PREVIOUS_RESPONSE_ID:
            return {**self.body, "input": self._new, PREVIOUS_RESPONSE_ID: self._last_id}
        return {**self.body, "input": list(self.items)}

    def requested(self, reply: Any) -> list[_Requested]:
        return [
            (item.get("call_id"), item.get("name"), item.get("arguments"))
            for item in _output_items(reply)
            if item.get("type") == "function_call"
        ]

    def model_turn(self, reply: Any, calls: list[_Call]) -> None:
        self._last_id = as_object(reply).get("id")
        self._new = []
        for item in _output_items(reply):
            kept = _item_to_send_back(item)
            if kept is not None:
                self.items.append(kept)

    def tool_answers(self, calls: list[_Call]) -> None:
        self._new = [
            {"type": "function_call_output", "call_id": call.id, "output": call.answer or ""}
            for call in calls
        ]
        self.items.extend(self._new)

    def continue_by(self, reply: Any) -> Optional[_Stored]:
        if self.continued_by is not None:
            return None
        if not isinstance(self._last_id, str) or not self._last_id:
            self.continued_by = CONVERSATION
            return None
        return _Stored(f"{self.path}/{quote(self._last_id, safe='')}")

    def stored(self, kept: bool) -> None:
        self.continued_by = PREVIOUS_RESPONSE_ID if kept else CONVERSATION

    def transcript(self) -> list[Any]:
        return self.items

    def result(self, reply: Any, rounds: int) -> ResponseToolRun:
        from babyapi._response_events import with_output_text

        response = cast("Response", with_output_text(reply))
        return ResponseToolRun(response, self.items, rounds, self.continued_by)


def _output_items(reply: Any) -> list[dict[str, Any]]:
    output = as_object(reply).get("output")
    if not isinstance(output, list):
        raise ToolError(
            f"the server's answer is not a response with output items: {reply!r:.120}",
            code="TOOL_BAD_RESPONSE",
        )
    return [cast("dict[str, Any]", i) for i in cast("list[object]", output) if isinstance(i, dict)]


def _item_to_send_back(item: dict[str, Any]) -> Optional[dict[str, Any]]:
    """An output item as input for the next call, in the fields every server accepts back."""
    kind = item.get("type")
    if kind == "function_call":
        return {k: item[k] for k in ("type", "call_id", "name", "arguments") if k in item}
    if kind == "message":
        given = item.get("content")
        parts = cast("list[object]", given) if isinstance(given, list) else []
        content = [
            {"type": "output_text", "text": part.get("text", "")}
            for part in (as_object(p) for p in parts)
            if part.get("type") == "output_text"
        ]
        return {"type": "message", "role": "assistant", "content": content}
    return None  # reasoning: servers differ on taking it back, and the answer does not need it


# --- the two drivers ----------------------------------------------------------------------------


def _run_one(call: _Call) -> None:
    assert call.tool is not None
    try:
        call.finished(call.tool.function(**call.kwargs))
    except Exception as exc:  # the model hears about it; raise_tool_errors re-raises it
        call.raised(exc)


async def _arun_one(call: _Call) -> None:
    import anyio.to_thread  # a dependency of httpx; imported here to keep `import babyapi` fast

    assert call.tool is not None
    try:
        if call.tool.is_async:
            value = await call.tool.function(**call.kwargs)
        else:
            # A sync tool in a worker thread leaves the event loop (and other tools) running.
            value = await anyio.to_thread.run_sync(
                functools.partial(call.tool.function, **call.kwargs)
            )
        call.finished(value)
    except Exception as exc:
        call.raised(exc)


def _is_stored(error: Optional[BaseException]) -> bool:
    """A retrieve that succeeded means kept; a 404 (or no such route) means not kept."""
    if error is None:
        return True
    if isinstance(error, APIStatusError) and error.status in (404, 405, 501):
        return False
    raise error


def _drive(api: RequestAPI, loop: _Loop) -> Any:
    """Carry out the loop's steps on the sync client: tools run one after another."""
    steps = loop.steps()
    step = next(steps)
    while True:
        reply: Any = None
        on_text = loop.on_text
        if isinstance(step, _Ask) and on_text is None:
            reply = api.send(loop.call(api, step))
        elif isinstance(step, _Ask):
            with api.stream(loop.call(api, step)) as stream:
                for text in stream.text_deltas():
                    cast("Callable[[str], object]", on_text)(text)
                reply = stream.final()
        elif isinstance(step, _Stored):
            try:
                api.send(loop.retrieve(api, step))
                reply = _is_stored(None)
            except APIStatusError as error:
                reply = _is_stored(error)
        else:
            for item in step.calls:
                _run_one(item)
        try:
            step = steps.send(reply)
        except StopIteration as stop:
            return stop.value


async def _adrive(api: AsyncRequestAPI, loop: _Loop) -> Any:
    """Carry out the loop's steps on the async client: the calls of one round run concurrently."""
    import anyio

    steps = loop.steps()
    step = next(steps)
    while True:
        reply: Any = None
        on_text = loop.on_text
        if isinstance(step, _Ask) and on_text is None:
            reply = await api.send(loop.call(api, step))
        elif isinstance(step, _Ask):
            async with api.stream(loop.call(api, step)) as stream:
                async for text in stream.text_deltas():
                    cast("Callable[[str], object]", on_text)(text)
                reply = await stream.final()
        elif isinstance(step, _Stored):
            try:
                await api.send(loop.retrieve(api, step))
                reply = _is_stored(None)
            except APIStatusError as error:
                reply = _is_stored(error)
        else:
            # Each call catches its own exceptions, so the group never raises an ExceptionGroup.
            async with anyio.create_task_group() as group:
                for item in step.calls:
                    group.start_soon(_arun_one, item)
        try:
            step = steps.send(reply)
        except StopIteration as stop:
            return stop.value


def run_tools(
    api: RequestAPI, tools: Sequence[Any], body: Mapping[str, Any], **options: Any
) -> ToolRun:
    """The chat tool loop on the sync client."""
    return cast(ToolRun, _drive(api, _Loop(tools, body, allow_async=False, **options)))


async def arun_tools(
    api: AsyncRequestAPI, tools: Sequence[Any], body: Mapping[str, Any], **options: Any
) -> ToolRun:
    """The chat tool loop on the async client."""
    loop = _Loop(tools, body, allow_async=True, **options)
    return cast(ToolRun, await _adrive(api, loop))


def run_response_tools(
    api: RequestAPI, tools: Sequence[Any], body: Mapping[str, Any], **options: Any
) -> ResponseToolRun:
    """The Responses API tool loop on the sync client."""
    loop = _Loop(tools, body, allow_async=False, kind=_ResponsesConversation, **options)
    return cast(ResponseToolRun, _drive(api, loop))


async def arun_response_tools(
    api: AsyncRequestAPI, tools: Sequence[Any], body: Mapping[str, Any], **options: Any
) -> ResponseToolRun:
    """The Responses API tool loop on the async client."""
    loop = _Loop(tools, body, allow_async=True, kind=_ResponsesConversation, **options)
    return cast(ResponseToolRun, await _adrive(api, loop))
