"""run_tools: functions as tools, the loop, and every way a tool call can go wrong."""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, Literal

import anyio
import pytest

from babyapi import AsyncBabyAPI, BabyAPIError, ToolError
from babyapi.tools import Tool, tool
from drivers import Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Current weather in a city.

    Args:
        city: The city to look up.
        unit: Temperature unit.
    """
    return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


ASK = [{"role": "user", "content": "Call get_weather for Lisbon, please."}]


def reply_with_calls(*calls: tuple[str, Any]) -> Reply:
    """A chat.completion asking for tool calls; arguments may be any text."""
    tool_calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {
                "name": name,
                "arguments": args if isinstance(args, str) else json.dumps(args),
            },
        }
        for i, (name, args) in enumerate(calls)
    ]
    message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
    return reply(message, "tool_calls")


def reply_text(text: str) -> Reply:
    return reply({"role": "assistant", "content": text}, "stop")


def reply(message: dict[str, Any], finish: str) -> Reply:
    choice = {"index": 0, "message": message, "finish_reason": finish}
    return Reply.json(
        {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [choice]}
    )


# --- against the local server ----------------------------------------------------------------


def test_the_loop_runs_the_tool_and_returns_the_final_answer(local: Driver) -> None:
    run = local.call(
        lambda c: c.chat.completions.run_tools(
            model="mistral", messages=ASK, tools=[get_weather, add]
        )
    )
    assert run.rounds == 2
    roles = [m["role"] for m in run.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    call = run.messages[1]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"])["city"] == "Lisbon"
    assert json.loads(run.messages[2]["content"]) == {
        "city": "Lisbon",
        "temperature": 21,
        "unit": "celsius",
    }
    assert run.messages[2]["tool_call_id"] == call["id"]
    assert run.text and run.text == run.completion["choices"][0]["message"]["content"]


def test_tool_schemas_go_out_from_type_hints_and_docstrings(driver: Driver) -> None:
    driver.server.script(reply_text("done"))
    driver.call(
        lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[get_weather, add])
    )
    tools = driver.server.requests[0].json()["tools"]
    assert tools == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "The city to look up."},
                        "unit": {
                            "type": "string",
                            "enum": ["celsius", "fahrenheit"],
                            "description": "Temperature unit.",
                        },
                    },
                    "required": ["city"],
                    "additionalProperties": False,
                },
            },
        },
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": "Add two whole numbers.",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                    "additionalProperties": False,
                },
            },
        },
    ]


def test_on_text_streams_each_round(local: Driver) -> None:
    seen: list[str] = []
    run = local.call(
        lambda c: c.chat.completions.run_tools(
            model="mistral", messages=ASK, tools=[get_weather], on_text=seen.append
        )
    )
    assert run.rounds == 2
    assert "".join(seen) == run.text
    assert json.loads(run.messages[1]["tool_calls"][0]["function"]["arguments"])["city"] == "Lisbon"


def test_required_tool_choice_never_lets_the_model_answer(local: Driver) -> None:
    with pytest.raises(ToolError) as info:
        local.call(
            lambda c: c.chat.completions.run_tools(
                model="mistral",
                messages=ASK,
                tools=[get_weather],
                tool_choice="required",
                max_rounds=3,
            )
        )
    assert info.value.code == "TOOL_ROUNDS_EXCEEDED"
    assert "max_rounds=3" in info.value.message
    assert [m["role"] for m in info.value.messages].count("tool") == 3


def test_local_server_streams_tool_calls_in_openai_shape(local: Driver) -> None:
    stream = local.call(
        lambda c: c.chat.completions.stream(
            model="mistral",
            messages=[{"role": "user", "content": "add 2 and 40"}],
            tools=[Tool(add).param],
            tool_choice={"type": "function", "function": {"name": "add"}},
        )
    )
    final = local.stream_method(stream, "final")
    choice = final["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert json.loads(call["function"]["arguments"]) == {"a": 2, "b": 40}


# --- bad calls, answered to the model or raised (scripted server) --------------------------


@pytest.mark.parametrize(
    ("call", "answer"),
    [
        (
            ("get_time", {}),
            "error: there is no tool named 'get_time'; the tools are: get_weather, add.",
        ),
        (("add", "{not json"), "error: the arguments are not valid JSON"),
        (("add", {"a": 1}), "error: the arguments do not fit the schema at $.b: required field"),
        (
            ("add", {"a": 1, "b": "2"}),
            "error: the arguments do not fit the schema at $.b: expected integer",
        ),
        (("add", [1, 2]), "error: the arguments must be a JSON object"),
    ],
)
def test_bad_calls_are_answered_to_the_model(driver: Driver, call: Any, answer: str) -> None:
    driver.server.script(reply_with_calls(call), reply_text("sorry"))
    run = driver.call(
        lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[get_weather, add])
    )
    assert run.text == "sorry"
    tool_message = driver.server.requests[1].json()["messages"][2]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_0"
    assert tool_message["content"].startswith(answer)


def test_a_tool_that_raises_is_answered_unless_asked_to_raise(driver: Driver) -> None:
    def lookup(key: str) -> str:
        raise KeyError(key)

    driver.server.script(reply_with_calls(("lookup", {"key": "x"})), reply_text("ok"))
    driver.call(lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[lookup]))
    answer = driver.server.requests[1].json()["messages"][2]["content"]
    assert answer == "error: lookup raised KeyError: 'x'"

    driver.server.script(reply_with_calls(("lookup", {"key": "x"})))
    with pytest.raises(ToolError) as info:
        driver.call(
            lambda c: c.chat.completions.run_tools(
                model="m", messages=ASK, tools=[lookup], raise_tool_errors=True
            )
        )
    assert info.value.code == "TOOL_FAILED"
    assert isinstance(info.value.cause, KeyError)
    assert info.value.messages[-1]["role"] == "assistant"


def test_raise_tool_errors_raises_for_invented_names_too(driver: Driver) -> None:
    driver.server.script(reply_with_calls(("nope", {})))
    with pytest.raises(ToolError) as info:
        driver.call(
            lambda c: c.chat.completions.run_tools(
                model="m", messages=ASK, tools=[add], raise_tool_errors=True
            )
        )
    assert info.value.code == "TOOL_UNKNOWN"


def test_several_calls_in_a_round_are_all_answered_in_order(driver: Driver) -> None:
    driver.server.script(
        reply_with_calls(("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})), reply_text("3 7")
    )
    run = driver.call(lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[add]))
    sent = driver.server.requests[1].json()["messages"]
    assert [(m["tool_call_id"], m["content"]) for m in sent[2:]] == [
        ("call_0", "3"),
        ("call_1", "7"),
    ]
    assert sent[1]["tool_calls"][1]["function"]["arguments"] == '{"a": 3, "b": 4}'
    assert run.rounds == 2


def test_hand_written_schemas_and_tool_dicts(driver: Driver) -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    search = tool(lambda q: f"found {q}", name="search", description="Search.", parameters=schema)
    driver.server.script(reply_with_calls(("search", {"q": "cats"})), reply_text("ok"))
    driver.call(lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[search]))
    first, second = (r.json() for r in driver.server.requests)
    assert first["tools"][0]["function"] == {
        "name": "search",
        "description": "Search.",
        "parameters": schema,
    }
    assert second["messages"][2]["content"] == "found cats"
    # A tool dict keeps working with create(); run_tools needs the function behind it.
    with pytest.raises(BabyAPIError) as info:
        driver.call(
            lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[search.param])
        )
    assert info.value.code == "INVALID_TOOL" and "tool(my_function" in info.value.message


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"tools": []}, "INVALID_TOOL"),
        ({"tools": [lambda x: x]}, "INVALID_TOOL"),
        ({"tools": [add, add]}, "INVALID_TOOL"),
        ({"tools": [add], "max_rounds": 0}, "INVALID_OPTIONS"),
        ({"tools": [add], "messages": "hi"}, "INVALID_REQUEST_BODY"),
    ],
)
def test_bad_setups_fail_before_sending(driver: Driver, kwargs: dict[str, Any], code: str) -> None:
    kwargs = {"model": "m", "messages": ASK, **kwargs}
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.chat.completions.run_tools(**kwargs))
    assert info.value.code == code
    assert driver.server.requests == []


def test_an_async_tool_needs_the_async_client(driver: Driver) -> None:
    async def slow(x: int) -> int:
        return x

    if driver.is_async:
        driver.server.script(reply_with_calls(("slow", {"x": 5})), reply_text("5"))
        run = driver.call(
            lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[slow])
        )
        assert run.messages[2]["content"] == "5"
        return
    with pytest.raises(BabyAPIError, match="AsyncBabyAPI"):
        driver.call(lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[slow]))


def test_a_server_answer_without_a_message_is_a_tool_error(driver: Driver) -> None:
    driver.server.script(Reply.json({"choices": []}))
    with pytest.raises(ToolError) as info:
        driver.call(lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[add]))
    assert info.value.code == "TOOL_BAD_RESPONSE"


def test_async_calls_of_one_round_run_concurrently(driver: Driver) -> None:
    """Each tool waits for the other to start: run one after another, they would time out."""
    if not driver.is_async:
        pytest.skip("the sync client runs tools one after another")
    started: dict[str, anyio.Event] = {}

    async def meet(name: str, other: str) -> str:
        started[name].set()
        with anyio.fail_after(5):
            await started[other].wait()
        return f"{name} met {other}"

    def blocking(name: str) -> str:
        return f"thread {name}"

    driver.server.script(
        reply_with_calls(
            ("meet", {"name": "a", "other": "b"}),
            ("meet", {"name": "b", "other": "a"}),
            ("blocking", {"name": "c"}),
        ),
        reply_text("done"),
    )

    async def go() -> Any:
        started.update(a=anyio.Event(), b=anyio.Event())
        client = driver.client
        assert isinstance(client, AsyncBabyAPI)
        return await client.chat.completions.run_tools(
            model="m", messages=ASK, tools=[meet, blocking]
        )

    run = driver.run(go())
    contents = [m["content"] for m in run.messages if m["role"] == "tool"]
    assert contents == ["a met b", "b met a", "thread c"]


def test_extra_fields_and_headers_reach_every_model_call(driver: Driver) -> None:
    driver.server.script(reply_with_calls(("add", {"a": 1, "b": 2})), reply_text("3"))
    driver.call(
        lambda c: c.chat.completions.run_tools(
            model="m",
            messages=ASK,
            tools=[add],
            temperature=0,
            extra_body={"top_k": 5},
            extra_headers={"X-Trace": "t-1"},
        )
    )
    for request in driver.server.requests:
        body = request.json()
        assert body["temperature"] == 0 and body["top_k"] == 5
        assert request.headers["x-trace"] == "t-1"


# --- what the arguments' own types raise, and odd argument texts -----------------------------


@dataclasses.dataclass
class Span:
    start: int
    end: int

    def __post_init__(self) -> None:
        assert self.start <= self.end, "start must not come after end"


def measure(span: Span) -> int:
    """Length of a span."""
    return span.end - span.start


def test_an_argument_type_that_raises_is_answered_to_the_model(driver: Driver) -> None:
    bad = ("measure", {"span": {"start": 5, "end": 1}})
    driver.server.script(reply_with_calls(bad), reply_text("sorry"))
    run = driver.call(
        lambda c: c.chat.completions.run_tools(model="m", messages=ASK, tools=[measure])
    )
    assert run.text == "sorry"
    answer = driver.server.requests[1].json()["messages"][2]["content"]
    assert answer.startswith("error: the arguments fit the schema but measure rejected them")
    assert "AssertionError: start must not come after end" in answer


def test_an_argument_type_that_raises_is_a_tool_error_when_asked_to_raise(driver: Driver) -> None:
    driver.server.script(reply_with_calls(("measure", {"span": {"start": 5, "end": 1}})))
    with pytest.raises(ToolError) as info:
        driver.call(
            lambda c: c.chat.completions.run_tools(
                model="m", messages=ASK, tools=[measure], raise_tool_errors=True
            )
        )
    assert info.value.code == "TOOL_ARGUMENTS_INVALID"
    assert isinstance(info.value.cause, AssertionError)
    assert "measure rejected them" in info.value.message


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"a": 1, "b": "2"}, "the arguments do not fit the schema at $.b: expected integer"),
        ("[" * 100_000, "the arguments are not valid JSON (the JSON nests too deeply"),
    ],
)
def test_arguments_that_do_not_fit_are_a_tool_error_when_asked_to_raise(
    driver: Driver, arguments: Any, words: str
) -> None:
    driver.server.script(reply_with_calls(("add", arguments)))
    with pytest.raises(ToolError) as info:
        driver.call(
            lambda c: c.chat.completions.run_tools(
                model="m", messages=ASK, tools=[add], raise_tool_errors=True
            )
        )
    assert info.value.code == "TOOL_ARGUMENTS_INVALID"
    assert words in info.value.message
    assert info.value.messages[-1]["role"] == "assistant"
    assert len(driver.server.requests) == 1  # raised at once, not answered to the model


class Counter:
    """Counts words."""

    def __call__(self, text: str) -> int:
        return len(text.split())


def test_callable_objects_and_partials_run_as_tools(driver: Driver) -> None:
    scale = functools.partial(lambda factor, value: factor * value, 10)
    scale.func.__annotations__ = {"factor": int, "value": int}  # type: ignore[attr-defined]
    times_ten = tool(scale, name="times_ten")
    driver.server.script(
        reply_with_calls(("Counter", {"text": "one two three"}), ("times_ten", {"value": 4})),
        reply_text("3 and 40"),
    )
    driver.call(
        lambda c: c.chat.completions.run_tools(
            model="m", messages=ASK, tools=[Counter(), times_ten]
        )
    )
    first, second = (r.json() for r in driver.server.requests)
    assert [t["function"]["parameters"]["properties"] for t in first["tools"]] == [
        {"text": {"type": "string"}},
        {"value": {"type": "integer"}},
    ]
    assert [m["content"] for m in second["messages"][2:]] == ["3", "40"]
