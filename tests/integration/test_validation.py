"""Bad input fails with a BabyAPIError that says what to do, and nothing reaches the server."""

from __future__ import annotations

import math
from typing import Any, Callable

import pytest

from babyapi import AsyncBabyAPI, BabyAPI, BabyAPIError, RequestOptions
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hi"}]

CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    (
        "create(stream=True)",
        lambda c: c.chat.completions.create(model="m", messages=MESSAGES, stream=True),
        "STREAM_METHOD_REQUIRED",
    ),
    (
        "messages not a list",
        lambda c: c.chat.completions.create(model="m", messages="hi"),
        "INVALID_REQUEST_BODY",
    ),
    (
        "message not a dict",
        lambda c: c.chat.completions.create(model="m", messages=["hi"]),
        "INVALID_REQUEST_BODY",
    ),
    (
        "input not text",
        lambda c: c.embeddings.create(model="m", input=3),
        "INVALID_REQUEST_BODY",
    ),
    (
        "query not a string",
        lambda c: c.rerank.create(model="m", query=None, documents=["a"]),
        "INVALID_REQUEST_BODY",
    ),
    (
        "documents not a list",
        lambda c: c.rerank.create(model="m", query="q", documents="a b"),
        "INVALID_REQUEST_BODY",
    ),
    (
        "blank model",
        lambda c: c.chat.completions.create(model="  ", messages=MESSAGES),
        "MODEL_REQUIRED",
    ),
    ("model not a string", lambda c: c.completions.create(model=3, prompt="x"), "MODEL_REQUIRED"),
    ("missing prompt", lambda c: c.completions.create(model="m"), "INVALID_REQUEST_BODY"),
    (
        "set in body",
        lambda c: c.chat.completions.create(model="m", messages=MESSAGES, stop={"a"}),
        "INVALID_REQUEST_BODY",
    ),
    (
        "bytes in body",
        lambda c: c.embeddings.create(model="m", input=b"raw"),
        "INVALID_REQUEST_BODY",
    ),
    (
        "NaN in body",
        lambda c: c.chat.completions.create(model="m", messages=MESSAGES, temperature=math.nan),
        "INVALID_REQUEST_BODY",
    ),
    (
        "extra_body not a dict",
        lambda c: c.chat.completions.create(model="m", messages=MESSAGES, extra_body=["x"]),
        "INVALID_REQUEST_BODY",
    ),
    ("infer without prompt", lambda c: c.baby.infer({"model": "m"}), "PROMPT_REQUIRED"),
    ("infer blank prompt", lambda c: c.baby.infer("   ", model="m"), "PROMPT_REQUIRED"),
    ("infer without model", lambda c: c.baby.infer("hello"), "MODEL_REQUIRED"),
    ("infer with a list", lambda c: c.baby.infer(["hello"]), "INVALID_INFER_INPUT"),
    (
        "infer options not a dict",
        lambda c: c.baby.infer({"prompt": "p", "model": "m", "options": [1]}),
        "INVALID_OPTIONS",
    ),
    (
        "infer bad max_tokens",
        lambda c: c.baby.infer({"prompt": "p", "model": "m", "maxTokens": "many"}),
        "INVALID_OPTIONS",
    ),
    ("client.infer neither", lambda c: c.infer({"model": "m"}), "INVALID_INFER_INPUT"),
    ("client.infer not a dict", lambda c: c.infer("hello"), "INVALID_INFER_INPUT"),
    (
        "unknown request option",
        lambda c: c.models.list(request_options={"timeout": 3}),
        "INVALID_REQUEST_OPTIONS",
    ),
    (
        "request options wrong type",
        lambda c: c.models.list(request_options=5),
        "INVALID_REQUEST_OPTIONS",
    ),
    ("zero timeout", lambda c: c.models.list(request_options={"timeout_s": 0}), "INVALID_TIMEOUT"),
    (
        "negative retries",
        lambda c: c.models.list(request_options={"max_retries": -1}),
        "INVALID_MAX_RETRIES",
    ),
    (
        "newline in header",
        lambda c: c.models.list(request_options={"headers": {"x-a": "1\r\nX-Evil: 1"}}),
        "INVALID_HEADERS",
    ),
    (
        "bad header name",
        lambda c: c.models.list(request_options={"headers": {"x a": "1"}}),
        "INVALID_HEADERS",
    ),
    (
        "headers not a dict",
        lambda c: c.models.list(request_options={"headers": ["x"]}),
        "INVALID_HEADERS",
    ),
    ("no api key", lambda c: c.with_options(api_key=None).models.list(), "API_KEY_REQUIRED"),
]


