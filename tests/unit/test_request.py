"""From a call to the request of each attempt (as httpx sends it): headers, body bytes and timeouts. No network."""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional

import httpx
import pytest

from babyapi._config import ClientConfig, build_config
from babyapi._errors import BabyAPIError
from babyapi._httpx import HttpxTransport
from babyapi._request import USER_AGENT, Call, encode_json, prepare_call
from babyapi._wire import WireRequest

KEY = "sk-request-SECRET-77"
CHAT = "/v1/chat/completions"
BODY = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(scope="module", autouse=True)
def httpx_transport() -> Iterator[HttpxTransport]:
    """What the attempts look like as the httpx transport sends them."""
    global _TRANSPORT
    with httpx.Client() as client:
        _TRANSPORT = HttpxTransport(client)
        yield _TRANSPORT


_TRANSPORT: Optional[HttpxTransport] = None


def as_sent(request: WireRequest) -> httpx.Request:
    assert _TRANSPORT is not None
    return _TRANSPORT.build(request)


def make_config(**overrides: Any) -> ClientConfig:
    args: Dict[str, Any] = {
        "api_key": KEY,
        "base_url": "http://127.0.0.1:9",
        "timeout_s": 60.0,
        "max_retries": 2,
        "retry_base_delay_s": 0.25,
        "default_model": None,
        "default_headers": None,
        "deadline_s": None,
        "environ": {},
    }
    args.update(overrides)
    return build_config(**args)


def call_with(
    options: Optional[Mapping[str, Any]] = None,
    *,
    stream: bool = False,
    method: str = "POST",
    body: Optional[Mapping[str, Any]] = BODY,
    **config: Any,
) -> Call:
    return prepare_call(make_config(**config), method, CHAT, body, options, stream=stream)


def values(request: WireRequest, name: str) -> List[str]:
    return as_sent(request).headers.get_list(name)


def test_basic_request() -> None:
    request = call_with().request(0, None)
    assert request.method == "POST"
    assert str(request.url) == "http://127.0.0.1:9/v1/chat/completions"
    assert json.loads(request.content) == BODY
    assert values(request, "authorization") == [f"Bearer {KEY}"]
    assert values(request, "content-type") == ["application/json"]
    assert values(request, "accept") == ["application/json"]
    assert values(request, "user-agent") == [USER_AGENT]


def test_base_url_path_prefix_kept() -> None:
    call = call_with(base_url="http://127.0.0.1:9/gateway/v1/")
    assert str(call.request(0, None).url) == "http://127.0.0.1:9/gateway/v1/chat/completions"


@pytest.mark.parametrize(
    ("default_headers", "options"),
    [
        ({"Authorization": "Bearer from-defaults"}, None),
        (None, {"headers": {"Authorization": "Bearer from-call"}}),
        (None, {"headers": {"authorization": "Bearer lower"}}),
        ({"AUTHORIZATION": "Bearer upper"}, {"headers": {"authorization": "Bearer lower"}}),
    ],
    ids=["defaults", "call", "lowercase", "both"],
)
def test_authorization_cannot_be_overridden(
    default_headers: Optional[Dict[str, str]], options: Optional[Dict[str, Any]]
) -> None:
    request = call_with(options, default_headers=default_headers).request(0, None)
    assert values(request, "authorization") == [f"Bearer {KEY}"]


def test_request_options_key_used() -> None:
    request = call_with({"api_key": "sk-call"}).request(0, None)
    assert values(request, "authorization") == ["Bearer sk-call"]


def test_user_headers_merged() -> None:
    call = call_with(
        {"headers": {"X-Call": "c", "X-Both": "call"}},
        default_headers={"X-Default": "d", "X-Both": "default"},
    )
    request = call.request(0, None)
    assert values(request, "x-default") == ["d"]
    assert values(request, "x-call") == ["c"]
    assert values(request, "x-both") == ["call"]


def test_user_agent_user_wins() -> None:
    request = call_with({"headers": {"User-Agent": "mine/1"}}).request(0, None)
    assert values(request, "user-agent") == ["mine/1"]


