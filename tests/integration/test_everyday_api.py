"""What users of openai-python reach for every day: extra headers and query parameters per
call, models.retrieve, base64 embeddings as floats, and response metadata with_response."""

from __future__ import annotations

import base64
import struct
from typing import Any, Callable

import pytest

from babyapi import APIResponse, BabyAPIError, NotFoundError
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hi"}]
EXTRAS: dict[str, Any] = {
    "extra_headers": {"x-trace": "t-1", "api-key": "azure-style"},
    "extra_query": {"api-version": "2024-06-01", "n": 2, "skip": None},
}

CALLS: list[tuple[str, Callable[[Any], Any]]] = [
    ("chat", lambda c: c.chat.completions.create(model="m", messages=MESSAGES, **EXTRAS)),
    ("completions", lambda c: c.completions.create(model="m", prompt="Hi", **EXTRAS)),
    ("embeddings", lambda c: c.embeddings.create(model="m", input="Hi", **EXTRAS)),
    ("rerank", lambda c: c.rerank.create(model="m", query="q", documents=["a"], **EXTRAS)),
    ("models.list", lambda c: c.models.list(**EXTRAS)),
    ("models.retrieve", lambda c: c.models.retrieve("m", **EXTRAS)),
    ("baby.infer", lambda c: c.baby.infer("Hi", model="m", **EXTRAS)),
    ("client.infer", lambda c: c.infer(model="m", prompt="Hi", **EXTRAS)),
]
STREAMS: list[tuple[str, Callable[[Any], Any]]] = [
    ("chat.stream", lambda c: c.chat.completions.stream(model="m", messages=MESSAGES, **EXTRAS)),
    ("completions.stream", lambda c: c.completions.stream(model="m", prompt="Hi", **EXTRAS)),
]


def check_extras_arrived(driver: Driver) -> None:
    (req,) = driver.server.requests
    assert req.headers["x-trace"] == "t-1"
    assert req.headers["api-key"] == "azure-style"
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.query == {"api-version": ["2024-06-01"], "n": ["2"]}


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[c[0] for c in CALLS])
def test_every_method_sends_extra_headers_and_query(
    driver: Driver, name: str, call: Callable[[Any], Any]
) -> None:
    driver.server.script(Reply.json({"object": "list", "data": [], "output": "x", "id": "m"}))
    driver.call(call)
    check_extras_arrived(driver)


@pytest.mark.parametrize(("name", "call"), STREAMS, ids=[c[0] for c in STREAMS])
def test_streams_send_extra_headers_and_query(
    driver: Driver, name: str, call: Callable[[Any], Any]
) -> None:
    driver.server.script(Reply.sse([{"choices": [{"delta": {"content": "x"}}]}]))
    driver.events(call)
    check_extras_arrived(driver)


def test_extra_headers_win_over_other_headers_but_never_over_the_key(driver: Driver) -> None:
    client = driver.make(default_headers={"x-app": "default", "x-trace": "default"})
    driver.server.script(Reply.json({"object": "list", "data": []}))
    driver.call(
        lambda c: c.models.list(
            request_options={"headers": {"x-trace": "options"}},
            extra_headers={"X-Trace": "extra", "Authorization": "Bearer stolen"},
        ),
        client,
    )
    (req,) = driver.server.requests
    assert (req.headers["x-app"], req.headers["x-trace"]) == ("default", "extra")
    assert req.headers["authorization"] == f"Bearer {API_KEY}"


def test_one_calls_headers_and_ids_never_reach_the_next_call(driver: Driver) -> None:
    # Calls without options share their settings: what one call adds must stay its own.
    client = driver.make(default_headers={"x-app": "default"})
    mine = {"x-trace": "only-once", "x-request-id": "req-1", "idempotency-key": "key-1"}
    driver.server.script(*[Reply.json({"choices": []})] * 4)
    for _ in range(2):
        driver.call(
            lambda c: c.chat.completions.create(model="m", messages=MESSAGES, extra_headers=mine),
            client,
        )
        driver.call(lambda c: c.chat.completions.create(model="m", messages=MESSAGES), client)
    given, plain = driver.server.requests[0::2], driver.server.requests[1::2]
    for request in given:
        assert {name: request.headers[name] for name in mine} == mine
        assert request.headers["x-app"] == "default"
    for request in plain:
        assert "x-trace" not in request.headers and request.headers["x-app"] == "default"
        assert request.headers["x-request-id"] != "req-1"
        assert request.headers["idempotency-key"] != "key-1"
    assert plain[0].headers["x-request-id"] != plain[1].headers["x-request-id"]
    assert plain[0].headers["idempotency-key"] != plain[1].headers["idempotency-key"]


