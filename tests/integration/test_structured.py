"""parse(), stream(response_format=T) and client.infer on the wire, for both clients."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, List, Literal, Optional, TypedDict

import pytest

from babyapi import BabyAPIError, BadRequestError, StructuredOutputError
from drivers import Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]


class City(TypedDict):
    name: str
    country: str
    population: int


@dataclasses.dataclass
class Trip:
    destination: str
    days: int
    cities: List[City]
    season: Literal["spring", "summer", "autumn", "winter"]
    budget: Optional[float] = None


ASK = [{"role": "user", "content": "Plan a 5 day summer trip to Lisbon and Porto in Portugal"}]


def answer(content: str, finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "mistral",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
    }


# --- the local server ----------------------------------------------------------------------------


def test_parse_returns_the_dataclass_filled_from_the_prompt(local: Driver) -> None:
    result = local.call(
        lambda c: c.chat.completions.parse(model="mistral", messages=ASK, response_format=Trip)
    )
    trip = result.parsed
    assert isinstance(trip, Trip)
    assert trip.days == 5 and trip.season == "summer"
    assert trip.destination in ASK[0]["content"]
    assert trip.cities and all(isinstance(c["population"], int) for c in trip.cities)
    assert json.loads(result.text)["destination"] == trip.destination
    assert result.completion["choices"][0]["finish_reason"] == "stop"


def test_parse_with_a_json_schema_dict_gives_plain_json(local: Driver) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        },
        "required": ["city", "tags"],
    }
    result = local.call(
        lambda c: c.chat.completions.parse(model="mistral", messages=ASK, response_format=schema)
    )
    assert result.parsed["city"] in ASK[0]["content"]
    assert result.parsed["tags"] == ["a"]


def test_stream_keeps_text_deltas_and_final_carries_the_parsed_value(local: Driver) -> None:
    stream = local.call(
        lambda c: c.chat.completions.stream(model="mistral", messages=ASK, response_format=Trip)
    )
    deltas = local.stream_method(stream, "text_deltas")
    assert len(deltas) > 10
    json.loads("".join(deltas))
    final = local.stream_method(stream, "final")
    assert isinstance(final.parsed, Trip)
    assert final.text == "".join(deltas)


def test_a_plain_stream_final_is_still_the_completion(local: Driver) -> None:
    stream = local.call(lambda c: c.chat.completions.stream(model="mistral", messages=ASK))
    final = local.stream_method(stream, "final")
    assert final["object"] == "chat.completion"


def test_an_answer_cut_by_max_tokens_is_truncated(local: Driver) -> None:
    with pytest.raises(StructuredOutputError) as info:
        local.call(
            lambda c: c.chat.completions.parse(
                model="mistral", messages=ASK, response_format=Trip, max_tokens=6
            )
        )
    assert info.value.code == "OUTPUT_TRUNCATED"
    assert info.value.completion is not None
    assert info.value.completion["choices"][0]["finish_reason"] == "length"


def test_infer_routes_a_typed_response_format_to_parse(local: Driver) -> None:
    result = local.call(lambda c: c.infer(messages=ASK, model="mistral", response_format=City))
    assert set(result.parsed) == {"name", "country", "population"}
    plain = local.call(
        lambda c: c.infer(messages=ASK, model="mistral", response_format={"type": "json_object"})
    )
    assert json.loads(plain["choices"][0]["message"]["content"])


def test_an_unsupported_schema_feature_is_a_400_from_the_local_server(local: Driver) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}}
    with pytest.raises(BadRequestError) as info:
        local.call(
            lambda c: c.chat.completions.parse(
                model="mistral", messages=ASK, response_format=schema
            )
        )
    assert "pattern" in info.value.message
    assert info.value.code == "unsupported_schema"


# --- exact wire and odd answers (scripted server) ---------------------------------------------


def test_parse_sends_openai_json_schema_and_the_rest_unchanged(driver: Driver) -> None:
    driver.server.script(Reply.json(answer('{"name": "Porto", "country": "PT", "population": 1}')))
    result = driver.call(
        lambda c: c.chat.completions.parse(
            model="mistral", messages=ASK, response_format=City, temperature=0, seed=3
        )
    )
    body = driver.server.requests[0].json()
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "City",
            "schema": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "country": {"type": "string"},
                    "population": {"type": "integer"},
                },
                "required": ["name", "country", "population"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
    assert body["temperature"] == 0 and body["seed"] == 3
    assert result.parsed == {"name": "Porto", "country": "PT", "population": 1}


def test_vllm_padding_with_finish_length_is_accepted(driver: Driver) -> None:
    padded = '{"name": "Porto", "country": "PT", "population": 1}' + " " * 300
    driver.server.script(Reply.json(answer(padded, "length")))
    result = driver.call(
        lambda c: c.chat.completions.parse(model="m", messages=ASK, response_format=City)
    )
    assert result.parsed["name"] == "Porto"


def test_mismatch_from_the_server_names_the_field(driver: Driver) -> None:
    raw = '{"name": "Porto", "country": "PT", "population": "many"}'
    driver.server.script(Reply.json(answer(raw)))
    with pytest.raises(StructuredOutputError) as info:
        driver.call(
            lambda c: c.chat.completions.parse(model="m", messages=ASK, response_format=City)
        )
    assert info.value.code == "OUTPUT_SCHEMA_MISMATCH"
    assert info.value.path == "$.population"
    assert info.value.raw == raw


def test_a_streamed_mismatch_raises_from_final(driver: Driver) -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": '{"name": 1'}}]},
        {"choices": [{"index": 0, "delta": {"content": "}"}, "finish_reason": "stop"}]},
    ]
    driver.server.script(Reply.sse(chunks))
    stream = driver.call(
        lambda c: c.chat.completions.stream(model="m", messages=ASK, response_format=City)
    )
    with pytest.raises(StructuredOutputError) as info:
        driver.stream_method(stream, "final")
    assert info.value.path == "$.name"


def test_unsupported_type_fails_before_anything_is_sent(driver: Driver) -> None:
    @dataclasses.dataclass
    class Bad:
        value: complex

    with pytest.raises(BabyAPIError) as info:
        driver.call(
            lambda c: c.chat.completions.parse(model="m", messages=ASK, response_format=Bad)
        )
    assert info.value.code == "UNSUPPORTED_SCHEMA_TYPE"
    assert "Bad.value" in info.value.message
    with pytest.raises(BabyAPIError):
        driver.call(
            lambda c: c.chat.completions.stream(model="m", messages=ASK, response_format=Bad)
        )
    assert driver.server.requests == []


def test_a_wire_response_format_still_passes_through_stream_unchanged(driver: Driver) -> None:
    driver.server.script(Reply.sse([{"choices": [{"index": 0, "delta": {"content": "{}"}}]}]))
    stream = driver.call(
        lambda c: c.chat.completions.stream(
            model="m", messages=ASK, response_format={"type": "json_object"}
        )
    )
    final = driver.stream_method(stream, "final")
    assert final["choices"][0]["message"]["content"] == "{}"
    assert driver.server.requests[0].json()["response_format"] == {"type": "json_object"}


def test_create_with_a_type_says_to_call_parse(driver: Driver) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.call(
            lambda c: c.chat.completions.create(model="m", messages=ASK, response_format=City)
        )
    assert info.value.code == "INVALID_REQUEST_BODY"
    assert "parse(" in info.value.message
    assert driver.server.requests == []


def test_pydantic_models_round_trip_through_the_local_server(local: Driver) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Stop(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        city: str
        nights: int = pydantic.Field(ge=1, le=9)

    class Plan(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        title: str
        stops: List[Stop]
        note: Optional[str] = None

    result = local.call(
        lambda c: c.chat.completions.parse(model="mistral", messages=ASK, response_format=Plan)
    )
    assert isinstance(result.parsed, Plan)
    assert isinstance(result.parsed.stops[0], Stop)
    assert 1 <= result.parsed.stops[0].nights <= 9


def test_parse_sends_extra_headers_and_query(driver: Driver) -> None:
    driver.server.script(Reply.json(answer('{"name": "Porto", "country": "PT", "population": 1}')))
    driver.call(
        lambda c: c.chat.completions.parse(
            model="m",
            messages=ASK,
            response_format=City,
            extra_headers={"X-Trace": "t-2"},
            extra_query={"debug": "1"},
        )
    )
    request = driver.server.requests[0]
    assert request.headers["x-trace"] == "t-2"
    assert request.query == {"debug": ["1"]}


def test_parse_sends_a_wire_format_with_its_own_strict_and_description(driver: Driver) -> None:
    wire = {
        "type": "json_schema",
        "json_schema": {
            "name": "city",
            "description": "A city",
            "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
            "strict": False,
        },
    }
    driver.server.script(Reply.json(answer('{"name": "Porto"}')))
    result = driver.call(
        lambda c: c.chat.completions.parse(model="m", messages=ASK, response_format=wire)
    )
    assert driver.server.requests[0].json()["response_format"] == wire
    assert result.parsed == {"name": "Porto"}


def test_a_schema_babyapi_cannot_check_is_refused_before_sending(driver: Driver) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "unevaluatedProperties": False,
    }
    with pytest.raises(BabyAPIError) as info:
        driver.call(
            lambda c: c.chat.completions.parse(model="m", messages=ASK, response_format=schema)
        )
    assert info.value.code == "UNSUPPORTED_SCHEMA"
    assert "unevaluatedProperties" in info.value.message
    assert driver.server.requests == []


def test_an_answer_nested_too_deeply_to_read_is_not_json(driver: Driver) -> None:
    driver.server.script(Reply.json(answer("[" * 100_000)))
    with pytest.raises(StructuredOutputError) as info:
        driver.call(
            lambda c: c.chat.completions.parse(model="m", messages=ASK, response_format=City)
        )
    assert info.value.code == "OUTPUT_NOT_JSON"
    assert "nests too deeply" in info.value.message