@pytest.mark.parametrize(
    ("headers", "stream", "name", "expected"),
    [
        ({"user-agent": "mine/1"}, False, "user-agent", ["mine/1"]),
        ({"accept": "application/json"}, True, "accept", ["text/event-stream"]),
        ({"content-type": "text/plain"}, False, "content-type", ["application/json"]),
    ],
    ids=["user-agent", "accept on stream", "content-type"],
)
def test_lowercase_user_headers_not_duplicated(
    headers: Dict[str, str], stream: bool, name: str, expected: List[str]
) -> None:
    request = call_with({"headers": headers}, stream=stream).request(0, None)
    assert values(request, name) == expected


def test_stream_accept() -> None:
    request = call_with(stream=True).request(0, None)
    assert values(request, "accept") == ["text/event-stream"]


def test_idempotency_key_same_across_attempts() -> None:
    call = call_with()
    keys = [values(call.request(n, None), "idempotency-key") for n in range(3)]
    assert len(keys[0]) == 1 and keys[0][0]
    assert keys == [keys[0]] * 3
    # A different call gets a different key.
    assert values(call_with().request(0, None), "idempotency-key") != keys[0]


def test_idempotency_keys_are_random_uuid4_text() -> None:
    # Servers that check the key's shape expect what str(uuid.uuid4()) gives.
    keys = [values(call_with().request(0, None), "idempotency-key")[0] for _ in range(200)]
    for key in keys:
        parsed = uuid.UUID(key)
        assert str(parsed) == key
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"])
def test_user_idempotency_key_wins(name: str) -> None:
    call = call_with({"headers": {name: "mine-123"}})
    for attempt in range(2):
        request = call.request(attempt, None)
        assert values(request, "idempotency-key") == ["mine-123"]


def test_retry_count_increments() -> None:
    call = call_with()
    counts = [values(call.request(n, None), "x-babyapi-retry-count") for n in range(4)]
    assert counts == [["0"], ["1"], ["2"], ["3"]]


def test_get_has_no_body_headers() -> None:
    request = call_with(method="GET", body=None).request(0, None)
    assert request.content is None
    assert as_sent(request).content == b""
    assert values(request, "content-type") == []
    assert values(request, "idempotency-key") == []
    assert values(request, "x-babyapi-retry-count") == []
    assert values(request, "authorization") == [f"Bearer {KEY}"]


# --- encode_json ---------------------------------------------------------------------------


def test_encode_compact_utf8() -> None:
    body = {"prompt": "héllo 日本 🙂", "n": 1, "x": [1.5, None, True]}
    raw = encode_json(body)
    assert raw == '{"prompt":"héllo 日本 🙂","n":1,"x":[1.5,null,true]}'.encode()
    assert b"\\u" not in raw


def test_prepare_call_body_bytes() -> None:
    body = {"model": "m", "prompt": "ça va"}
    call = call_with(body=body)
    assert call.content == '{"model":"m","prompt":"ça va"}'.encode()
    assert call.request(0, None).content == call.content


