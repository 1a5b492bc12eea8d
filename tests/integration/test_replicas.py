"""One client over several servers, on the wire: failover, keys, streams, visibility, state.

Servers are scripted ones (they record what arrived) or the local server; a dead one is a
port nothing listens on. Every test runs for each client kind (sync, async, aiohttp). The
drivers' randomness is a constant 0.5, which makes the balancer's first pick the second server
of the list: the failing one is put there, so the first attempt meets the failure.
"""

from __future__ import annotations

import logging
import pickle
import socket
from collections.abc import Iterator
from typing import Any, List, TypedDict

import pytest

from babyapi import BabyAPI, BabyAPIError, Server, UsageTracker
from babyapi.server import LocalServer
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hi"}]
ANSWER = {
    "id": "c",
    "object": "chat.completion",
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}
OVERLOADED = Reply.json({"error": {"message": "overloaded", "type": "server_error"}}, status=503)


def dead_url() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def second() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


def chat(driver: Driver, client: Any, **kwargs: Any) -> Any:
    return driver.call(
        lambda c: c.chat.completions.create(model="m", messages=MESSAGES, **kwargs), client
    )


def test_a_failing_server_hands_the_call_to_another_with_the_same_ids(
    driver: Driver, second: ScriptedServer
) -> None:
    driver.server.script(OVERLOADED)
    second.script(Reply.json(ANSWER))
    client = driver.make(base_url=[second.base_url, driver.server.base_url, dead_url()])
    for _ in range(6):
        assert chat(driver, client)["choices"][0]["message"]["content"] == "Hello"
    # Every call ended on the one good server; the others cooled down after their failure.
    assert len(second.requests) == 6
    states = {status.url: status.state for status in client.servers}
    assert states[second.base_url] == "healthy"
    assert list(states.values()) == ["healthy", "cooling", "cooling"]
    assert len(driver.server.requests) == 1
    for request in driver.server.requests:  # each failed attempt's call reached `second` next
        twin = [
            r
            for r in second.requests
            if r.headers["x-request-id"] == request.headers["x-request-id"]
        ]
        assert len(twin) == 1
        assert twin[0].headers["idempotency-key"] == request.headers["idempotency-key"]
    assert driver.time.sleeps == []  # failing over waits for nothing


def test_each_server_is_sent_its_own_key(driver: Driver, second: ScriptedServer) -> None:
    driver.server.script(OVERLOADED)
    second.script(OVERLOADED)
    client = driver.make(
        api_key=None,
        base_url=[
            Server(second.base_url, api_key="sk-second-server-key"),
            Server(driver.server.base_url, api_key="sk-first-server-key"),
        ],
        max_retries=1,
    )
    with pytest.raises(BabyAPIError) as info:
        chat(driver, client)
    assert driver.server.requests[0].headers["authorization"] == "Bearer sk-first-server-key"
    assert second.requests[0].headers["authorization"] == "Bearer sk-second-server-key"
    assert "sk-" not in repr(client) and "sk-" not in str(info.value)


def test_the_error_names_the_server_of_the_last_attempt(
    driver: Driver, second: ScriptedServer
) -> None:
    driver.server.script(OVERLOADED)
    second.script(OVERLOADED)
    client = driver.make(base_url=[second.base_url, driver.server.base_url])
    with pytest.raises(BabyAPIError) as info:
        chat(driver, client)
    error = info.value
    # One attempt on each, then (both cooling) a wait for the first to return, and its probe.
    assert error.status == 503 and error.attempts == 3
    assert error.server in (driver.server.base_url, second.base_url)
    assert len(driver.server.requests) + len(second.requests) == 3
    assert f"[server {error.server}]" in str(error)


def test_a_stream_moves_before_its_response_and_never_after(
    driver: Driver, second: ScriptedServer
) -> None:
    driver.server.script(OVERLOADED)
    second.script(Reply.sse([{"choices": [{"delta": {"content": "Hi"}}]}]))
    client = driver.make(base_url=[second.base_url, driver.server.base_url])
    for _ in range(3):
        events = driver.events(
            lambda c: c.chat.completions.stream(model="m", messages=MESSAGES), client
        )
        assert events[-1].done
    assert len(second.requests) == 3
    # Cut after the first chunk: the stream fails, and nobody is asked again.
    second.script(
        Reply.sse([{"choices": [{"delta": {"content": "Hi"}}]}] * 3, done=False, drop="mid_chunks")
    )
    sent = len(second.requests) + len(driver.server.requests)
    with pytest.raises(BabyAPIError):
        driver.events(lambda c: c.chat.completions.stream(model="m", messages=MESSAGES), client)
    assert len(second.requests) + len(driver.server.requests) == sent + 1