def test_query_merges_with_nothing_lost_and_lists_repeat(driver: Driver) -> None:
    driver.server.script(Reply.json({"object": "list", "data": []}))
    driver.call(lambda c: c.models.list(extra_query={"tag": ["a", "b"], "q": "x y&z"}))
    assert driver.server.requests[0].query == {"tag": ["a", "b"], "q": ["x y&z"]}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"extra_headers": {"x a": "1"}}, "INVALID_HEADERS"),
        ({"extra_headers": {"x-a": "line\nbreak"}}, "INVALID_HEADERS"),
        ({"extra_headers": {"x-a": "café"}}, "INVALID_HEADERS"),
        ({"extra_headers": ["x-a: 1"]}, "INVALID_HEADERS"),
        ({"extra_query": "api-version=1"}, "INVALID_QUERY"),
        ({"extra_query": {"a": {"nested": 1}}}, "INVALID_QUERY"),
        ({"extra_query": {"": "x"}}, "INVALID_QUERY"),
        ({"extra_query": {"a": [1, object()]}}, "INVALID_QUERY"),
    ],
)
def test_bad_extras_are_refused_before_sending(
    driver: Driver, kwargs: dict[str, Any], code: str
) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.chat.completions.create(model="m", messages=MESSAGES, **kwargs))
    assert info.value.code == code
    assert driver.server.requests == []


def test_models_retrieve_escapes_the_id(driver: Driver) -> None:
    driver.server.script(Reply.json({"id": "meta-llama/Llama 3?x#y", "object": "model"}))
    model = driver.call(lambda c: c.models.retrieve("meta-llama/Llama 3?x#y"))
    assert model["id"] == "meta-llama/Llama 3?x#y"
    (req,) = driver.server.requests
    assert (req.method, req.path) == ("GET", "/v1/models/meta-llama%2FLlama%203%3Fx%23y")


@pytest.mark.parametrize("bad", ["", "   ", None, 3, "..", "."])
def test_models_retrieve_refuses_a_missing_id(driver: Driver, bad: Any) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.models.retrieve(bad))
    assert info.value.code == "MODEL_REQUIRED"
    assert "models.list()" in info.value.message
    assert driver.server.requests == []


def packed(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def test_base64_embeddings_come_back_as_floats(driver: Driver) -> None:
    vectors = [[0.5, -1.25, 3.0], [0.0, 1e-3, -7.5]]
    data = [
        {"object": "embedding", "index": 0, "embedding": packed(vectors[0])},
        {"object": "embedding", "index": 1, "embedding": vectors[1]},  # a server may ignore it
    ]
    driver.server.script(Reply.json({"object": "list", "data": data}))
    res = driver.call(
        lambda c: c.embeddings.create(model="m", input=["a", "b"], encoding_format="base64")
    )
    assert res["data"][0]["embedding"] == vectors[0]
    assert res["data"][1]["embedding"] == vectors[1]
    assert driver.server.requests[0].json()["encoding_format"] == "base64"


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"12345").decode()])
def test_a_broken_base64_embedding_is_an_invalid_response(driver: Driver, bad: str) -> None:
    driver.server.script(Reply.json({"object": "list", "data": [{"index": 0, "embedding": bad}]}))
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.embeddings.create(model="m", input="a", encoding_format="base64"))
    assert info.value.code == "INVALID_RESPONSE"
    assert "encoding_format='float'" in info.value.message


WITH_RESPONSE: list[tuple[str, Callable[[Any], Any]]] = [
    ("chat", lambda c: c.chat.completions.with_response.create(model="m", messages=MESSAGES)),
    (
        "client chat",
        lambda c: c.with_response.chat.completions.create(model="m", messages=MESSAGES),
    ),
    ("completions", lambda c: c.completions.with_response.create(model="m", prompt="Hi")),
    ("client completions", lambda c: c.with_response.completions.create(model="m", prompt="Hi")),
    ("embeddings", lambda c: c.embeddings.with_response.create(model="m", input="Hi")),
    ("client embeddings", lambda c: c.with_response.embeddings.create(model="m", input="Hi")),
    ("rerank", lambda c: c.rerank.with_response.create(model="m", query="q", documents=["a"])),
    ("models.list", lambda c: c.models.with_response.list()),
    ("client models.list", lambda c: c.with_response.models.list()),
    ("models.retrieve", lambda c: c.models.with_response.retrieve("m")),
    ("baby.infer", lambda c: c.baby.with_response.infer("Hi", model="m")),
    ("client baby.infer", lambda c: c.with_response.baby.infer("Hi", model="m")),
    ("client.infer", lambda c: c.with_response.infer(model="m", prompt="Hi")),
]


@pytest.mark.parametrize(("name", "call"), WITH_RESPONSE, ids=[c[0] for c in WITH_RESPONSE])
def test_with_response_gives_the_data_with_status_headers_and_request_id(
    driver: Driver, name: str, call: Callable[[Any], Any]
) -> None:
    body = {"object": "list", "data": [], "id": "x-1"}
    headers = {"x-request-id": "req-42", "x-ratelimit-remaining-requests": "99"}
    driver.server.script(Reply.json(body, status=201, headers=headers))
    res = driver.call(call)
    assert isinstance(res, APIResponse)
    assert (res.status, res.request_id) == (201, "req-42")
    assert res.headers["X-RateLimit-Remaining-Requests"] == "99"
    assert res.data == body
    assert res.response.json() == body


