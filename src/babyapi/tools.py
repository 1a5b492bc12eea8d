"""Tools: Python functions the model may call, and the loop that runs them.

``client.chat.completions.run_tools(...)`` builds on the client from here; the core never
imports this module. The loop itself is a generator that asks for model calls and tool runs,
so the sync and async clients share every rule and differ only in how they do the I/O.
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

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError, ToolError
from babyapi._schema import as_object, build, first_mismatch, function_schema, to_jsonable

if TYPE_CHECKING:
    from babyapi._client import AsyncBabyAPI, BabyAPI
    from babyapi._options import RequestOptionsLike
    from babyapi.types.chat import ChatCompletion, ChatCompletionToolParam

__all__ = ["Tool", "ToolRun", "tool"]

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PATH = "/v1/chat/completions"


class Tool:
    """A function the model may call, with its name, description and parameter schema.

    Calling a Tool calls the function, so ``@tool`` can decorate a function you still use.
    """

    __slots__ = ("_hints", "description", "function", "is_async", "name", "parameters")

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
        self.name: str = name or str(getattr(function, "__name__", ""))
        if not _NAME_RE.match(self.name):
            raise InvalidArgumentError(
                f"tool name {self.name!r} must be 1-64 letters, digits, '_' or '-': "
                "pass tool(function, name='...').",
                code="INVALID_TOOL",
            )
        if parameters is None:
            summary, schema, self._hints = function_schema(function)
        else:
            if not isinstance(parameters, Mapping):
                raise InvalidArgumentTypeError(
                    f"{self.name}: parameters must be a JSON Schema dict, got "
                    f"{type(parameters).__name__}.",
                    code="INVALID_TOOL",
                )
            summary, schema, self._hints = "", dict(parameters), {}
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
        """The call's arguments parsed, checked and typed; raises ValueError saying what is wrong."""
        if isinstance(raw, str):
            try:
                value: Any = json.loads(raw) if raw.strip() else {}
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
        return {k: build(v, self._hints.get(k, Any)) for k, v in fields.items()}


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

    __slots__ = ("answer", "error", "id", "kwargs", "name", "tool")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
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

    def message(self) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": self.id, "content": self.answer or ""}


class _Run(NamedTuple):
    """Run these calls; each records its own answer."""

    calls: list[_Call]


