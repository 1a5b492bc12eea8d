"""Request ids: one ``x-request-id`` per call, kept across retries, joined to errors and logs."""

from __future__ import annotations

import logging

import pytest

from babyapi import APIConnectionError, BabyAPIError, RequestOptions
from drivers import Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hello."}]
OK = Reply.json({"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]})


def chat(client: object) -> object:
    return client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[attr-defined]


def test_each_call_sends_its_own_id_and_retries_repeat_it(driver: Driver) -> None:
    driver.server.script(Reply(status=503), OK, OK)
    driver.call(chat)
    driver.call(chat)
    first, retry, other = (r.headers["x-request-id"] for r in driver.server.requests)
    assert first == retry
    assert first != other
    assert len(first) == 32 and int(first, 16) >= 0


def test_a_request_id_the_caller_gives_wins(driver: Driver) -> None:
    driver.server.script(OK)
    driver.call(
        lambda c: c.chat.completions.create(
            model="m",
            messages=MESSAGES,
            request_options=RequestOptions(headers={"X-Request-Id": "mine-1"}),
        )
    )
    assert driver.server.requests[0].headers["x-request-id"] == "mine-1"
    assert driver.server.requests[0].headers.raw.count(("x-request-id", "mine-1")) == 1


def test_an_error_carries_the_sent_id_when_the_server_names_none(driver: Driver) -> None:
    driver.server.script(Reply.json({"error": {"message": "bad"}}, status=400))
    with pytest.raises(BabyAPIError) as info:
        driver.call(chat)
    assert info.value.request_id == driver.server.requests[0].headers["x-request-id"]


def test_the_servers_id_wins_in_errors_and_both_are_logged(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    driver.server.script(
        Reply.json({"error": {"message": "bad"}}, status=400, headers={"x-request-id": "srv-9"})
    )
    with caplog.at_level(logging.DEBUG, logger="babyapi"), pytest.raises(BabyAPIError) as info:
        driver.call(chat)
    assert info.value.request_id == "srv-9"
    ours = driver.server.requests[0].headers["x-request-id"]
    assert f"[request_id={ours}, server request_id=srv-9]" in caplog.text


def test_a_connection_error_carries_the_id_logged_for_it(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    driver.server.script(Reply(drop="before_headers"))
    client = driver.make(max_retries=0)
    with (
        caplog.at_level(logging.DEBUG, logger="babyapi"),
        pytest.raises(APIConnectionError) as info,
    ):
        driver.call(chat, client)
    assert info.value.request_id
    assert f"[request_id={info.value.request_id}]" in caplog.text


def test_a_stream_names_the_sent_id_when_the_server_names_none(driver: Driver) -> None:
    driver.server.script(Reply.sse([{"choices": [{"index": 0, "delta": {"content": "hi"}}]}]))
    stream = driver.run(
        driver.client.chat.completions.stream(model="m", messages=MESSAGES)  # pyright: ignore[reportUnknownArgumentType]
    )
    driver.stream_method(stream, "final")
    assert stream.request_id == driver.server.requests[0].headers["x-request-id"]


def test_an_errors_response_holds_the_request_as_it_was_sent(driver: Driver) -> None:
    driver.server.script(Reply.json({"error": {"message": "bad"}}, status=400))
    with pytest.raises(BabyAPIError) as info:
        driver.call(chat)
    response = info.value.response
    assert response is not None
    request, seen = response.request, driver.server.requests[0]
    assert (request.method, request.url.path, request.content) == ("POST", seen.path, seen.body)
    for name in ("x-request-id", "idempotency-key", "content-type", "user-agent", "accept"):
        assert request.headers[name] == seen.headers[name]