def test_with_response_after_a_retry_shows_the_answer_that_succeeded(driver: Driver) -> None:
    driver.server.script(
        Reply.json({"error": "busy"}, status=503, headers={"x-request-id": "first"}),
        Reply.json({"object": "list", "data": []}, headers={"x-request-id": "second"}),
    )
    res = driver.call(lambda c: c.models.with_response.list())
    assert res.request_id == "second"
    assert len(driver.server.requests) == 2


def test_with_response_raises_errors_as_usual(driver: Driver) -> None:
    driver.server.script(Reply.json({"error": {"message": "no such model"}}, status=404))
    with pytest.raises(NotFoundError):
        driver.call(lambda c: c.models.with_response.retrieve("nope"))


def test_with_response_decodes_base64_embeddings_too(driver: Driver) -> None:
    data = [{"object": "embedding", "index": 0, "embedding": packed([1.5, 2.0])}]
    driver.server.script(Reply.json({"object": "list", "data": data}))
    res = driver.call(
        lambda c: c.embeddings.with_response.create(model="m", input="a", encoding_format="base64")
    )
    assert res.data["data"][0]["embedding"] == [1.5, 2.0]
    assert isinstance(res.response.json()["data"][0]["embedding"], str)  # the wire, as sent


# openai-python takes timeout= and max_retries= per call; here keyword arguments are the body.
CALL_SETTINGS: list[tuple[str, Callable[[Any], Any]]] = [
    ("chat", lambda c, **kw: c.chat.completions.create(model="m", messages=MESSAGES, **kw)),
    ("chat.stream", lambda c, **kw: c.chat.completions.stream(model="m", messages=MESSAGES, **kw)),
    ("completions", lambda c, **kw: c.completions.create(model="m", prompt="Hi", **kw)),
    ("embeddings", lambda c, **kw: c.embeddings.create(model="m", input="Hi", **kw)),
    ("rerank", lambda c, **kw: c.rerank.create(model="m", query="q", documents=["a"], **kw)),
    ("baby.infer", lambda c, **kw: c.baby.infer("Hi", model="m", **kw)),
    ("baby.infer dict", lambda c, **kw: c.baby.infer({"prompt": "Hi", "model": "m", **kw})),
    ("client.infer", lambda c, **kw: c.infer(model="m", prompt="Hi", **kw)),
]


@pytest.mark.parametrize(
    ("setting", "value", "ours"), [("timeout", 0.5, "timeout_s"), ("max_retries", 0, "max_retries")]
)
@pytest.mark.parametrize(("name", "call"), CALL_SETTINGS, ids=[c[0] for c in CALL_SETTINGS])
def test_per_call_timeout_and_max_retries_are_refused_with_the_way_to_say_it(
    driver: Driver, name: str, call: Callable[..., Any], setting: str, value: Any, ours: str
) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.run(call(driver.client, **{setting: value}))
    assert info.value.code == "INVALID_REQUEST_OPTIONS"
    assert isinstance(info.value, TypeError)
    assert f"request_options={{'{ours}': {value!r}}}" in info.value.message
    assert f"extra_body={{'{setting}': {value!r}}}" in info.value.message
    assert driver.server.requests == [], "nothing may be sent with a field the server ignores"


def test_request_options_give_one_call_its_timeout_and_extra_body_still_sends_the_field(
    driver: Driver,
) -> None:
    driver.server.script(Reply.json({"choices": []}))
    driver.call(
        lambda c: c.chat.completions.create(
            model="m",
            messages=MESSAGES,
            request_options={"timeout_s": 5, "max_retries": 0},
            extra_body={"timeout": 30},
        )
    )
    (req,) = driver.server.requests
    body = req.json()
    assert body["timeout"] == 30 and "max_retries" not in body


@pytest.mark.parametrize(
    ("path", "points_to"),
    [
        ("with_raw_response", "with_response"),
        ("with_streaming_response", ".stream("),
        ("beta", "client.chat.completions"),
        ("chat.completions.with_raw_response", "with_response"),
        ("chat.with_streaming_response", ".stream("),
        ("embeddings.with_raw_response", "with_response"),
        ("models.with_raw_response", "with_response"),
    ],
)
def test_openai_names_point_to_ours(driver: Driver, path: str, points_to: str) -> None:
    target: Any = driver.client
    *parents, name = path.split(".")
    for parent in parents:
        target = getattr(target, parent)
    with pytest.raises(AttributeError) as info:
        getattr(target, name)
    assert f"has no attribute {name!r}: " in str(info.value)
    assert points_to in str(info.value)
    assert not hasattr(target, name)


def test_other_missing_names_stay_plain_attribute_errors(driver: Driver) -> None:
    with pytest.raises(AttributeError, match="object has no attribute 'chatt'"):
        driver.client.chatt  # noqa: B018
