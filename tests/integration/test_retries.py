"""Retries on the wire: which failures are retried, how long the client waits, what it sends."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from babyapi import (
    APIConnectionError,
    APITimeoutError,
    BabyAPIError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hello."}]
OK = Reply.json({"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]})


def chat(client: object) -> object:
    return client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_with_one_idempotency_key(
    driver: Driver, status: int
) -> None:
    driver.server.script(Reply.json({"error": {"message": "busy"}}, status=status), OK)
    res = driver.call(chat)
    assert res["choices"][0]["message"]["content"] == "ok"
    first, second = driver.server.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert [r.headers["x-babyapi-retry-count"] for r in (first, second)] == ["0", "1"]
    assert first.body == second.body
    assert driver.time.sleeps == [0.25]  # base 0.25 * 2**0, jitter at its midpoint


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(driver: Driver, status: int) -> None:
    driver.server.script(Reply.json({"error": {"message": "no"}}, status=status), OK)
    with pytest.raises(BabyAPIError):
        driver.call(chat)
    assert len(driver.server.requests) == 1
    assert driver.time.sleeps == []


def test_backoff_doubles_and_the_error_counts_attempts(driver: Driver) -> None:
    driver.server.script(Reply.json({"error": {"message": "down"}}, status=503))
    client = driver.make(max_retries=3, retry_base_delay_s=0.5)
    with pytest.raises(InternalServerError) as info:
        driver.call(chat, client)
    assert len(driver.server.requests) == 4
    assert driver.time.sleeps == [0.5, 1.0, 2.0]
    assert info.value.attempts == 4
    assert "4 attempts" in info.value.message


def test_backoff_is_capped_at_eight_seconds(driver: Driver) -> None:
    driver.server.script(Reply(status=500))
    client = driver.make(max_retries=3, retry_base_delay_s=5.0)
    with pytest.raises(InternalServerError):
        driver.call(chat, client)
    assert driver.time.sleeps == [5.0, 8.0, 8.0]


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}, 20.0),  # 20 s after the fake wall clock
        ({"retry-after-ms": "200", "retry-after": "9"}, 0.2),
    ],
)
def test_server_asked_wait_is_honoured(
    driver: Driver, headers: dict[str, str], wait: float
) -> None:
    driver.server.script(
        Reply.json({"error": {"message": "slow down"}}, status=429, headers=headers), OK
    )
    driver.call(chat)
    assert driver.time.sleeps == [pytest.approx(wait)]


@pytest.mark.parametrize("status", [429, 503])
def test_a_wait_over_sixty_seconds_is_handed_back(driver: Driver, status: int) -> None:
    driver.server.script(
        Reply.json({"error": {"message": "later"}}, status=status, headers={"retry-after": "120"}),
        OK,
    )
    with pytest.raises(BabyAPIError) as info:
        driver.call(chat)
    assert len(driver.server.requests) == 1
    assert info.value.retry_after == 120.0  # type: ignore[attr-defined]
    assert driver.time.sleeps == []


def test_x_should_retry_overrides_the_status_rule(driver: Driver) -> None:
    driver.server.script(
        Reply.json({"error": {"message": "nope"}}, status=503, headers={"x-should-retry": "false"}),
        OK,
    )
    with pytest.raises(InternalServerError):
        driver.call(chat)
    assert len(driver.server.requests) == 1
    driver.server.reset()
    driver.server.script(
        Reply.json({"error": {"message": "again"}}, status=400, headers={"x-should-retry": "true"}),
        OK,
    )
    assert driver.call(chat)["choices"]
    assert len(driver.server.requests) == 2


def test_max_retries_zero_sends_exactly_one_request(driver: Driver) -> None:
    driver.server.script(Reply(status=503), OK)
    with pytest.raises(InternalServerError):
        driver.call(
            lambda c: c.chat.completions.create(
                request_options={"max_retries": 0}, model="m", messages=MESSAGES
            )
        )
    assert len(driver.server.requests) == 1


def test_dropped_connections_are_retried(driver: Driver) -> None:
    driver.server.script(Reply(drop="before_headers"), OK)
    assert driver.call(chat)["choices"]
    assert len(driver.server.requests) == 2


SLOW = Reply.json({"data": [], "results": []}, delay_s=1.0)


@pytest.mark.parametrize(
    "generate",
    [
        chat,
        lambda c: c.completions.create(model="m", prompt="Once"),
        lambda c: c.baby.infer("Once", model="m"),
        lambda c: c.infer(model="m", messages=MESSAGES),
    ],
    ids=["chat", "completions", "baby.infer", "infer"],
)
def test_a_slow_generation_is_sent_once(driver: Driver, generate: Any) -> None:
    driver.server.script(SLOW)
    client = driver.make(timeout_s=0.2, max_retries=2)
    with pytest.raises(APITimeoutError) as info:
        driver.call(generate, client)
    assert len(driver.server.requests) == 1, "the server would have generated the answer again"
    assert info.value.attempts == 1
    assert "not retried" in info.value.message
    assert "retry_read_timeouts=True" in info.value.message
    assert driver.time.sleeps == []


@pytest.mark.parametrize(
    "fetch",
    [
        lambda c: c.embeddings.create(model="m", input="hi"),
        lambda c: c.rerank.create(model="m", query="q", documents=["a"]),
        lambda c: c.models.list(),
    ],
    ids=["embeddings", "rerank", "models"],
)
def test_a_slow_lookup_is_retried_up_to_max_retries(driver: Driver, fetch: Any) -> None:
    driver.server.script(SLOW)
    client = driver.make(timeout_s=0.2, max_retries=2)
    with pytest.raises(APITimeoutError) as info:
        driver.call(fetch, client)
    assert len(driver.server.requests) == 3
    assert info.value.attempts == 3
    assert "gave up after 3 attempts" in info.value.message


@pytest.mark.parametrize("where", ["client", "request_options"])
def test_retry_read_timeouts_retries_a_slow_generation(driver: Driver, where: str) -> None:
    driver.server.script(SLOW, OK)
    if where == "client":
        client = driver.make(timeout_s=0.2, retry_read_timeouts=True)
        res = driver.call(chat, client)
    else:
        client = driver.make(timeout_s=0.2)
        res = driver.call(
            lambda c: c.chat.completions.create(
                model="m", messages=MESSAGES, request_options={"retry_read_timeouts": True}
            ),
            client,
        )
    assert res["choices"][0]["message"]["content"] == "ok"
    assert len(driver.server.requests) == 2


def test_a_dropped_generation_is_still_retried(driver: Driver) -> None:
    driver.server.script(Reply(drop="before_headers"), Reply(drop="before_headers"), OK)
    assert driver.call(chat)["choices"]
    assert len(driver.server.requests) == 3


def test_connection_refused_is_retried_then_raised(driver: Driver) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = driver.make(base_url=f"http://127.0.0.1:{port}", max_retries=2)
    with pytest.raises(APIConnectionError) as info:
        driver.call(chat, client)
    assert info.value.attempts == 3
    assert len(driver.time.sleeps) == 2


def test_the_users_idempotency_key_wins(driver: Driver) -> None:
    driver.server.script(Reply(status=503), OK)
    driver.call(
        lambda c: c.chat.completions.create(
            request_options={"headers": {"idempotency-key": "mine-1"}}, model="m", messages=MESSAGES
        )
    )
    keys = [r.headers["idempotency-key"] for r in driver.server.requests]
    assert keys == ["mine-1", "mine-1"]
    assert all(list(r.headers).count("idempotency-key") == 1 for r in driver.server.requests)


def test_deadline_stops_retries_and_says_how_many_attempts(driver: Driver) -> None:
    driver.server.script(Reply(status=503))
    client = driver.make(max_retries=10, retry_base_delay_s=0.4, deadline_s=1.0)
    with pytest.raises(InternalServerError) as info:
        driver.call(chat, client)
    # waits 0.4 then 0.8 would end past the 1 s deadline: two attempts, one sleep
    assert driver.time.sleeps == [0.4]
    assert len(driver.server.requests) == 2
    assert info.value.attempts == 2
    assert "deadline" in info.value.message


def test_deadline_in_request_options_bounds_a_slow_attempt(driver: Driver) -> None:
    driver.server.script(Reply.json({}, delay_s=30.0))
    driver.time.now = 0.0
    # A real clock here: the deadline must cut the attempt itself short.
    import time

    client = driver.make(max_retries=0)
    from babyapi._call import Clocks

    client._clocks = Clocks(monotonic=time.monotonic, wall=time.time, random=lambda: 0.5)
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        driver.call(
            lambda c: c.chat.completions.create(
                request_options={"deadline_s": 0.3}, model="m", messages=MESSAGES
            ),
            client,
        )
    assert time.monotonic() - started < 20.0  # the server would answer after 30 s


def test_streams_are_never_retried(driver: Driver) -> None:
    driver.server.script(
        Reply.json({"error": {"message": "busy"}}, status=503), Reply.sse([{"choices": []}])
    )
    with pytest.raises(InternalServerError) as info:
        driver.events(lambda c: c.chat.completions.stream(model="m", messages=MESSAGES))
    assert info.value.message == "busy"
    assert len(driver.server.requests) == 1
    assert driver.time.sleeps == []


def test_rate_limit_error_carries_retry_after_when_retries_run_out(driver: Driver) -> None:
    driver.server.script(
        Reply.json({"error": {"message": "slow"}}, status=429, headers={"retry-after": "2"})
    )
    client = driver.make(max_retries=1)
    with pytest.raises(RateLimitError) as info:
        driver.call(chat, client)
    assert info.value.retry_after == 2.0
    assert driver.time.sleeps == [2.0]


def test_each_decision_is_logged_without_key_or_body(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    driver.server.script(Reply(status=503), OK)
    with caplog.at_level(logging.DEBUG, logger="babyapi"):
        driver.call(
            lambda c: c.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "secret prompt"}]
            )
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "babyapi"]
    request_id = driver.server.requests[0].headers["x-request-id"]
    assert lines == [
        f"POST /v1/chat/completions -> 503 (attempt 1 of 3); retrying in 0.25s [request_id={request_id}]",
        f"POST /v1/chat/completions -> 200 (attempt 2 of 3) [request_id={request_id}]",
    ]
    assert not any(API_KEY in line or "secret prompt" in line for line in caplog.text.splitlines())


def test_bad_request_is_not_retried_even_with_retries_left(driver: Driver) -> None:
    driver.server.script(Reply.json({"error": {"message": "bad"}}, status=400), OK)
    with pytest.raises(BadRequestError):
        driver.call(chat)
    assert len(driver.server.requests) == 1


@pytest.mark.parametrize("key", ["e", "on"])
def test_a_short_key_does_not_garble_the_transport_message(driver: Driver, key: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = driver.make(api_key=key, base_url=f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        driver.call(chat, client)
    # The transport's own words ("Connection refused", "All connection attempts failed") intact.
    assert str(info.value.cause) in info.value.message
    assert key in str(info.value.cause)
    assert "[api key]" not in info.value.message


def test_a_storm_is_bounded_by_the_retry_budget(driver: Driver) -> None:
    from babyapi import RetryBudget

    driver.server.script(Reply.json({"error": {"message": "overloaded"}}, status=503))
    budget = RetryBudget(ratio=0.1, min_retries=3, window_s=1_000.0)
    client = driver.make(max_retries=2, retry_budget=budget)
    codes = []
    for _ in range(20):
        with pytest.raises(InternalServerError) as info:
            driver.call(chat, client)
        codes.append(info.value.code)
    # 20 calls, and retries up to 3 + 0.1 per call: 5 of them, not 40.
    assert len(driver.server.requests) == 20 + 5
    assert codes.count("RETRY_BUDGET_EXHAUSTED") == 20 - 2


def test_without_a_budget_every_call_retries(driver: Driver) -> None:
    driver.server.script(Reply(status=503))
    client = driver.make(max_retries=2, retry_budget=None)
    for _ in range(20):
        with pytest.raises(InternalServerError) as info:
            driver.call(chat, client)
        assert info.value.code != "RETRY_BUDGET_EXHAUSTED"
    assert len(driver.server.requests) == 60


def test_with_options_copies_share_the_budget(driver: Driver) -> None:
    from babyapi import RetryBudget

    driver.server.script(Reply(status=503))
    client = driver.make(retry_budget=RetryBudget(ratio=0.0, min_retries=2, window_s=1_000.0))
    copy = client.with_options(timeout_s=5.0)
    driver.install_fake_time(copy)
    with pytest.raises(InternalServerError):
        driver.call(chat, client)  # spends both retries
    with pytest.raises(InternalServerError) as info:
        driver.call(chat, copy)
    assert info.value.code == "RETRY_BUDGET_EXHAUSTED"
    assert len(driver.server.requests) == 4
    # A copy with a budget of its own starts afresh.
    other = client.with_options(retry_budget=None)
    driver.install_fake_time(other)
    with pytest.raises(InternalServerError):
        driver.call(chat, other)
    assert len(driver.server.requests) == 7
