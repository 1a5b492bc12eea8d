"""How calls and answers become GenAI attributes: pure functions, no exporter needed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from babyapi import APIConnectionError, BadRequestError
from babyapi._observe import CallInfo
from babyapi.integrations.otel import (
    _error_type,
    _request_attributes,
    _response_attributes,
    _without_credentials,
)

URL = httpx.URL("http://127.0.0.1:8000/v1/chat/completions")


def info(body: dict[str, Any], stream: bool = False) -> CallInfo:
    return CallInfo("POST", URL, "/v1/chat/completions", body, stream, "rid")


def test_request_parameters_map_to_their_attributes() -> None:
    body = {
        "model": "m",
        "max_completion_tokens": 9,
        "top_k": 5,
        "frequency_penalty": 0.5,
        "presence_penalty": -0.5,
        "stop": ["a", "b"],
        "n": 3,
        "response_format": {"type": "json_schema"},
        "temperature": True,  # not a number: left out
    }
    assert _request_attributes(info(body, stream=True)) == {
        "gen_ai.request.stream": True,
        "gen_ai.request.max_tokens": 9,
        "gen_ai.request.top_k": 5,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": -0.5,
        "gen_ai.request.stop_sequences": ["a", "b"],
        "gen_ai.request.choice.count": 3,
        "gen_ai.output.type": "json",
    }
    assert _request_attributes(info({"n": 1, "stop": [1], "response_format": "x"})) == {}


def test_answer_fields_and_usage_details_map_to_their_attributes() -> None:
    answer = {
        "id": "x",
        "model": "m-1",
        "choices": [{"finish_reason": "stop"}, {"finish_reason": None}, "junk"],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 4,
            "prompt_tokens_details": {"cached_tokens": 6},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }
    assert _response_attributes(answer) == {
        "gen_ai.response.model": "m-1",
        "gen_ai.response.id": "x",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 4,
        "gen_ai.usage.cache_read.input_tokens": 6,
        "gen_ai.usage.reasoning.output_tokens": 2,
    }
    assert _response_attributes({"id": 5, "choices": {}, "usage": []}) == {}
    assert _response_attributes(None) == {}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (BadRequestError("no", status=400), "400"),
        (APIConnectionError("down", code="CONNECTION_ERROR"), "connection_error"),
        (ValueError("odd"), "ValueError"),
        (httpx.ReadTimeout("slow"), "httpx.ReadTimeout"),
    ],
)
def test_error_type_is_low_cardinality(error: BaseException, expected: str) -> None:
    assert _error_type(error) == expected


def test_credentials_in_a_url_are_redacted() -> None:
    assert (
        _without_credentials(httpx.URL("https://u:secret@h/v1")) == "https://REDACTED:REDACTED@h/v1"
    )
    assert _without_credentials(URL) == str(URL)