_Step = Union[_Ask, _Run]


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
        **extras: Any,
    ) -> None:
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise InvalidArgumentError(
                f"max_rounds must be a whole number >= 1, got {max_rounds!r}.",
                code="INVALID_OPTIONS",
            )
        self.tools = _tool_table(tools, allow_async)
        messages = body.get("messages")
        if not isinstance(messages, (list, tuple)):
            raise InvalidArgumentTypeError(
                "messages must be a list such as [{'role': 'user', 'content': 'Hello'}].",
                code="INVALID_REQUEST_BODY",
            )
        self.messages: list[Any] = list(cast("Sequence[Any]", messages))
        self.body = {**body, "tools": [t.param for t in self.tools.values()]}
        self.max_rounds = max_rounds
        self.raise_tool_errors = raise_tool_errors
        self.on_text = on_text
        self.request_options = request_options
        # extra_body, extra_headers, extra_query: sent with every model call of the loop.
        self.extras = extras

    def call(self, client: Any, step: _Ask) -> Any:
        """The prepared request for one model call: streamed when text is wanted as it comes."""
        return client._prepare(
            PATH,
            step.body,
            self.request_options,
            stream=self.on_text is not None,
            **self.extras,
        )

    def steps(self) -> Generator[_Step, Any, ToolRun]:
        for round_number in range(1, self.max_rounds + 1):
            completion = yield _Ask({**self.body, "messages": list(self.messages)})
            message = _first_message(completion)
            calls = [self._prepare(raw, i) for i, raw in enumerate(_tool_calls(message))]
            self.messages.append(_assistant_turn(message, calls))
            if not calls:
                return ToolRun(cast("ChatCompletion", completion), self.messages, round_number)
            runnable = [c for c in calls if c.answer is None]
            if runnable:
                yield _Run(runnable)
            for call in calls:
                if call.error is not None and self.raise_tool_errors:
                    raise self._with_transcript(call.error)
                self.messages.append(call.message())
        raise ToolError(
            f"the model still asked for tools after max_rounds={self.max_rounds} rounds; "
            "raise max_rounds, or check that tool_choice is not 'required' (it never lets the "
            "model answer). The conversation so far is in error.messages.",
            code="TOOL_ROUNDS_EXCEEDED",
            messages=self.messages,
        )

    def _with_transcript(self, error: ToolError) -> ToolError:
        error.messages = self.messages
        return error

    def _prepare(self, raw: Any, index: int) -> _Call:
        fields = as_object(raw)
        function = as_object(fields.get("function"))
        call_id = fields.get("id")
        name = function.get("name")
        call = _Call(
            call_id if isinstance(call_id, str) and call_id else f"call_{index}", str(name)
        )
        found = self.tools.get(name) if isinstance(name, str) else None
        if found is None:
            available = ", ".join(self.tools)
            call.failed(
                f"there is no tool named {name!r}; the tools are: {available}.", "TOOL_UNKNOWN"
            )
            return call
        try:
            call.kwargs = found.arguments(function.get("arguments"))
        except ValueError as exc:
            call.failed(
                f"{exc}; call {found.name} again with arguments that fit.", "TOOL_ARGUMENTS_INVALID"
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


def _assistant_turn(message: dict[str, Any], calls: list[_Call]) -> dict[str, Any]:
    # Only what every server accepts back: extra response keys (reasoning, refusal: null) can 400.
    turn: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if calls:
        raws = _tool_calls(message)
        turn["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments_text(raw)},
            }
            for call, raw in zip(calls, raws)
        ]
    return turn


def _arguments_text(raw: Any) -> str:
    arguments = as_object(as_object(raw).get("function")).get("arguments")
    return arguments if isinstance(arguments, str) else json.dumps(arguments or {})


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


def run_tools(
    client: BabyAPI, tools: Sequence[Any], body: Mapping[str, Any], **options: Any
) -> ToolRun:
    """The tool loop on the sync client: tools run one after another."""
    loop = _Loop(tools, body, allow_async=False, **options)
    steps = loop.steps()
    step = next(steps)
    while True:
        reply: Any = None
        on_text = loop.on_text
        if isinstance(step, _Ask) and on_text is None:
            reply = client._request(loop.call(client, step))
        elif isinstance(step, _Ask):
            with client._stream(loop.call(client, step)) as stream:
                for text in stream.text_deltas():
                    cast("Callable[[str], object]", on_text)(text)
                reply = stream.final()
        else:
            for item in step.calls:
                _run_one(item)
        try:
            step = steps.send(reply)
        except StopIteration as stop:
            return cast(ToolRun, stop.value)


async def arun_tools(
    client: AsyncBabyAPI, tools: Sequence[Any], body: Mapping[str, Any], **options: Any
) -> ToolRun:
    """The tool loop on the async client: the calls of one round run concurrently."""
    import anyio

    loop = _Loop(tools, body, allow_async=True, **options)
    steps = loop.steps()
    step = next(steps)
    while True:
        reply: Any = None
        on_text = loop.on_text
        if isinstance(step, _Ask) and on_text is None:
            reply = await client._request(loop.call(client, step))
        elif isinstance(step, _Ask):
            async with client._stream(loop.call(client, step)) as stream:
                async for text in stream.text_deltas():
                    cast("Callable[[str], object]", on_text)(text)
                reply = await stream.final()
        else:
            # Each call catches its own exceptions, so the group never raises an ExceptionGroup.
            async with anyio.create_task_group() as group:
                for item in step.calls:
                    group.start_soon(_arun_one, item)
        try:
            step = steps.send(reply)
        except StopIteration as stop:
            return cast(ToolRun, stop.value)