def test_a_server_without_the_model_is_skipped_for_it(
    driver: Driver, second: ScriptedServer
) -> None:
    missing = Reply.json(
        {"error": {"message": "The model `m` does not exist.", "code": "model_not_found"}},
        status=404,
    )
    driver.server.script(missing)
    second.script(Reply.json(ANSWER))
    client = driver.make(base_url=[second.base_url, driver.server.base_url])
    for _ in range(8):
        assert chat(driver, client)["id"] == "c"
    assert len(driver.server.requests) == 1  # asked once, then never again for "m"
    assert len(second.requests) == 8
    assert client.servers[1].missing_models == ("m",)


def test_with_options_copies_share_the_servers_health(
    driver: Driver, second: ScriptedServer
) -> None:
    driver.server.script(OVERLOADED)
    second.script(Reply.json(ANSWER))
    client = driver.make(base_url=[second.base_url, driver.server.base_url])
    copy = client.with_options(timeout_s=30.0)
    for _ in range(4):
        chat(driver, copy)
    assert client.servers == copy.servers
    assert sum(status.attempts for status in client.servers) >= 4


def test_a_pickled_client_starts_with_fresh_health(driver: Driver, second: ScriptedServer) -> None:
    driver.server.script(OVERLOADED)
    second.script(Reply.json(ANSWER))
    client = driver.make(base_url=[second.base_url, driver.server.base_url])
    for _ in range(3):
        chat(driver, client)
    copy = pickle.loads(pickle.dumps(client))
    assert [s.url for s in copy.servers] == [s.url for s in client.servers]
    assert all(s.state == "healthy" and s.attempts == 0 for s in copy.servers)


