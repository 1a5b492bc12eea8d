"""The Responses API: create, stream, parse, retrieve, cancel, wait and the tool loop."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypedDict

import pytest

from babyapi import (
    APITimeoutError,
    BabyAPIError,
    BadRequestError,
    InvalidArgumentTypeError,
    NotFoundError,
    StructuredOutputError,
    UsageTracker,
)
from drivers import Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]


class City(TypedDict):
    name: str
    population: int


@dataclass
class Place:
    name: str
    country: str


def get_weather(city: str) -> dict[str, Any]:
    """Current weather in a city.

    Args:
        city: The city to look up.
    """
    return {"city": city, "temperature": 21}


def events_of(stream: Any, driver: Driver) -> list[Any]:
    if not driver.is_async:
        return list(stream)

    async def collect() -> list[Any]:
        return [event async for event in stream]

    return driver.run(collect())


# --- against the local server ----------------------------------------------------------------


def test_create_answers_with_text_usage_and_output_text(local: Driver) -> None:
    res = local.call(lambda c: c.responses.create(model="mistral", input="Say hello to Lisbon."))
    assert res["object"] == "response"
    assert res["status"] == "completed"
    (message,) = res["output"]
    assert message["type"] == "message"
    assert res["output_text"] == message["content"][0]["text"] != ""
    usage = res["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_max_output_tokens_cuts_the_answer_and_says_so(local: Driver) -> None:
    res = local.call(
        lambda c: c.responses.create(model="mistral", input="Tell a story.", max_output_tokens=3)
    )
    assert res["status"] == "incomplete"
    assert res["incomplete_details"] == {"reason": "max_output_tokens"}
    assert res["usage"]["output_tokens"] == 3


def test_stream_names_its_events_and_final_matches_the_deltas(local: Driver) -> None:
    body = {"model": "mistral", "input": "Say hello to Lisbon.", "max_output_tokens": 12}
    events = events_of(local.client.responses.stream(**body), local)
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed" or kinds[-1] == "response.incomplete"
    assert "response.output_text.delta" in kinds
    assert [e.data["sequence_number"] for e in events] == list(range(len(events)))
    stream = local.client.responses.stream(**body)
    deltas = local.stream_method(stream, "text_deltas")
    final = local.stream_method(stream, "final")
    assert "".join(deltas) == final["output_text"] != ""
    assert final["usage"]["output_tokens"] == len(deltas)


def test_parse_gives_the_type_asked_for(local: Driver) -> None:
    parsed = local.call(
        lambda c: c.responses.parse(
            model="mistral", input="Lisbon has 545000 people.", text_format=City
        )
    )
    assert parsed.parsed == {"name": "Lisbon", "population": 545000}
    assert json.loads(parsed.output_text) == parsed.parsed
    assert parsed.status == "completed"
    place = local.call(
        lambda c: c.responses.parse(
            model="mistral", input="Porto is in Portugal.", text_format=Place
        )
    )
    assert isinstance(place.parsed, Place)


def test_stream_with_a_text_format_parses_the_final_answer(local: Driver) -> None:
    stream = local.client.responses.stream(
        model="mistral", input="Lisbon has 545000 people.", text_format=City
    )
    final = local.stream_method(stream, "final")
    assert final.parsed == {"name": "Lisbon", "population": 545000}


def test_a_stored_response_is_retrieved_and_continued(local: Driver) -> None:
    first = local.call(lambda c: c.responses.create(model="mistral", input="Name a city."))
    again = local.call(lambda c: c.responses.retrieve(first["id"]))
    assert again["id"] == first["id"]
    assert again["output_text"] == first["output_text"]
    follow = local.call(
        lambda c: c.responses.create(
            model="mistral", input="And another?", previous_response_id=first["id"]
        )
    )
    assert follow["previous_response_id"] == first["id"]
    # The stored conversation is read back: the prompt is longer than the new input alone.
    alone = local.call(lambda c: c.responses.create(model="mistral", input="And another?"))
    assert follow["usage"]["input_tokens"] > alone["usage"]["input_tokens"]


def test_unknown_ids_are_not_found(local: Driver) -> None:
    with pytest.raises(NotFoundError) as info:
        local.call(lambda c: c.responses.retrieve("resp_missing"))
    assert "resp_missing" in info.value.message
    with pytest.raises(NotFoundError):
        local.call(
            lambda c: c.responses.create(
                model="mistral", input="Hi", previous_response_id="resp_missing"
            )
        )


def test_store_false_keeps_nothing(local: Driver) -> None:
    res = local.call(lambda c: c.responses.create(model="mistral", input="Hi", store=False))
    with pytest.raises(NotFoundError):
        local.call(lambda c: c.responses.retrieve(res["id"]))


def test_background_response_is_waited_for(local: Driver) -> None:
    queued = local.call(
        lambda c: c.responses.create(model="mistral", input="Write a line.", background=True)
    )
    assert queued["status"] == "queued"
    assert queued["output_text"] == ""
    done = local.call(lambda c: c.responses.wait(queued, poll_interval_s=0.5))
    assert done["status"] == "completed"
    assert done["output_text"] != ""
    # The local server moves a background response one step per retrieve: two polls.
    assert local.time.sleeps == [0.5, 0.5]


def test_background_response_is_cancelled(local: Driver) -> None:
    queued = local.call(
        lambda c: c.responses.create(model="mistral", input="Write a line.", background=True)
    )
    cancelled = local.call(lambda c: c.responses.cancel(queued["id"]))
    assert cancelled["status"] == "cancelled"
    assert local.call(lambda c: c.responses.retrieve(queued["id"]))["status"] == "cancelled"
    with pytest.raises(BadRequestError) as info:
        local.call(lambda c: c.responses.cancel(queued["id"]))
    assert "cancelled" in info.value.message


def test_with_response_gives_status_and_headers(local: Driver) -> None:
    answer = local.call(
        lambda c: c.with_response.responses.create(model="mistral", input="Hi there.")
    )
    assert answer.status == 200
    assert answer.request_id
    assert answer.data["output_text"] != ""


def test_run_tools_goes_on_by_previous_response_id_when_the_server_stores(local: Driver) -> None:
    run = local.call(
        lambda c: c.responses.run_tools(
            model="mistral", input="Call get_weather for Lisbon, please.", tools=[get_weather]
        )
    )
    assert run.rounds == 2
    assert run.continued_by == "previous_response_id"
    kinds = [item.get("type", "message") for item in run.items]
    assert kinds == ["message", "function_call", "function_call_output", "message"]
    call, output = run.items[1], run.items[2]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Lisbon"}
    assert output["call_id"] == call["call_id"]
    assert json.loads(output["output"]) == {"city": "Lisbon", "temperature": 21}
    assert run.text == run.response["output_text"] != ""


def test_run_tools_sends_the_conversation_again_without_storage(local: Driver) -> None:
    run = local.call(
        lambda c: c.responses.run_tools(
            model="mistral",
            input="Call get_weather for Lisbon, please.",
            tools=[get_weather],
            store=False,
        )
    )
    assert run.continued_by == "conversation"
    assert run.rounds == 2
    assert run.text != ""


def test_run_tools_streams_text_as_it_comes(local: Driver) -> None:
    texts: list[str] = []
    run = local.call(
        lambda c: c.responses.run_tools(
            model="mistral",
            input="Call get_weather for Lisbon, please.",
            tools=[get_weather],
            on_text=texts.append,
        )
    )
    assert "".join(texts) == run.text != ""


# --- on the wire (scripted server) ------------------------------------------------------------


def response(text: str = "Hi.", **fields: Any) -> dict[str, Any]:
    message = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    body = {
        "id": "resp_1",
        "object": "response",
        "model": "m",
        "status": "completed",
        "output": [message],
        "usage": {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6},
    }
    return {**body, **fields}


def named(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def text_events(*pieces: str) -> list[bytes]:
    head = {"id": "resp_1", "object": "response", "model": "m", "status": "in_progress"}
    events = [named({"type": "response.created", "response": {**head, "output": []}})]
    item = {"type": "message", "id": "msg_1", "role": "assistant", "content": []}
    events.append(named({"type": "response.output_item.added", "output_index": 0, "item": item}))
    part = {"type": "output_text", "text": "", "annotations": []}
    events.append(
        named(
            {
                "type": "response.content_part.added",
                "output_index": 0,
                "content_index": 0,
                "part": part,
            }
        )
    )
    for piece in pieces:
        delta = {"type": "response.output_text.delta", "output_index": 0, "content_index": 0}
        events.append(named({**delta, "delta": piece}))
    return events


def test_create_sends_the_body_as_given(driver: Driver) -> None:
    driver.server.script(Reply.json(response()))
    res = driver.call(
        lambda c: c.responses.create(
            model="m", input="Hi", instructions="Be brief.", extra_body={"top_k": 5}
        )
    )
    (req,) = driver.server.requests
    assert req.url_path == "/v1/responses"
    assert req.json() == {"model": "m", "input": "Hi", "instructions": "Be brief.", "top_k": 5}
    assert res["output_text"] == "Hi."


def test_parse_sends_a_flat_json_schema_format(driver: Driver) -> None:
    driver.server.script(Reply.json(response('{"name": "Lisbon", "population": 5}')))
    parsed = driver.call(lambda c: c.responses.parse(model="m", input="x", text_format=City))
    fmt = driver.server.requests[0].json()["text"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["name"] == "City"
    assert fmt["schema"]["required"] == ["name", "population"]
    assert parsed.parsed == {"name": "Lisbon", "population": 5}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (response("not json"), "OUTPUT_NOT_JSON"),
        (response('{"name": "Lis', status="incomplete"), "OUTPUT_TRUNCATED"),
        (response('{"name": 3, "population": 1}'), "OUTPUT_SCHEMA_MISMATCH"),
        (
            response(
                output=[{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}]
            ),
            "OUTPUT_NOT_JSON",
        ),
        (
            response(
                output=[
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "refusal", "refusal": "I cannot."}],
                    }
                ]
            ),
            "OUTPUT_REFUSED",
        ),
    ],
)
def test_parse_names_what_is_wrong_with_the_answer(
    driver: Driver, answer: dict[str, Any], code: str
) -> None:
    driver.server.script(Reply.json(answer))
    with pytest.raises(StructuredOutputError) as info:
        driver.call(lambda c: c.responses.parse(model="m", input="x", text_format=City))
    assert info.value.code == code
    assert info.value.completion is not None


def test_a_stream_that_ends_without_completed_is_assembled(driver: Driver) -> None:
    call_item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f"}
    events = [
        *text_events("Hel", "lo"),
        named({"type": "response.output_item.added", "output_index": 1, "item": call_item}),
        named(
            {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"a"'}
        ),
        named(
            {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": ": 1}"}
        ),
    ]
    driver.server.script(Reply.sse(events, done=False))
    final = driver.stream_method(driver.client.responses.stream(model="m", input="x"), "final")
    assert final["id"] == "resp_1"
    assert final["output_text"] == "Hello"
    assert final["output"][1]["arguments"] == '{"a": 1}'
    assert final["output"][1]["call_id"] == "call_1"


def test_the_completed_event_gives_the_final_response(driver: Driver) -> None:
    whole = response("Hello", usage={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})
    completed = named({"type": "response.completed", "response": whole})
    driver.server.script(Reply.sse([*text_events("Hel", "lo"), completed], done=False))
    stream = driver.client.responses.stream(model="m", input="x")
    assert driver.stream_method(stream, "text_deltas") == ["Hel", "lo"]
    final = driver.stream_method(stream, "final")
    assert final == {**whole, "output_text": "Hello"}


def test_a_server_that_ignores_stream_still_gives_final(driver: Driver) -> None:
    driver.server.script(Reply.json(response("Whole.")))
    stream = driver.client.responses.stream(model="m", input="x")
    assert driver.stream_method(stream, "text_deltas") == []
    driver.server.script(Reply.json(response("Whole.")))
    final = driver.stream_method(driver.client.responses.stream(model="m", input="x"), "final")
    assert final == {**response("Whole."), "output_text": "Whole."}


def test_response_failed_mid_stream_raises_and_keeps_the_partial_answer(driver: Driver) -> None:
    failed = named(
        {
            "type": "response.failed",
            "response": {
                "id": "resp_1",
                "object": "response",
                "status": "failed",
                "output": [],
                "error": {"code": "server_error", "message": "the engine died"},
            },
        }
    )
    driver.server.script(Reply.sse([*text_events("Hel", "lo"), failed], done=False))
    seen: list[str] = []
    with pytest.raises(BabyAPIError) as info:
        for event in events_of(driver.client.responses.stream(model="m", input="x"), driver):
            seen.append(event.type)
    assert "the engine died" in info.value.message
    assert info.value.code == "server_error"
    assert info.value.partial is not None
    assert info.value.partial["status"] == "failed"


def test_an_error_event_mid_stream_raises_with_the_text_so_far(driver: Driver) -> None:
    error = named({"type": "error", "code": "overloaded", "message": "too busy", "param": None})
    driver.server.script(Reply.sse([*text_events("Hel", "lo"), error], done=False))
    with pytest.raises(BabyAPIError) as info:
        events_of(driver.client.responses.stream(model="m", input="x"), driver)
    assert info.value.code == "overloaded"
    assert "too busy" in info.value.message
    assert info.value.partial is not None
    assert info.value.partial["output_text"] == "Hello"


def test_a_stalled_stream_times_out_with_the_text_so_far(driver: Driver) -> None:
    driver.server.script(Reply.sse(text_events("Hel"), done=False, hang_after_chunks_s=3.0))
    with pytest.raises(APITimeoutError) as info:
        events_of(
            driver.client.responses.stream(
                model="m", input="x", request_options={"timeout_s": 0.2}
            ),
            driver,
        )
    assert info.value.partial is not None
    assert info.value.partial["output_text"] == "Hel"


def test_a_read_timeout_on_create_is_not_retried(driver: Driver) -> None:
    driver.server.script(Reply.json(response(), delay_s=1.0), Reply.json(response()))
    with pytest.raises(APITimeoutError):
        driver.call(
            lambda c: c.responses.create(model="m", input="x", request_options={"timeout_s": 0.2})
        )
    assert len(driver.server.requests) == 1


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.responses.create(model="m", input=42), "INVALID_REQUEST_BODY"),
        (lambda c: c.responses.create(model="m", input=["hi"]), "INVALID_REQUEST_BODY"),
        (lambda c: c.responses.create(model="m", input="x", stream=True), "STREAM_METHOD_REQUIRED"),
        (
            lambda c: c.responses.create(model="m", input="x", text_format=City),
            "INVALID_REQUEST_BODY",
        ),
        (lambda c: c.responses.retrieve(""), "INVALID_REQUEST_BODY"),
        (lambda c: c.responses.cancel(None), "INVALID_REQUEST_BODY"),
        (
            lambda c: c.responses.parse(model="m", input="x", text_format=42),
            "INVALID_RESPONSE_FORMAT",
        ),
        (lambda c: c.responses.wait("resp_1", deadline_s=0), "INVALID_TIMEOUT"),
    ],
)
def test_bad_arguments_fail_before_any_request(driver: Driver, call: Any, code: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.call(call)
    assert info.value.code == code
    assert driver.server.requests == []


def test_ids_are_escaped_in_the_path(driver: Driver) -> None:
    driver.server.script(Reply.json(response(status="cancelled")))
    driver.call(lambda c: c.responses.cancel("resp/1?x"))
    (req,) = driver.server.requests
    assert (req.method, req.url_path) == ("POST", "/v1/responses/resp%2F1%3Fx/cancel")
    assert req.body == b""


def test_wait_gives_up_at_its_deadline_with_the_last_answer(driver: Driver) -> None:
    pending = response(status="in_progress", output=[])
    driver.server.script(*[Reply.json(pending)] * 4)
    with pytest.raises(APITimeoutError) as info:
        driver.call(lambda c: c.responses.wait("resp_1", deadline_s=2.5, poll_interval_s=1.0))
    assert info.value.partial is not None
    assert info.value.partial["status"] == "in_progress"
    assert "deadline_s=2.5" in info.value.message
    assert driver.time.sleeps == [1.0, 1.0, 0.5]
    assert [r.method for r in driver.server.requests] == ["GET"] * 4


def test_run_tools_resends_the_conversation_when_the_server_does_not_store(
    driver: Driver,
) -> None:
    call = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_9",
        "name": "get_weather",
        "arguments": '{"city": "Lisbon"}',
        "status": "completed",
    }
    driver.server.script(
        Reply.json(response(output=[call])),
        Reply.api_error(404, "Response with id 'resp_1' not found."),
        Reply.json(response("It is 21 degrees.")),
    )
    run = driver.call(
        lambda c: c.responses.run_tools(model="m", input="Weather in Lisbon?", tools=[get_weather])
    )
    assert run.continued_by == "conversation"
    first, check, last = driver.server.requests
    assert first.json()["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": first.json()["tools"][0]["parameters"],
        }
    ]
    assert (check.method, check.url_path) == ("GET", "/v1/responses/resp_1")
    body = last.json()
    assert "previous_response_id" not in body
    assert body["input"] == [
        {"role": "user", "content": "Weather in Lisbon?"},
        {
            "type": "function_call",
            "call_id": "call_9",
            "name": "get_weather",
            "arguments": '{"city": "Lisbon"}',
        },
        {
            "type": "function_call_output",
            "call_id": "call_9",
            "output": '{"city": "Lisbon", "temperature": 21}',
        },
    ]
    assert run.text == "It is 21 degrees."


def test_usage_and_spans_count_responses_calls(driver: Driver) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from babyapi.integrations.otel import instrument

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    usage = UsageTracker()
    client = instrument(driver.make(observers=[usage]), tracer_provider=provider)
    completed = named({"type": "response.completed", "response": response("Hello")})
    driver.server.script(
        Reply.json(response()),
        Reply.sse([*text_events("Hel", "lo"), completed], done=False),
        Reply.json(response()),
    )
    driver.call(lambda c: c.responses.create(model="m", input="x", max_output_tokens=9), client)
    driver.stream_method(client.responses.stream(model="m", input="x"), "final")
    driver.call(lambda c: c.responses.retrieve("resp_1"), client)
    totals = usage.by_model()["m"]
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (2, 8, 4)
    names = [s.name for s in spans.get_finished_spans() if not s.name.startswith(("POST", "GET"))]
    assert names == ["chat m", "chat m", "retrieve_response"]
    first = next(s for s in spans.get_finished_spans() if s.name == "chat m")
    attributes = dict(first.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.max_tokens"] == 9
    assert attributes["gen_ai.usage.output_tokens"] == 2
    provider.shutdown()


def test_a_bad_input_item_is_named(local: Driver) -> None:
    with pytest.raises(BadRequestError) as info:
        local.call(lambda c: c.responses.create(model="mistral", input=[{"type": "banana"}]))
    assert "input[0].type" in info.value.message
    with pytest.raises(InvalidArgumentTypeError):
        local.call(lambda c: c.responses.create(model="mistral", input={"role": "user"}))
