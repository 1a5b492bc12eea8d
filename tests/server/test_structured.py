"""The local server's JSON answers and tool calls, over HTTP, in OpenAI's shapes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from babyapi._schema import first_mismatch

USER = {"role": "user", "content": "Describe Lisbon in Portugal: 3 facts, rated 4"}


def chat(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post(
        "/v1/chat/completions", json={"model": "mistral", "messages": [USER], **body}
    )


def fmt(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}


SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    {
        "type": "object",
        "properties": {
            "facts": {"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 3},
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "score": {"type": "number", "exclusiveMinimum": 10},
            "ok": {"type": "boolean"},
            "nothing": {"type": "null"},
            "kind": {"enum": ["town", "city", "village"]},
            "fixed": {"const": 7},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 12}]},
            "when": {"type": "string", "format": "date-time"},
            "short": {"type": "string", "maxLength": 3},
            "map": {"type": "object", "additionalProperties": {"type": "integer"}},
            "either": {"type": ["null", "integer"]},
        },
        "required": ["facts", "rating", "score", "ok", "kind", "fixed", "maybe", "when", "short"],
        "additionalProperties": False,
    },
    {  # pydantic's shape: definitions and references
        "$defs": {
            "Place": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
                "title": "Place",
            }
        },
        "type": "object",
        "properties": {"places": {"type": "array", "items": {"$ref": "#/$defs/Place"}}},
        "required": ["places"],
        "title": "Answer",
    },
    {"type": "array", "items": {"type": "integer"}},
    {"type": "string"},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_json_schema_answers_fit_the_schema(client: httpx.Client, schema: dict[str, Any]) -> None:
    response = chat(client, response_format=fmt(schema))
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    value = json.loads(choice["message"]["content"])
    assert first_mismatch(value, schema) is None, value
    assert choice["finish_reason"] == "stop"


def test_strings_come_from_the_prompt_and_numbers_respect_bounds(client: httpx.Client) -> None:
    value = json.loads(
        chat(client, response_format=fmt(SCHEMAS[1])).json()["choices"][0]["message"]["content"]
    )
    assert all(fact in USER["content"] for fact in value["facts"])
    assert value["rating"] == 3 and value["score"] > 10
    assert value["kind"] == "town"  # no option is named in the prompt: the first one


def test_answers_are_deterministic(client: httpx.Client) -> None:
    texts = {
        chat(client, response_format=fmt(SCHEMAS[1])).json()["choices"][0]["message"]["content"]
        for _ in range(3)
    }
    assert len(texts) == 1


def test_json_object_gives_an_object(client: httpx.Client) -> None:
    content = chat(client, response_format={"type": "json_object"}).json()["choices"][0]["message"][
        "content"
    ]
    assert isinstance(json.loads(content), dict)


def test_explicit_max_tokens_cuts_the_json_with_finish_length(client: httpx.Client) -> None:
    choice = chat(client, response_format=fmt(SCHEMAS[1]), max_tokens=5).json()["choices"][0]
    assert choice["finish_reason"] == "length"
    with pytest.raises(ValueError):
        json.loads(choice["message"]["content"])


def test_streamed_json_joins_to_the_same_answer(client: httpx.Client) -> None:
    whole = chat(client, response_format=fmt(SCHEMAS[1]), temperature=0).json()
    with client.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": "mistral",
            "messages": [USER],
            "response_format": fmt(SCHEMAS[1]),
            "stream": True,
        },
    ) as response:
        frames = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")
        ]
    text = "".join(f["choices"][0]["delta"].get("content") or "" for f in frames if f["choices"])
    assert text == whole["choices"][0]["message"]["content"]
    assert len(frames) > 10


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "string", "pattern": "^a+$"}, "pattern"),
        ({"allOf": [{"type": "string"}]}, "allOf"),
        ({"type": "string", "format": "ipv4"}, "ipv4"),
        ({"$ref": "https://example.com/schema"}, "https://example.com/schema"),
        ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}}, "properties.a.not"),
        ({"type": "array", "items": [{"type": "string"}]}, "items"),
    ],
)
def test_unsupported_schema_features_are_400_in_openai_shape(
    client: httpx.Client, schema: dict[str, Any], words: str
) -> None:
    response = chat(client, response_format=fmt(schema))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "unsupported_schema"
    assert words in error["message"] or words in error["param"]


def test_malformed_response_formats_are_refused(client: httpx.Client) -> None:
    for bad in (
        {"type": "yaml"},
        {"type": "json_schema"},
        "json",
        {"type": "json_schema", "json_schema": {"schema": {"type": "strange"}}},
    ):
        assert chat(client, response_format=bad).status_code == 400, bad


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time"}}


def ask(client: httpx.Client, text: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/chat/completions",
        json={"model": "mistral", "messages": [{"role": "user", "content": text}], **body},
    )
    assert response.status_code == 200, response.text
    choice: dict[str, Any] = response.json()["choices"][0]
    return choice


def test_auto_calls_a_tool_the_user_names_with_fitting_arguments(client: httpx.Client) -> None:
    choice = ask(client, "Use get_weather for Lisbon over 3 days", tools=[WEATHER, TIME])
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Lisbon", "days": 3}


def test_auto_answers_in_text_when_no_tool_is_named(client: httpx.Client) -> None:
    choice = ask(client, "Tell me about Lisbon", tools=[WEATHER])
    assert choice["finish_reason"] in ("stop", "length")
    assert choice["message"]["content"] and choice["message"]["tool_calls"] == []


def test_auto_answers_in_text_after_the_tool_answered(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "Use get_weather for Lisbon"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny and warm"},
    ]
    response = client.post(
        "/v1/chat/completions", json={"model": "mistral", "messages": messages, "tools": [WEATHER]}
    )
    message = response.json()["choices"][0]["message"]
    assert message["tool_calls"] == [] and message["content"]


def test_both_named_tools_are_called_unless_parallel_calls_are_off(client: httpx.Client) -> None:
    text = "Call get_time, then get_weather for Lisbon"
    calls = ask(client, text, tools=[WEATHER, TIME])["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_time", "get_weather"]
    assert json.loads(calls[0]["function"]["arguments"]) == {}
    one = ask(client, text, tools=[WEATHER, TIME], parallel_tool_calls=False)["message"][
        "tool_calls"
    ]
    assert [c["function"]["name"] for c in one] == ["get_time"]


def test_required_and_named_tool_choice(client: httpx.Client) -> None:
    calls = ask(client, "Hello", tools=[WEATHER, TIME], tool_choice="required")["message"][
        "tool_calls"
    ]
    assert [c["function"]["name"] for c in calls] == ["get_weather"]
    named = {"type": "function", "function": {"name": "get_time"}}
    calls = ask(client, "Use get_weather", tools=[WEATHER, TIME], tool_choice=named)["message"][
        "tool_calls"
    ]
    assert [c["function"]["name"] for c in calls] == ["get_time"]
    assert (
        ask(client, "Use get_weather", tools=[WEATHER], tool_choice="none")["message"]["tool_calls"]
        == []
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            400,
        ),
        ({"tool_choice": "required"}, 400),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, 400),
        ({"tools": [{"type": "function"}]}, 400),
        ({"tools": "get_weather"}, 400),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {"type": "object", "properties": {"a": {"pattern": "x"}}},
                        },
                    }
                ]
            },
            400,
        ),
    ],
)
def test_bad_tool_requests_are_refused(
    client: httpx.Client, body: dict[str, Any], status: int
) -> None:
    response = chat(client, **body)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) >= {"message", "type", "param", "code"}


def test_tool_calls_stream_in_openai_shape(client: httpx.Client) -> None:
    body = {
        "model": "mistral",
        "messages": [{"role": "user", "content": "Use get_weather for Lisbon"}],
        "tools": [WEATHER],
        "stream": True,
    }
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        frames = [
            json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")
        ]
    deltas = [f["choices"][0]["delta"] for f in frames]
    assert deltas[0]["role"] == "assistant"
    head = deltas[1]["tool_calls"][0]
    assert (
        head["index"] == 0
        and head["id"].startswith("call_")
        and head["function"]["name"] == "get_weather"
    )
    arguments = "".join(
        d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:] if d.get("tool_calls")
    )
    assert json.loads(arguments)["city"] == "Lisbon"
    assert frames[-1]["choices"][0]["finish_reason"] == "tool_calls"