@pytest.mark.parametrize(("name", "call", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_request(
    driver: Driver, name: str, call: Callable[[Any], Any], code: str
) -> None:
    with pytest.raises(BabyAPIError) as info:
        result = call(driver.client)
        driver.run(result)
    assert info.value.code == code
    assert info.value.status is None
    assert len(info.value.message) > 20
    assert API_KEY not in str(info.value)
    assert driver.server.requests == []


def test_bad_stream_arguments_fail_when_stream_is_called(driver: Driver) -> None:
    # Even the lazily opened async stream checks its arguments at the call.
    with pytest.raises(BabyAPIError) as info:
        driver.client.chat.completions.stream(model="m", messages="hi")
    assert info.value.code == "INVALID_REQUEST_BODY"
    assert driver.server.requests == []


SERVER_JUDGES: list[tuple[str, Callable[[Any], Any]]] = [
    ("empty messages", lambda c: c.chat.completions.create(model="m", messages=[])),
    ("message without role", lambda c: c.chat.completions.create(model="m", messages=[{}])),
    ("empty input list", lambda c: c.embeddings.create(model="m", input=[])),
    ("empty documents", lambda c: c.rerank.create(model="m", query="q", documents=[])),
    ("empty query", lambda c: c.rerank.create(model="m", query="", documents=["a"])),
]


@pytest.mark.parametrize(("name", "call"), SERVER_JUDGES, ids=[c[0] for c in SERVER_JUDGES])
def test_content_the_server_judges_is_sent(
    driver: Driver, name: str, call: Callable[[Any], Any]
) -> None:
    driver.server.script(
        Reply.json({"error": {"message": "bad", "type": "invalid_request_error"}}, status=400)
    )
    with pytest.raises(BabyAPIError) as info:
        driver.run(call(driver.client))
    assert info.value.status == 400
    assert len(driver.server.requests) == 1


@pytest.mark.parametrize("cls", [BabyAPI, AsyncBabyAPI])
@pytest.mark.parametrize(
    ("kwargs", "advice"),
    [
        ({"timeout": 5}, "'timeout': use timeout_s"),
        ({"api_base": "http://127.0.0.1:9"}, "'api_base': use base_url"),
        ({"organization": "org-1"}, "default_headers={'OpenAI-Organization'"),
        ({"project": "p"}, "default_headers={'OpenAI-Project'"),
        ({"api_version": "2024-06-01"}, "extra_query={'api-version'"),
        ({"temprature": 1}, "valid ones are ['api_key', 'base_url'"),
    ],
)
def test_names_from_other_sdks_get_a_pointer_not_a_type_error(
    cls: type[BabyAPI | AsyncBabyAPI], kwargs: dict[str, Any], advice: str
) -> None:
    with pytest.raises(BabyAPIError) as info:
        cls(api_key=API_KEY, **kwargs)
    assert info.value.code == "INVALID_OPTIONS"
    assert advice in info.value.message
    assert info.value.message.startswith(f"{cls.__name__}() has no setting")


@pytest.mark.parametrize("cls", [BabyAPI, AsyncBabyAPI])
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"base_url": "api.babyapi.org"}, "INVALID_OPTIONS"),
        ({"base_url": "ftp://x"}, "INVALID_OPTIONS"),
        ({"timeout_s": 0}, "INVALID_TIMEOUT"),
        ({"timeout_s": -1.5}, "INVALID_TIMEOUT"),
        ({"timeout_s": "60"}, "INVALID_TIMEOUT"),
        ({"max_retries": -1}, "INVALID_MAX_RETRIES"),
        ({"max_retries": 1.5}, "INVALID_MAX_RETRIES"),
        ({"default_headers": {"x-a": "line\nbreak"}}, "INVALID_HEADERS"),
        ({"default_headers": "x-a: 1"}, "INVALID_HEADERS"),
        ({"http_client": object()}, "INVALID_OPTIONS"),
        ({"deadline_s": 0}, "INVALID_TIMEOUT"),
    ],
)
def test_bad_constructor_arguments(
    cls: type[BabyAPI | AsyncBabyAPI], kwargs: dict[str, Any], code: str
) -> None:
    with pytest.raises(BabyAPIError) as info:
        cls(api_key=API_KEY, **kwargs)
    assert info.value.code == code


def test_request_options_validate_on_construction() -> None:
    with pytest.raises(BabyAPIError) as info:
        RequestOptions(timeout_s=-1)
    assert info.value.code == "INVALID_TIMEOUT"