class Opaque:
    pass


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        ({"stop": {"a", "b"}}, "body['stop']", "a set"),
        ({"prompt": b"bytes"}, "body['prompt']", "a bytes"),
        ({"temperature": math.nan}, "body['temperature']", "nan"),
        ({"temperature": math.inf}, "body['temperature']", "inf"),
        ({"x": -math.inf}, "body['x']", "-inf"),
        ({"x": Opaque()}, "body['x']", "a Opaque"),
        ({"x": Decimal("1.5")}, "body['x']", "a Decimal"),
        (
            {"messages": [{"role": "user", "content": b"Hi"}]},
            "body['messages'][0]['content']",
            "a bytes",
        ),
        ({"logit_bias": {(1, 2): 3}}, "body['logit_bias']", "a dict with a tuple key"),
        ({"a": [1, [2, [math.nan]]]}, "body['a'][1][1][0]", "nan"),
    ],
    ids=[
        "set",
        "bytes",
        "nan",
        "inf",
        "-inf",
        "object",
        "decimal",
        "nested bytes",
        "tuple key",
        "deep nan",
    ],
)
def test_encode_failures_name_the_path(body: Dict[str, Any], where: str, what: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        encode_json(body)
    assert info.value.code == "INVALID_REQUEST_BODY"
    assert info.value.message.startswith(f"{where} is {what}")
    assert isinstance(info.value.cause, (TypeError, ValueError))


def test_prepare_call_refuses_bad_body_before_io() -> None:
    with pytest.raises(BabyAPIError) as info:
        call_with(body={"model": "m", "stop": {"x"}})
    assert info.value.code == "INVALID_REQUEST_BODY"


def test_lone_surrogate_is_a_body_error() -> None:
    with pytest.raises(BabyAPIError) as info:
        encode_json({"prompt": "\ud800"})
    assert info.value.code == "INVALID_REQUEST_BODY"


def test_circular_body_is_a_body_error() -> None:
    loop: Dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(BabyAPIError) as info:
        encode_json({"x": loop})
    assert info.value.code == "INVALID_REQUEST_BODY"
    assert "body['x']['self'] is a reference to a container that holds it" in info.value.message


def test_threads_encoding_one_shared_message_list_at_once_all_succeed() -> None:
    # The same list in many calls at once is not a cycle, whichever thread encodes it first.
    shared = [{"role": "user", "content": "Hi"}] * 50
    expected = encode_json({"messages": shared})
    results: list[bytes] = []

    def encode_many() -> None:
        results.extend(encode_json({"messages": shared}) for _ in range(200))

    threads = [threading.Thread(target=encode_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 800


def test_absurdly_deep_body_is_a_body_error() -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    with pytest.raises(BabyAPIError) as info:
        encode_json({"messages": deep})
    assert info.value.code == "INVALID_REQUEST_BODY"
    assert "nested too deeply" in info.value.message


def test_prepare_call_needs_a_key() -> None:
    with pytest.raises(BabyAPIError) as info:
        call_with(api_key=None)
    assert info.value.code == "API_KEY_REQUIRED"


# --- timeouts ------------------------------------------------------------------------------


def timeout_of(request: WireRequest) -> Dict[str, Optional[float]]:
    timeout: Dict[str, Optional[float]] = as_sent(request).extensions["timeout"]
    return timeout


@pytest.mark.parametrize(
    ("options", "stream", "time_left", "expected"),
    [
        (None, False, None, {"connect": 60, "read": 60, "write": 60, "pool": 60}),
        ({"timeout_s": 5}, False, None, {"connect": 5, "read": 5, "write": 5, "pool": 5}),
        (None, False, 2.5, {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}),
        (None, False, 100.0, {"connect": 60, "read": 60, "write": 60, "pool": 60}),
        ({"timeout_s": 5}, False, 3.0, {"connect": 3, "read": 3, "write": 3, "pool": 3}),
        (None, True, None, {"connect": 60, "read": None, "write": None, "pool": 60}),
        (None, True, 4.0, {"connect": 4, "read": 4, "write": 4, "pool": 4}),
        ({"timeout_s": 7}, True, None, {"connect": 7, "read": 7, "write": 7, "pool": 7}),
        (
            {"stream_idle_timeout_s": 2},
            True,
            None,
            {"connect": 60, "read": 2, "write": 2, "pool": 60},
        ),
        (
            {"timeout_s": 5, "stream_idle_timeout_s": 9},
            True,
            None,
            {"connect": 5, "read": 5, "write": 5, "pool": 5},
        ),
        (
            {"headers_timeout_s": 1.5},
            False,
            None,
            {"connect": 60, "read": 1.5, "write": 1.5, "pool": 60},
        ),
        (
            {"headers_timeout_s": 1.5},
            True,
            0.5,
            {"connect": 0.5, "read": 0.5, "write": 0.5, "pool": 0.5},
        ),
    ],
    ids=[
        "json default",
        "json timeout_s",
        "deadline caps all",
        "deadline far away",
        "deadline below timeout_s",
        "stream default no read timeout",
        "stream deadline caps read",
        "stream timeout_s",
        "stream idle timeout",
        "stream min of timeout and idle",
        "headers timeout",
        "deadline caps headers timeout",
    ],
)
def test_attempt_timeouts(
    options: Optional[Dict[str, Any]],
    stream: bool,
    time_left: Optional[float],
    expected: Dict[str, Optional[float]],
) -> None:
    request = call_with(options, stream=stream).request(0, time_left)
    assert timeout_of(request) == expected


def test_key_not_in_call_repr() -> None:
    call = call_with({"api_key": KEY})
    assert KEY not in repr(call)