def test_debug_logs_name_each_attempt_s_server(
    driver: Driver, second: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    driver.server.script(OVERLOADED)
    second.script(Reply.json(ANSWER))
    client = driver.make(base_url=[second.base_url, driver.server.base_url])
    with caplog.at_level(logging.DEBUG, logger="babyapi"):
        for _ in range(3):
            chat(driver, client)
    lines = [r.getMessage() for r in caplog.records if r.name == "babyapi"]
    assert any(f"on {second.base_url}" in line and "-> 200" in line for line in lines)
    assert any(f"on {driver.server.base_url}" in line and "failing over" in line for line in lines)


def test_usage_splits_by_server(driver: Driver, second: ScriptedServer) -> None:
    driver.server.script(Reply.json(ANSWER))
    second.script(Reply.json(ANSWER))
    tracker = UsageTracker()
    client = driver.make(base_url=[driver.server.base_url, second.base_url], observers=[tracker])
    for _ in range(4):
        chat(driver, client)
    split = tracker.by_server()
    assert sum(usage.calls for usage in split.values()) == 4
    assert sum(usage.total_tokens for usage in split.values()) == 20
    assert set(split) <= {driver.server.base_url, second.base_url}


def test_the_environment_may_name_several_servers(
    second: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    second.script(Reply.json(ANSWER))
    monkeypatch.setenv("BABYAPI_BASE_URL", f"{dead_url()}/v1, {second.base_url}/v1")
    with BabyAPI(api_key=API_KEY) as client:
        for _ in range(3):
            client.chat.completions.create(model="m", messages=MESSAGES)
        assert [s.url for s in client.servers][1] == second.base_url
    assert len(second.requests) == 3


def test_calls_spread_over_servers_that_answer(second: ScriptedServer) -> None:
    with ScriptedServer() as first, ScriptedServer() as third:
        servers: List[ScriptedServer] = [first, second, third]
        for server in servers:
            server.script(Reply.json(ANSWER))
        with BabyAPI(api_key=API_KEY, base_url=[s.base_url for s in servers]) as client:
            for _ in range(60):
                client.chat.completions.create(model="m", messages=MESSAGES)
        # One call at a time: each pick is two random servers, tied; every server gets work.
        assert all(len(server.requests) >= 5 for server in servers)


def test_bad_server_lists_are_refused_before_any_request() -> None:
    with pytest.raises(BabyAPIError, match="more than once"):
        BabyAPI(api_key="k", base_url=["http://a:1", "http://a:1/v1"])
    with pytest.raises(BabyAPIError, match="empty list"):
        BabyAPI(api_key="k", base_url=[])
    with pytest.raises(BabyAPIError, match="or a list of them"):
        BabyAPI(api_key="k", base_url={"http://a:1"})  # type: ignore[arg-type]


def test_one_server_keeps_today_s_behaviour(driver: Driver) -> None:
    driver.server.script(OVERLOADED, Reply.json(ANSWER))
    client = driver.make(base_url=[driver.server.base_url])
    assert chat(driver, client)["id"] == "c"
    assert driver.time.sleeps == [0.25]  # a backoff, as ever: no failover, no cooldown
    assert client.servers[0].state == "healthy" and client.servers[0].attempts == 0


def test_the_local_server_answers_over_several_ports() -> None:
    with LocalServer(api_key=API_KEY) as one, LocalServer(api_key=API_KEY) as two:
        client = BabyAPI(api_key=API_KEY, base_url=[one.base_url, two.base_url])
        try:
            answers = [
                client.chat.completions.create(model="mistral", messages=MESSAGES)
                for _ in range(10)
            ]
        finally:
            client.close()
        assert all(answer["choices"] for answer in answers)
        assert sum(status.attempts for status in client.servers) == 10


def get_weather(city: str) -> dict[str, Any]:
    """Current weather in a city.

    Args:
        city: The city to look up.
    """
    return {"city": city, "temperature": 21}


class City(TypedDict):
    name: str
    country: str


def test_batch_tools_and_structured_outputs_work_over_several_servers() -> None:
    with LocalServer(api_key=API_KEY) as one, LocalServer(api_key=API_KEY) as two:
        client = BabyAPI(api_key=API_KEY, base_url=[one.base_url, dead_url(), two.base_url])
        try:
            job = client.batch.chat([f"Name a colour, {i}." for i in range(30)], model="mistral")
            assert all(item.ok for item in job.results())
            run = client.chat.completions.run_tools(
                model="mistral",
                messages=[{"role": "user", "content": "Use get_weather for Lisbon."}],
                tools=[get_weather],
            )
            assert run.text
            parsed = client.chat.completions.parse(
                model="mistral",
                messages=[{"role": "user", "content": "Tell me about Porto in Portugal."}],
                response_format=City,
            ).parsed
            assert set(parsed) == {"name", "country"}
        finally:
            client.close()
        # The dead server in the list cost no call; the batch job shared the client's view of it.
        assert sum(status.attempts for status in client.servers) >= 33
        assert client.servers[1].failures >= 1


def test_a_stream_is_in_flight_on_its_server_until_it_ends(second: ScriptedServer) -> None:
    chunks = [{"choices": [{"delta": {"content": word}}]} for word in ("Hi", " there", "!")]
    with ScriptedServer() as first:
        for server in (first, second):
            server.script(Reply.sse(chunks))
        with BabyAPI(api_key=API_KEY, base_url=[first.base_url, second.base_url]) as client:
            stream = client.chat.completions.stream(model="m", messages=MESSAGES)
            next(iter(stream))
            assert sum(status.in_flight for status in client.servers) == 1
            stream.close()
            assert sum(status.in_flight for status in client.servers) == 0
            for _ in client.chat.completions.stream(model="m", messages=MESSAGES):
                pass
            assert sum(status.in_flight for status in client.servers) == 0


NOT_STORED = Reply.json(
    {"error": {"message": "Response with id 'resp_1' not found.", "type": "invalid_request_error"}},
    status=404,
)
STORED = {"id": "resp_1", "object": "response", "status": "completed", "output": []}


def test_a_stored_response_is_found_on_the_server_that_holds_it(
    driver: Driver, second: ScriptedServer
) -> None:
    # The balancer's first pick is driver.server, which does not hold the response.
    driver.server.script(NOT_STORED)
    second.script(Reply.json(STORED))
    client = driver.make(base_url=[second.base_url, driver.server.base_url], max_retries=0)
    for _ in range(3):  # max_retries=0: asking another server is not a retry
        assert driver.call(lambda c: c.responses.retrieve("resp_1"), client)["id"] == "resp_1"
        driver.call(
            lambda c: c.responses.create(model="m", input="More.", previous_response_id="resp_1"),
            client,
        )
    assert len(second.requests) == 6
    assert all(r.url_path in ("/v1/responses/resp_1", "/v1/responses") for r in second.requests)
    # A 404 for a stored response says nothing against the server.
    assert all(status.state == "healthy" for status in client.servers)


def test_a_response_no_server_holds_is_not_found_after_each_was_asked_once(
    driver: Driver, second: ScriptedServer
) -> None:
    driver.server.script(NOT_STORED)
    second.script(NOT_STORED)
    client = driver.make(base_url=[second.base_url, driver.server.base_url, dead_url()])
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.responses.cancel("resp_1"), client)
    assert info.value.status == 404
    assert (len(driver.server.requests), len(second.requests)) == (1, 1)
