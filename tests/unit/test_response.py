"""What the server sent -> a dict or a BabyAPIError: the error shapes real servers use, bodies
that are not what they claim, and a hypothesis property over arbitrary bytes."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple, Type

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi._errors import (
    APIStatusError,
    AuthenticationError,
    BabyAPIError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from babyapi._response import error_from_response, error_from_stream_frame, parse_json_body

URL = "http://127.0.0.1:9/v1/chat/completions"


def response(
    status: int,
    body: Any = None,
    *,
    content: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
) -> httpx.Response:
    """A response as the client would have it; ``body`` is encoded as JSON unless ``content`` is given."""
    all_headers = dict(headers or {})
    if content is None:
        content = b"" if body is None else json.dumps(body).encode()
        if body is not None:
            all_headers.setdefault("content-type", "application/json")
    return httpx.Response(
        status, content=content, headers=all_headers, request=httpx.Request("POST", URL)
    )


HTML_502 = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n"
    + "<!-- a padding to make the default error page larger than 512 bytes -->\n" * 45
    + "</body>\n</html>\n"
).encode()

# (name, response, class, message, code, type)
ERROR_CASES: List[
    Tuple[str, httpx.Response, Type[APIStatusError], str, Optional[str], Optional[str]]
] = [
    (
        "OpenAI shape",
        response(
            401,
            {
                "error": {
                    "message": "Incorrect API key provided",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        ),
        AuthenticationError,
        "Incorrect API key provided",
        "invalid_api_key",
        "invalid_request_error",
    ),
    (
        "OpenAI shape, code null",
        response(
            429,
            {"error": {"message": "Slow down", "type": "rate_limit", "code": None, "param": None}},
        ),
        RateLimitError,
        "Slow down",
        None,
        "rate_limit",
    ),
    (
        "vLLM int code",
        response(
            400,
            {
                "object": "error",
                "message": "x",
                "error": {
                    "message": "max_tokens too large",
                    "type": "BadRequestError",
                    "code": 400,
                },
            },
        ),
        BadRequestError,
        "max_tokens too large",
        "400",
        "BadRequestError",
    ),
    (
        "string code",
        response(
            404,
            {"error": {"message": "model 'x' not found", "type": "NotFoundError", "code": "400"}},
        ),
        NotFoundError,
        "model 'x' not found",
        "400",
        "NotFoundError",
    ),
    (
        "llama-server extra fields",
        response(
            400,
            {
                "error": {
                    "code": 400,
                    "message": "the request exceeds the available context size",
                    "type": "exceed_context_size_error",
                    "n_prompt_tokens": 5000,
                    "n_ctx": 4096,
                }
            },
        ),
        BadRequestError,
        "the request exceeds the available context size",
        "400",
        "exceed_context_size_error",
    ),
    (
        "error is text",
        response(403, {"error": "Forbidden: key revoked"}),
        PermissionDeniedError,
        "Forbidden: key revoked",
        None,
        None,
    ),
    (
        "error is a code beside a message",
        response(429, {"error": "RATE_LIMITED", "message": "Slow down, please"}),
        RateLimitError,
        "Slow down, please",
        "RATE_LIMITED",
        None,
    ),
    (
        "error is a code beside a message and a code",
        response(400, {"error": "Bad Request", "message": "n is too big", "code": "n_range"}),
        BadRequestError,
        "n is too big",
        "n_range",
        None,
    ),
    (
        "top-level message",
        response(409, {"message": "request in flight", "code": "conflict"}),
        ConflictError,
        "request in flight",
        "conflict",
        None,
    ),
    (
        "FastAPI detail text",
        response(404, {"detail": "Not Found"}),
        NotFoundError,
        "Not Found",
        None,
        None,
    ),
    (
        "FastAPI validation records",
        response(
            422,
            {
                "detail": [
                    {
                        "loc": ["body", "messages", 0, "role"],
                        "msg": "field required",
                        "type": "missing",
                    },
                    {"loc": ["body", "temperature"], "msg": "must be <= 2", "type": "value_error"},
                ]
            },
        ),
        UnprocessableEntityError,
        "messages.0.role: field required; temperature: must be <= 2",
        None,
        None,
    ),
    (
        "text/plain",
        response(500, content=b"Internal Server Error", headers={"content-type": "text/plain"}),
        InternalServerError,
        "Internal Server Error",
        None,
        None,
    ),
    (
        "multi-line text collapsed",
        response(
            503, content=b"upstream\n  overloaded\r\n", headers={"content-type": "text/plain"}
        ),
        InternalServerError,
        "upstream overloaded",
        None,
        None,
    ),
    (
        "HTML 502 page",
        response(502, content=HTML_502, headers={"content-type": "text/html"}),
        InternalServerError,
        "502 Bad Gateway from 127.0.0.1",
        None,
        None,
    ),
    (
        "HTML without content-type",
        response(504, content=b"<html><body>Gateway Timeout</body></html>"),
        InternalServerError,
        "504 Gateway Timeout from 127.0.0.1",
        None,
        None,
    ),
    (
        "empty body",
        response(503, content=b""),
        InternalServerError,
        "503 Service Unavailable from 127.0.0.1",
        None,
        None,
    ),
    (
        "empty JSON object",
        response(400, {}),
        BadRequestError,
        "400 Bad Request from 127.0.0.1",
        None,
        None,
    ),
    (
        "unknown status",
        response(418, content=b""),
        APIStatusError,
        "418 I'm a Teapot from 127.0.0.1",
        None,
        None,
    ),
    (
        "unknown 5xx",
        response(599, content=b""),
        InternalServerError,
        "599 Error from 127.0.0.1",
        None,
        None,
    ),
    (
        "blank message falls back",
        response(500, {"error": {"message": "  "}}),
        InternalServerError,
        "500 Internal Server Error from 127.0.0.1",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("resp", "cls", "message", "code", "type_"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_error_bodies(
    resp: httpx.Response,
    cls: Type[APIStatusError],
    message: str,
    code: Optional[str],
    type_: Optional[str],
) -> None:
    error = error_from_response(resp)
    assert type(error) is cls
    assert (error.message, error.code, error.type) == (message, code, type_)
    assert error.status == resp.status_code
    assert error.response is resp
    assert str(error).startswith(message)
    assert f"(status={resp.status_code})" in str(error)


def test_html_page_size() -> None:
    assert 2500 < len(HTML_502) < 4096


def test_details_keep_the_body() -> None:
    body = {"error": {"message": "bad", "n_ctx": 4096}}
    assert error_from_response(response(400, body)).details == body
    assert error_from_response(response(500, content=b"oops")).details == "oops"
    assert error_from_response(response(500, content=b"")).details is None


def test_retry_after_carried() -> None:
    error = error_from_response(response(429, {"error": {"message": "slow"}}), retry_after=3.0)
    assert isinstance(error, RateLimitError) and error.retry_after == 3.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-request-id": "req-1"}, "req-1"),
        ({"X-BabyAPI-Request-Id": "baby-2"}, "baby-2"),
        ({"x-request-id": "req-1", "x-babyapi-request-id": "baby-2"}, "req-1"),
        ({}, None),
    ],
)
def test_request_id(headers: Dict[str, str], expected: Optional[str]) -> None:
    error = error_from_response(response(500, {"error": {"message": "x"}}, headers=headers))
    assert error.request_id == expected
    if expected:
        assert f"(request_id={expected})" in str(error)
    with pytest.raises(BabyAPIError) as info:
        parse_json_body(response(200, content=b"not json", headers=headers))
    assert info.value.request_id == expected


# --- 2xx bodies ----------------------------------------------------------------------------


def test_json_object_returned_as_is() -> None:
    body = {"id": "x", "choices": [{"message": {"content": "hé"}}], "error": None}
    assert parse_json_body(response(200, body)) == body


def test_wrong_content_type_but_valid_json_accepted() -> None:
    resp = response(200, content=b'{"output": "ok"}', headers={"content-type": "text/plain"})
    assert parse_json_body(resp) == {"output": "ok"}


def test_object_with_error_and_data_is_not_an_error() -> None:
    body = {"error": {"message": "partial"}, "choices": []}
    assert parse_json_body(response(200, body)) == body


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"choices": [{"mess', "not JSON"),
        (b"[1, 2]", "a JSON list"),
        (b'"just a string"', "a JSON str"),
        (b"42", "a JSON int"),
        (b"null", "a JSON NoneType"),
        (b"", "an empty body"),
        (b"<html>ok</html>", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
    ],
    ids=["truncated", "array", "string", "number", "null", "empty", "html", "bad utf-8"],
)
def test_bad_2xx_bodies(content: bytes, words: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        parse_json_body(response(200, content=content))
    error = info.value
    assert type(error) is BabyAPIError
    assert error.code == "INVALID_RESPONSE"
    assert error.status == 200
    assert words in error.message
    assert "POST /v1/chat/completions returned 200" in error.message
    assert "base_url" in error.message


@pytest.mark.parametrize(
    ("body", "status", "cls"),
    [
        ({"error": {"message": "model crashed", "code": 500}}, 500, InternalServerError),
        ({"error": {"message": "bad input", "code": "400"}}, 400, BadRequestError),
        ({"error": {"message": "quota", "status": 429}}, 429, RateLimitError),
        ({"error": {"message": "something", "type": "x"}}, None, BabyAPIError),
        ({"error": "plain text failure"}, None, BabyAPIError),
    ],
    ids=["code 500", "code '400'", "status 429", "no status", "string error"],
)
def test_200_with_only_an_error_raises(
    body: Dict[str, Any], status: Optional[int], cls: Type[BabyAPIError]
) -> None:
    with pytest.raises(BabyAPIError) as info:
        parse_json_body(response(200, body))
    error = info.value
    assert type(error) is cls
    assert error.status == status
    assert error.message in (
        "model crashed",
        "bad input",
        "quota",
        "something",
        "plain text failure",
    )
    assert error.details == body


@pytest.mark.parametrize("code", [b"Infinity", b"1e400", b"-Infinity"])
def test_infinite_error_code_is_still_a_babyapi_error(code: bytes) -> None:
    """int() of an Infinity code raises OverflowError, which must not escape."""
    content = b'{"error": {"message": "boom", "code": ' + code + b"}}"
    with pytest.raises(BabyAPIError) as info:
        parse_json_body(response(200, content=content))
    assert info.value.message == "boom"


def test_deeply_nested_body_is_a_babyapi_error() -> None:
    """json.loads raises RecursionError (not ValueError) on deep nesting; it must not escape."""
    nested = b"[" * 100_000
    with pytest.raises(BabyAPIError) as info:
        parse_json_body(response(200, content=nested))
    assert info.value.code == "INVALID_RESPONSE"
    error = error_from_response(response(500, content=nested))
    assert isinstance(error, InternalServerError)
    assert error.status == 500
    assert len(error.message) < 400 and "\n" not in error.message


# --- stream error frames -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"error": {"message": "overloaded", "code": 503}}, 503, "overloaded"),
        ({"error": {"message": "oops", "type": "internal"}}, 500, "oops"),
        ({"message": "raw frame", "code": 429}, 429, "raw frame"),
        ("text frame", 500, "text frame"),
    ],
)
def test_stream_error_frames(payload: Any, status: int, message: str) -> None:
    error = error_from_stream_frame(response(200, content=b""), payload)
    assert isinstance(error, BabyAPIError)
    assert (error.status, error.message) == (status, message)


# --- hypothesis ----------------------------------------------------------------------------

_JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
_ERRORISH = st.fixed_dictionaries(
    {},
    optional={
        "error": _JSONISH
        | st.fixed_dictionaries(
            {}, optional={"message": _JSONISH, "code": _JSONISH, "type": _JSONISH}
        ),
        "message": _JSONISH,
        "detail": _JSONISH,
        "code": _JSONISH,
    },
)
_BODIES = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=600).map(str.encode),
    _ERRORISH.map(lambda b: json.dumps(b).encode()),
    _JSONISH.map(lambda b: json.dumps(b).encode()),
)


def _assert_one_line(message: str) -> None:
    assert message.strip()
    assert len(message) < 400
    assert len(message.splitlines()) == 1


@settings(max_examples=100, deadline=None)
@given(
    content=_BODIES,
    status=st.integers(400, 599),
    content_type=st.sampled_from(["application/json", "text/html", "text/plain", None]),
)
def test_error_from_response_never_raises(
    content: bytes, status: int, content_type: Optional[str]
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    error = error_from_response(response(status, content=content, headers=headers))
    assert isinstance(error, APIStatusError)
    assert error.status == status
    _assert_one_line(error.message)


@settings(max_examples=100, deadline=None)
@given(content=_BODIES)
def test_parse_json_body_only_babyapi_errors(content: bytes) -> None:
    try:
        body = parse_json_body(response(200, content=content))
    except BabyAPIError as error:
        assert error.message.strip()
        assert len(error.message.splitlines()) == 1
        return
    assert isinstance(body, dict)
