"""Error answers become BabyAPIError subclasses users can catch by meaning; nothing raw escapes."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys

import aiohttp
import httpx
import pytest

import babyapi
from babyapi import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
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
from drivers import API_KEY, Driver, library_errors  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hello."}]


def chat(client: babyapi.BabyAPI | babyapi.AsyncBabyAPI) -> object:
    return client.chat.completions.create(model="mistral", messages=MESSAGES)


def raised(driver: Driver, *replies: Reply, **client_kwargs: object) -> BabyAPIError:
    driver.server.script(*replies)
    client = driver.make(max_retries=0, **client_kwargs)
    with pytest.raises(BabyAPIError) as info:
        driver.call(chat, client)
    return info.value


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_its_class_with_openai_fields(
    driver: Driver, status: int, cls: type[BabyAPIError]
) -> None:
    reply = Reply.json(
        {
            "error": {
                "message": "model 'x' not found",
                "type": "invalid_request_error",
                "param": None,
                "code": 404,
            }
        },
        status=status,
        headers={"x-request-id": "req-42"},
    )
    err = raised(driver, reply)
    assert type(err) is cls
    assert isinstance(err, APIStatusError)
    assert (err.message, err.status, err.code, err.type, err.request_id) == (
        "model 'x' not found",
        status,
        "404",
        "invalid_request_error",
        "req-42",
    )
    assert err.details["error"]["param"] is None
    assert err.response is not None and err.response.status_code == status


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply.json({"error": "rate limited, slow down"}, status=429), "rate limited, slow down"),
        (Reply.json({"message": "upstream unavailable"}, status=503), "upstream unavailable"),
        (Reply.json({"detail": "Not authenticated"}, status=401), "Not authenticated"),
        (
            Reply.json(
                {
                    "detail": [
                        {"loc": ["body", "messages"], "msg": "field required", "type": "missing"}
                    ]
                },
                status=422,
            ),
            "messages: field required",
        ),
        (Reply.text("Internal Server Error", status=500), "Internal Server Error"),
        (
            Reply.json(
                {
                    "error": {
                        "code": 400,
                        "message": "context too long",
                        "type": "exceed_context_size_error",
                        "n_prompt_tokens": 9000,
                        "n_ctx": 4096,
                    }
                },
                status=400,
            ),
            "context too long",
        ),
        (Reply(status=503, body=b""), "503 Service Unavailable from 127.0.0.1"),
    ],
)
def test_every_error_body_shape_gives_a_useful_message(
    driver: Driver, reply: Reply, message: str
) -> None:
    err = raised(driver, reply)
    assert err.message == message
    assert err.status == reply.status


def test_html_proxy_page_becomes_one_line(driver: Driver) -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body>"
        + "<p>nginx</p>" * 300
        + "</body></html>"
    )
    err = raised(driver, Reply.text(page, status=502, content_type="text/html"))
    assert isinstance(err, InternalServerError)
    assert err.message == "502 Bad Gateway from 127.0.0.1"


def test_babyapi_request_id_header_is_read_too(driver: Driver) -> None:
    err = raised(
        driver,
        Reply.json(
            {"error": {"message": "no"}}, status=400, headers={"x-babyapi-request-id": "b-7"}
        ),
    )
    assert err.request_id == "b-7"


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text('{"id": "x", "choices": [', content_type="application/json"),
        Reply.json(["not", "an", "object"]),
        Reply.json("just a string"),
        Reply(status=200, body=b""),
        Reply.text("<html>hello</html>", content_type="text/html"),
        Reply(
            status=200, body=b"\xff\xfe\x00garbage", headers={"content-type": "application/json"}
        ),
    ],
)
def test_malformed_success_bodies_raise_invalid_response(driver: Driver, reply: Reply) -> None:
    err = raised(driver, reply)
    assert type(err) is BabyAPIError
    assert err.code == "INVALID_RESPONSE"
    assert err.status == 200
    assert "base_url" in err.message


def test_json_with_the_wrong_content_type_is_accepted(driver: Driver) -> None:
    driver.server.script(Reply.text('{"choices": []}', content_type="text/plain"))
    assert driver.call(chat) == {"choices": []}


def test_error_object_inside_a_200_is_raised(driver: Driver) -> None:
    err = raised(
        driver, Reply.json({"error": {"message": "The model `x` does not exist.", "code": 404}})
    )
    assert isinstance(err, NotFoundError)
    assert err.message == "The model `x` does not exist."


def test_connection_refused_is_a_connection_error_with_advice(driver: Driver) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = driver.make(base_url=f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        driver.call(chat, client)
    assert "base_url" in info.value.message
    assert info.value.failure == "connect"
    # The cause is the transport library's own exception.
    expected = {"aiohttp": aiohttp.ClientConnectorError, "stdlib": ConnectionRefusedError}.get(
        driver.kind, httpx.ConnectError
    )
    assert isinstance(info.value.cause, expected)
    assert not isinstance(info.value, APITimeoutError)


UNCAUGHT = """
import sys
from babyapi import BabyAPI
client = BabyAPI(api_key="sk-test", base_url="http://127.0.0.1:%d", max_retries=0)
client.{call}
"""


@pytest.mark.parametrize(
    "call",
    [
        "models.list()",
        "chat.completions.stream(model='m', messages=[{'role': 'user', 'content': 'hi'}])",
    ],
)
def test_an_uncaught_connection_error_prints_one_traceback(call: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = UNCAUGHT.replace("{call}", call) % port
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.count("Traceback (most recent call last)") == 1, done.stderr
    assert "httpcore" not in done.stderr and "httpx" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("babyapi.APIConnectionError: could not connect to http://127.0.0.1")


def test_read_timeout_is_a_timeout_error(driver: Driver) -> None:
    err = raised(driver, Reply.json({"choices": []}, delay_s=1.0), timeout_s=0.1)
    assert isinstance(err, APITimeoutError)
    assert err.code == "TIMEOUT"
    assert "(timeout_s=0.1)" in err.message


def test_a_json_call_names_the_deadline_when_it_fires(driver: Driver) -> None:
    err = raised(driver, Reply.json({"choices": []}, delay_s=1.0), deadline_s=0.2)
    assert isinstance(err, APITimeoutError)
    assert "(what was left of deadline_s=0.2)" in err.message
    assert "raise deadline_s" in err.message


def test_connection_dropped_before_headers(driver: Driver) -> None:
    err = raised(driver, Reply(drop="before_headers"))
    assert isinstance(err, APIConnectionError)
    assert err.failure == "remote_closed"
    assert isinstance(err.cause, library_errors(driver.kind))


def test_body_cut_short_is_a_connection_error(driver: Driver) -> None:
    cut = Reply.json({"choices": [{"text": "x" * 100}]}, drop="after_headers")
    driver.server.script(cut, cut, cut)
    client = driver.make(max_retries=2)
    with pytest.raises(BabyAPIError) as info:
        driver.call(chat, client)
    err = info.value
    assert isinstance(err, APIConnectionError)
    assert err.code == "CONNECTION_ERROR" and err.status is None
    assert len(driver.server.requests) == 3
    assert err.message.startswith(
        f"POST /v1/chat/completions failed: the connection to {driver.server.base_url} broke ("
    )
    # The transport's words for a short body (aiohttp before 3.11 names no byte counts), and
    # how the retries ended.
    assert ("received 127" in err.message and "227" in err.message) or (
        driver.kind == "aiohttp" and "content length" in err.message
    )
    assert err.message.endswith("(gave up after 3 attempts: max_retries=2 reached)")
    assert err.failure == "remote_closed"
    expected = {
        "aiohttp": aiohttp.ClientPayloadError,
        "stdlib": http.client.IncompleteRead,
    }.get(driver.kind, httpx.RemoteProtocolError)
    assert isinstance(err.cause, expected)


def test_the_api_key_appears_in_no_error(driver: Driver) -> None:
    err = raised(driver, Reply.json({"error": {"message": "bad key"}}, status=401))
    assert API_KEY not in str(err)
    assert API_KEY not in repr(err)
    assert API_KEY not in repr(err.details)
    assert API_KEY not in repr(driver.client)


def test_error_pickles_for_multiprocessing(driver: Driver) -> None:
    import pickle

    err = raised(
        driver,
        Reply.json({"error": {"message": "busy"}}, status=429, headers={"retry-after": "90"}),
    )
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is RateLimitError
    assert (copy.message, copy.status, copy.retry_after) == (err.message, 429, 90.0)


def test_a_redirect_is_an_error_that_names_the_new_address(driver: Driver) -> None:
    err = raised(
        driver,
        Reply(status=301, headers={"location": "https://api.example.com/v1/chat/completions"}),
    )
    assert isinstance(err, APIStatusError)
    assert (err.status, err.code) == (301, "REDIRECT")
    assert "https://api.example.com/v1/chat/completions" in err.message
    assert "base_url" in err.message


def test_a_refused_connection_says_connection_refused_on_every_transport(driver: Driver) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connecting is refused
        client = driver.make(base_url=f"http://127.0.0.1:{port}", max_retries=0)
        with pytest.raises(BabyAPIError) as info:
            driver.call(chat, client)
    err = info.value
    assert isinstance(err, APIConnectionError) and err.code == "CONNECTION_ERROR"
    assert err.message.startswith(f"could not connect to http://127.0.0.1:{port} (")
    assert "Connection refused" in err.message, "aiohttp's 'Connect call failed' says less"
