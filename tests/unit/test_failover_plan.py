"""The call plan over several servers, driven by hand: which server each attempt goes to, when it
fails over, waits or gives up. Outcomes are scripted per server; the clock is fake."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, Callable, Dict, List, Optional, Union

import httpx
import pytest

from babyapi._call import Clocks, ReadBody, Send, Sleep, json_plan, stream_plan
from babyapi._config import build_config
from babyapi._errors import APITimeoutError, BabyAPIError
from babyapi._httpx import HttpxTransport, failure_of
from babyapi._request import Call, prepare_call
from babyapi._route import Route
from babyapi._servers import Cooldown, Server, ServerSet

KEY = "sk-client-key-0001"
A, B, C = "http://a:8000", "http://b:8000", "http://c:8000"
PATH = "/v1/chat/completions"
OK_BODY = b'{"id": "x", "choices": []}'
Outcome = Union[httpx.Response, BaseException]
Script = Callable[[httpx.Request], Outcome]


@pytest.fixture(scope="module")
def build() -> Iterator[HttpxTransport]:
    """Each attempt as the httpx transport sends it, so scripts see an httpx.Request."""
    with httpx.Client() as client:
        yield HttpxTransport(client)


def make_call(
    servers: List[Any],
    options: Optional[Dict[str, Any]] = None,
    *,
    stream: bool = False,
    **config: Any,
) -> tuple[Call, ServerSet]:
    settings: Dict[str, Any] = {
        "api_key": KEY,
        "base_url": servers,
        "timeout_s": 60.0,
        "max_retries": 2,
        "retry_base_delay_s": 0.25,
        "default_model": None,
        "default_headers": None,
        "deadline_s": None,
        "environ": {},
    }
    settings.update(config)
    built = build_config(**settings)
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    call = prepare_call(built, "POST", PATH, body, options, stream=stream)
    group = ServerSet(built.servers, Cooldown(base_s=1.0, max_s=30.0, jitter=0.0))
    call.route = Route(group, call)
    return call, group


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=OK_BODY, request=request)


def status(code: int, body: bytes = b"{}", headers: Optional[Dict[str, str]] = None) -> Script:
    return lambda request: httpx.Response(code, content=body, headers=headers, request=request)


def refused(request: httpx.Request) -> Outcome:
    return httpx.ConnectError("[Errno 111] Connection refused", request=request)


def read_timeout(request: httpx.Request) -> Outcome:
    return httpx.ReadTimeout("timed out", request=request)


class Run:
    def __init__(self) -> None:
        self.sent: List[httpx.Request] = []
        self.sleeps: List[float] = []
        self.result: Any = None
        self.error: Optional[BabyAPIError] = None

    @property
    def hosts(self) -> List[str]:
        return [request.url.host for request in self.sent]


def drive(
    layout: Any,
    call: Call,
    build: HttpxTransport,
    scripts: Dict[str, List[Script]],
    *,
    seed: int = 1,
    start: float = 100.0,
) -> Run:
    """Run the plan; each server answers from its own script (the last entry repeats)."""
    now = [start]
    rng = random.Random(seed)
    clocks = Clocks(monotonic=lambda: now[0], wall=lambda: 1_700_000_000.0, random=rng.random)
    plan = layout(call, clocks, 0.25)
    run = Run()
    reply: Any = None
    try:
        for _ in range(200):
            action = plan.send(reply)
            reply = None
            if isinstance(action, Send):
                host = action.request.url.host
                sent = build.build(action.request)
                run.sent.append(sent)
                script = scripts[host]
                reply = (script.pop(0) if len(script) > 1 else script[0])(sent)
                if isinstance(reply, Exception):
                    reply = failure_of(reply)  # as the httpx transport raises it
            elif isinstance(action, Sleep):
                run.sleeps.append(action.seconds)
                now[0] += action.seconds
            elif isinstance(action, ReadBody):
                action.response.read()
        raise AssertionError("the plan did not end")
    except StopIteration as stop:
        run.result = stop.value
    except BabyAPIError as error:
        run.error = error
    return run


def test_a_failure_fails_over_at_once_with_the_same_key_and_request_id(build: Any) -> None:
    call, group = make_call([A, B, C])
    scripts = {"a": [status(503)], "b": [status(503)], "c": [status(503)]}
    first = drive(json_plan, call, build, scripts)
    assert first.error is not None and first.error.status == 503
    assert sorted(first.hosts) == ["a", "b", "c"]  # three attempts, three servers
    assert first.sleeps == []  # failing over waits for nothing
    assert {r.headers["idempotency-key"] for r in first.sent} == {call.idempotency_key}
    assert {r.headers["x-request-id"] for r in first.sent} == {call.request_id}
    assert [r.headers["x-babyapi-retry-count"] for r in first.sent] == ["0", "1", "2"]
    assert first.error.server == "http://" + first.hosts[-1] + ":8000"
    assert first.error.server in str(first.error)
    assert [s.state for s in group.statuses(100.0)] == ["cooling"] * 3


def test_a_call_ends_on_the_server_that_answers(build: Any) -> None:
    call, _ = make_call([A, B])
    run = drive(json_plan, call, build, {"a": [refused], "b": [ok]}, seed=4)
    assert run.result == {"id": "x", "choices": []}
    assert run.hosts[-1] == "b" and len(run.hosts) <= 2


def test_max_retries_bounds_failover(build: Any) -> None:
    call, _ = make_call([A, B, C], {"max_retries": 1})
    run = drive(json_plan, call, build, {h: [status(502)] for h in "abc"})
    assert len(run.sent) == 2
    assert run.error is not None and run.error.attempts == 2


def test_each_server_gets_its_own_key(build: Any) -> None:
    call, _ = make_call([Server(A, api_key="sk-key-of-a-000"), B])
    run = drive(json_plan, call, build, {"a": [status(503)], "b": [status(503)]})
    keys = {r.url.host: r.headers["authorization"] for r in run.sent}
    assert keys == {"a": "Bearer sk-key-of-a-000", "b": f"Bearer {KEY}"}


def test_a_read_timeout_of_generation_is_not_retried_on_any_server(build: Any) -> None:
    call, _ = make_call([A, B, C])
    run = drive(json_plan, call, build, {h: [read_timeout] for h in "abc"})
    assert len(run.sent) == 1
    assert run.error is not None and "not retried" in str(run.error)


def test_a_retry_after_longer_than_allowed_still_fails_over(build: Any) -> None:
    call, group = make_call([A, B])
    wait = status(429, headers={"retry-after": "120"})
    run = drive(json_plan, call, build, {"a": [wait], "b": [wait]}, seed=2)
    assert len(run.sent) == 2 and run.sleeps == []
    assert run.error is not None and run.error.status == 429
    assert all(s.cooling_for_s == 120.0 for s in group.statuses(100.0))


def test_a_stream_fails_over_before_its_response_arrives(build: Any) -> None:
    call, _ = make_call([A, B], stream=True)
    run = drive(stream_plan, call, build, {"a": [refused], "b": [ok]}, seed=5)
    assert isinstance(run.result, httpx.Response) and run.hosts[-1] == "b"


def test_a_stream_never_retries_on_a_server_it_already_tried(build: Any) -> None:
    call, _ = make_call([A, B], stream=True)
    run = drive(stream_plan, call, build, {"a": [status(500)], "b": [status(500)]})
    assert sorted(run.hosts) == ["a", "b"]  # 500 cools nobody, yet no server is asked twice
    assert run.error is not None and "no other server" in str(run.error)


def test_with_every_server_cooling_a_call_waits_for_the_first_to_return(build: Any) -> None:
    call, _ = make_call([A, B], {"deadline_s": 10.0})
    # Both refuse at first; b is back from its second attempt on.
    run = drive(json_plan, call, build, {"a": [refused], "b": [refused, ok]}, seed=3)
    assert run.result is not None and run.hosts[-1] == "b"
    assert sum(run.sleeps) <= 10.0 and run.sleeps  # it waited, within the deadline


def test_inside_a_deadline_refusals_and_failed_probes_do_not_use_up_max_retries(build: Any) -> None:
    call, _ = make_call([A, B], {"deadline_s": 10.0, "max_retries": 1})
    # Down for a while: three refusals each (cooled 1 s, 2 s, 4 s), then answers.
    down = [refused] * 3
    run = drive(json_plan, call, build, {"a": [*down, ok], "b": [*down, ok]}, seed=3)
    assert run.result is not None, run.error
    assert len(run.sent) > 2  # more attempts than max_retries=1 allows, all but two probes


def test_waiting_stops_at_the_deadline_with_a_timeout_that_says_why(build: Any) -> None:
    call, _ = make_call([A, B], {"deadline_s": 3.0})
    run = drive(json_plan, call, build, {"a": [refused], "b": [refused]})
    assert isinstance(run.error, APITimeoutError)
    assert "every server" in str(run.error) and "deadline_s=3" in str(run.error)
    assert sum(run.sleeps) <= 3.0


def test_without_a_deadline_max_retries_bounds_the_probes(build: Any) -> None:
    call, _ = make_call([A, B])
    run = drive(json_plan, call, build, {"a": [refused], "b": [refused]})
    assert len(run.sent) == 3
    assert run.error is not None and run.error.code == "CONNECTION_ERROR"


def test_a_404_for_the_model_moves_the_call_and_the_model(build: Any) -> None:
    missing = status(404, b'{"error": {"message": "The model `m` does not exist.", "code": 404}}')
    call, group = make_call([A, B])
    run = drive(json_plan, call, build, {"a": [missing], "b": [ok]}, seed=1)
    if run.hosts[0] == "a":
        assert run.hosts == ["a", "b"] and run.result is not None
        assert group.statuses(100.0)[0].missing_models == ("m",)
    # Whichever went first, later calls for the model go to b only.
    for _ in range(5):
        again, _ = make_call([A, B])
        again.route = Route(group, again)
        assert drive(json_plan, again, build, {"a": [missing], "b": [ok]}).hosts == ["b"]


def test_a_404_for_a_model_no_server_has_is_the_user_s_404(build: Any) -> None:
    missing = status(404, b'{"error": {"message": "The model `m` does not exist.", "code": 404}}')
    call, _ = make_call([A, B])
    run = drive(json_plan, call, build, {"a": [missing], "b": [missing]})
    assert run.error is not None and run.error.status == 404
    assert sorted(run.hosts) == ["a", "b"]


def test_a_400_is_the_caller_s_and_goes_nowhere_else(build: Any) -> None:
    call, _ = make_call([A, B, C])
    run = drive(json_plan, call, build, {h: [status(400)] for h in "abc"})
    assert len(run.sent) == 1 and run.error is not None and run.error.status == 400


def test_a_cancelled_attempt_gives_its_slot_back() -> None:
    call, group = make_call([A, B])
    clocks = Clocks(monotonic=lambda: 0.0, wall=lambda: 0.0, random=lambda: 0.5)
    plan = json_plan(call, clocks, 0.25)
    assert isinstance(plan.send(None), Send)
    assert sum(s.in_flight for s in group.statuses(0.0)) == 1
    with pytest.raises(KeyboardInterrupt):
        plan.throw(KeyboardInterrupt())
    assert sum(s.in_flight for s in group.statuses(0.0)) == 0


def test_a_server_skipped_for_a_model_is_asked_for_its_list_later(build: Any) -> None:
    missing = status(404, b'{"error": {"message": "The model `m` does not exist.", "code": 404}}')
    call, group = make_call([A, B])
    group.lacks_model(0, "m", now=100.0)

    def a_serves_it_now(request: httpx.Request) -> Outcome:
        if request.method == "GET":
            return httpx.Response(200, json={"data": [{"id": "m"}, {"id": 7}]}, request=request)
        return ok(request)

    soon = drive(json_plan, call, build, {"a": [missing], "b": [ok]}, start=110.0)
    assert soon.hosts == ["b"]  # skipped, and not asked for its list yet
    later, _ = make_call([A, B])
    later.route = Route(group, later)
    run = drive(json_plan, later, build, {"a": [a_serves_it_now], "b": [ok]}, start=131.0)
    listing = run.sent[0]
    assert (listing.method, listing.url.path, listing.url.host) == ("GET", "/v1/models", "a")
    assert listing.headers["authorization"] == f"Bearer {KEY}"
    assert group.statuses(131.0)[0].missing_models == ()
    assert run.result is not None


def test_an_unreadable_listing_leaves_the_model_skipped(build: Any) -> None:
    call, group = make_call([A, B])
    group.lacks_model(0, "m", now=0.0)
    garbage = status(200, b"<html>not json</html>")

    def a(request: httpx.Request) -> Outcome:
        return garbage(request) if request.method == "GET" else ok(request)

    run = drive(json_plan, call, build, {"a": [a], "b": [ok]}, start=100.0)
    assert run.hosts == ["a", "b"]  # the listing, then the call on b
    assert group.statuses(100.0)[0].missing_models == ("m",)
