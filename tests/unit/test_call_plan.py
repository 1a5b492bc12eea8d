"""The call plans driven by hand: outcomes are sent into the generator, clocks are fake, and the
sequence of actions (Send, Sleep, ReadBody) is what the tests check."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

import httpx
import pytest

from babyapi._call import (
    Clocks,
    ReadBody,
    Send,
    Sleep,
    decide_after_error,
    error_from_exception,
    give_up,
    json_plan,
    response_plan,
)
from babyapi._config import build_config
from babyapi._errors import (
    APIConnectionError,
    APITimeoutError,
    BabyAPIError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)
from babyapi._httpx import failure_of
from babyapi._request import Call, prepare_call
from babyapi._wire import WireRequest

KEY = "sk-plan-SECRET-31337"
PATH = "/v1/chat/completions"
URL = "http://127.0.0.1:9" + PATH
OK_BODY = b'{"id": "x", "choices": []}'


def make_call(
    options: Optional[Dict[str, Any]] = None,
    *,
    stream: bool = False,
    api_key: str = KEY,
    path: str = PATH,
    method: str = "POST",
    **config: Any,
) -> Call:
    args: Dict[str, Any] = {
        "api_key": api_key,
        "base_url": "http://127.0.0.1:9",
        "timeout_s": 60.0,
        "max_retries": 2,
        "retry_base_delay_s": 0.25,
        "default_model": None,
        "default_headers": None,
        "deadline_s": None,
        "environ": {},
    }
    args.update(config)
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    sent = body if method == "POST" else None
    return prepare_call(build_config(**args), method, path, sent, options, stream=stream)


def reply(
    status: int, content: bytes = b"", headers: Optional[Dict[str, str]] = None
) -> httpx.Response:
    return httpx.Response(
        status, content=content, headers=headers, request=httpx.Request("POST", URL)
    )


Outcome = Union[httpx.Response, BaseException]


@dataclass
class Run:
    """One plan driven to its end: the actions it asked for and how it ended."""

    actions: List[Any] = field(default_factory=list)
    sleep_ends: List[float] = field(default_factory=list)
    result: Any = None
    error: Optional[BabyAPIError] = None

    @property
    def kinds(self) -> List[str]:
        return [type(a).__name__ for a in self.actions]

    @property
    def sends(self) -> List[Send]:
        return [a for a in self.actions if isinstance(a, Send)]

    @property
    def sleeps(self) -> List[float]:
        return [a.seconds for a in self.actions if isinstance(a, Sleep)]


class FakeClock:
    """monotonic() advances only when the test says so; wall and random are fixed."""

    def __init__(self, start: float = 1000.0, random: float = 0.5) -> None:
        self.now = start
        self.clocks = Clocks(
            monotonic=lambda: self.now, wall=lambda: 1_700_000_000.0, random=lambda: random
        )


def drive(
    plan_factory: Any,
    call: Call,
    outcomes: List[Outcome],
    *,
    clock: Optional[FakeClock] = None,
    send_cost_s: float = 0.0,
    sleep_overrun_s: float = 0.0,
    base_delay_s: float = 0.25,
) -> Run:
    clock = clock or FakeClock()
    plan = plan_factory(call, clock.clocks, base_delay_s)
    pending = iter(outcomes)
    run = Run()
    to_send: Any = None
    try:
        while True:
            action = plan.send(to_send)
            run.actions.append(action)
            if isinstance(action, Send):
                clock.now += send_cost_s
                to_send = next(pending)
                if isinstance(to_send, Exception):
                    to_send = failure_of(to_send)  # as the httpx transport raises it
            elif isinstance(action, Sleep):
                clock.now += action.seconds + sleep_overrun_s
                run.sleep_ends.append(clock.now)
                to_send = None
            elif isinstance(action, ReadBody):
                action.response.read()
                to_send = None
            else:  # pragma: no cover - a new action kind must be handled here
                raise AssertionError(f"unknown action {action!r}")
    except StopIteration as stop:
        run.result = stop.value
    except BabyAPIError as error:
        run.error = error
    assert next(pending, None) is None, "the plan stopped before using every scripted outcome"
    return run


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused", request=httpx.Request("POST", URL))


def test_503_then_200() -> None:
    run = drive(json_plan, make_call(), [reply(503), reply(200, OK_BODY)])
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert run.sleeps == [0.25]  # base 0.25 * 2**0, random 0.5 -> no jitter
    assert run.result == {"id": "x", "choices": []}
    first, second = (s.request for s in run.sends)
    assert first.headers["x-babyapi-retry-count"] == "0"
    assert second.headers["x-babyapi-retry-count"] == "1"
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert all(not s.stream for s in run.sends)


def test_backoff_grows_with_jitter() -> None:
    clock = FakeClock(random=1.0)
    run = drive(
        json_plan,
        make_call(max_retries=3),
        [reply(500), reply(502), reply(504), reply(200, OK_BODY)],
        clock=clock,
    )
    assert run.kinds == ["Send", "Sleep"] * 3 + ["Send"]
    assert run.sleeps == [0.3125, 0.625, 1.25]  # 1.25 * (0.25, 0.5, 1.0)


def test_retry_after_honoured() -> None:
    run = drive(
        json_plan,
        make_call(),
        [reply(429, headers={"Retry-After": "2"}), reply(200, OK_BODY)],
    )
    assert run.sleeps == [2.0]


def test_long_retry_after_raises_with_retry_after() -> None:
    run = drive(
        json_plan,
        make_call(),
        [reply(429, b'{"error": {"message": "quota"}}', {"Retry-After": "120"})],
    )
    assert run.kinds == ["Send"]
    assert isinstance(run.error, RateLimitError)
    assert run.error.retry_after == 120.0


def test_max_retries_zero_sends_once() -> None:
    run = drive(
        json_plan,
        make_call({"max_retries": 0}),
        [reply(503, b'{"error": {"message": "busy"}}')],
    )
    assert run.kinds == ["Send"]
    assert isinstance(run.error, InternalServerError)
    assert run.error.message == "busy"
    assert run.error.status == 503
    assert run.error.attempts == 1


def test_retries_exhausted_say_how_many() -> None:
    run = drive(json_plan, make_call(max_retries=2), [reply(503), reply(503), reply(503)])
    assert run.kinds == ["Send", "Sleep", "Send", "Sleep", "Send"]
    assert isinstance(run.error, InternalServerError)
    assert run.error.attempts == 3
    assert "gave up after 3 attempts" in run.error.message
    assert "max_retries=2" in str(run.error)


def test_400_not_retried() -> None:
    run = drive(json_plan, make_call(), [reply(400, b'{"error": {"message": "bad", "code": "x"}}')])
    assert run.kinds == ["Send"]
    assert isinstance(run.error, BadRequestError)
    assert (run.error.message, run.error.code, run.error.attempts) == ("bad", "x", 1)


def test_connect_error_retried() -> None:
    run = drive(json_plan, make_call(), [connect_error(), reply(200, OK_BODY)])
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert run.result == {"id": "x", "choices": []}


def test_connect_error_exhausted() -> None:
    cause = connect_error()
    run = drive(json_plan, make_call(max_retries=1), [connect_error(), cause])
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert type(run.error) is APIConnectionError
    assert run.error.code == "CONNECTION_ERROR"
    assert run.error.cause is cause
    assert "http://127.0.0.1:9" in run.error.message and "base_url" in run.error.message
    assert run.error.attempts == 2


def read_timeout(path: str = PATH) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        "timed out", request=httpx.Request("POST", "http://127.0.0.1:9" + path)
    )


GENERATION = [("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("POST", "/infer")]
OTHERS = [("POST", "/v1/embeddings"), ("POST", "/v1/rerank"), ("GET", "/v1/models")]


@pytest.mark.parametrize(("method", "path"), GENERATION)
def test_read_timeout_after_a_generation_request_is_not_retried(method: str, path: str) -> None:
    call = make_call({"timeout_s": 5}, method=method, path=path)
    run = drive(json_plan, call, [read_timeout(path)])
    assert run.kinds == ["Send"]
    assert isinstance(run.error, APITimeoutError)
    assert run.error.code == "TIMEOUT" and run.error.attempts == 1
    assert "timed out after 5s" in run.error.message
    assert "not retried" in run.error.message and "still be generating" in run.error.message
    assert "retry_read_timeouts=True" in run.error.message


@pytest.mark.parametrize(("method", "path"), OTHERS)
def test_read_timeout_elsewhere_is_retried(method: str, path: str) -> None:
    call = make_call({"timeout_s": 5}, method=method, path=path, max_retries=1)
    run = drive(json_plan, call, [read_timeout(path), read_timeout(path)])
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert isinstance(run.error, APITimeoutError)
    assert "gave up after 2 attempts" in run.error.message
    assert "retry_read_timeouts" not in run.error.message


@pytest.mark.parametrize(
    "where", [{"retry_read_timeouts": True}, {"config": True}], ids=["request", "client"]
)
@pytest.mark.parametrize(("method", "path"), GENERATION)
def test_retry_read_timeouts_brings_back_the_old_rule(
    method: str, path: str, where: Dict[str, Any]
) -> None:
    if "config" in where:
        call = make_call(method=method, path=path, retry_read_timeouts=True)
    else:
        call = make_call(where, method=method, path=path)
    run = drive(json_plan, call, [read_timeout(path), reply(200, OK_BODY)])
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert run.result == {"id": "x", "choices": []}


@pytest.mark.parametrize(("method", "path"), GENERATION + OTHERS)
def test_retry_read_timeouts_false_retries_them_nowhere(method: str, path: str) -> None:
    call = make_call({"retry_read_timeouts": False}, method=method, path=path)
    run = drive(json_plan, call, [read_timeout(path)])
    assert run.kinds == ["Send"]
    assert isinstance(run.error, APITimeoutError)


def test_request_option_wins_over_the_client_setting() -> None:
    call = make_call({"retry_read_timeouts": False}, retry_read_timeouts=True)
    assert drive(json_plan, call, [read_timeout()]).kinds == ["Send"]


def test_no_retries_left_needs_no_reason() -> None:
    run = drive(json_plan, make_call(max_retries=0), [read_timeout()])
    assert run.error is not None and "not retried" not in run.error.message


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("connect"),
        httpx.PoolTimeout("pool"),
        httpx.WriteTimeout("write"),
        httpx.WriteError("broken pipe"),
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize(("method", "path"), GENERATION + OTHERS)
def test_failures_before_the_server_could_work_are_retried_everywhere(
    method: str, path: str, failure: httpx.TransportError
) -> None:
    call = make_call(method=method, path=path)
    run = drive(json_plan, call, [failure, reply(200, OK_BODY)])
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert run.result == {"id": "x", "choices": []}


def test_pool_timeout_retried_then_reported() -> None:
    pool = httpx.PoolTimeout("no connection", request=httpx.Request("POST", URL))
    run = drive(json_plan, make_call(max_retries=1), [pool, pool])
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert isinstance(run.error, APITimeoutError)
    assert "connection pool" in run.error.message


def test_bad_json_on_200_not_retried() -> None:
    run = drive(json_plan, make_call(), [reply(200, b"<html>proxy</html>")])
    assert run.kinds == ["Send"]
    assert run.error is not None and run.error.code == "INVALID_RESPONSE"


def test_deadline_stops_before_a_sleep_past_it() -> None:
    clock = FakeClock(start=1000.0)
    call = make_call({"deadline_s": 1.0}, max_retries=10)
    run = drive(json_plan, call, [reply(503), reply(503)], clock=clock, send_cost_s=0.3)
    # t=1000.3: 0.7 s left, backoff 0.25 fits; t=1000.85: 0.15 s left, backoff 0.5 does not.
    assert run.kinds == ["Send", "Sleep", "Send"]
    assert run.sleeps == [0.25]
    assert all(end < 1001.0 for end in run.sleep_ends)
    assert isinstance(run.error, InternalServerError)
    assert run.error.attempts == 2
    assert "gave up after 2 attempts" in run.error.message
    assert "deadline" in run.error.message


def test_deadline_caps_each_attempt_timeout() -> None:
    clock = FakeClock(start=50.0)
    call = make_call({"deadline_s": 10.0})
    run = drive(json_plan, call, [reply(503), reply(200, OK_BODY)], clock=clock, send_cost_s=4.0)
    timeouts = [s.request.timeouts.read for s in run.sends]
    assert timeouts == [10.0, pytest.approx(5.75)]  # 10 - 4 (first send) - 0.25 (sleep)


def test_deadline_passed_during_sleep_says_attempts() -> None:
    call = make_call({"deadline_s": 1.0})
    run = drive(json_plan, call, [reply(503)], send_cost_s=0.5, sleep_overrun_s=1.0)
    assert run.kinds == ["Send", "Sleep"]
    assert isinstance(run.error, APITimeoutError)
    assert run.error.code == "TIMEOUT"
    assert run.error.attempts == 1
    assert "deadline_s=1" in run.error.message and "1 attempt made" in run.error.message


@pytest.mark.parametrize(
    "outcome",
    [
        reply(503, b'{"error": {"message": "busy"}}'),
        reply(429, b"", {"Retry-After": "1"}),
        connect_error(),
    ],
    ids=["503", "429", "connect error"],
)
def test_streams_never_retried(outcome: Outcome) -> None:
    call = make_call(stream=True, max_retries=5)
    run = drive(response_plan, call, [outcome])
    assert run.sends and all(s.stream for s in run.sends)
    assert len(run.sends) == 1
    assert "Sleep" not in run.kinds
    assert run.error is not None and run.error.attempts == 1
    if isinstance(outcome, httpx.Response):
        # The error body of a streamed request is read before it is judged.
        assert run.kinds == ["Send", "ReadBody"]
        assert run.error.status == outcome.status_code


def test_stream_request_options_cannot_enable_retries() -> None:
    run = drive(response_plan, make_call({"max_retries": 3}, stream=True), [reply(502)])
    assert len(run.sends) == 1


def test_stream_success_returns_the_response() -> None:
    ok = reply(200, b"data: [DONE]\n\n", {"content-type": "text/event-stream"})
    run = drive(response_plan, make_call(stream=True), [ok])
    assert run.result is ok
    assert run.sends[0].request.headers["accept"] == "text/event-stream"


def test_logs_never_hold_the_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="babyapi"):
        drive(json_plan, make_call(), [reply(503), connect_error(), reply(200, OK_BODY)])
    assert "retrying in 0.25s" in caplog.text
    assert "retrying in 0.50s" in caplog.text
    assert KEY not in caplog.text


def _h11_like(request: WireRequest) -> Outcome:
    """What the h11 transport does with a header value holding a line break: it refuses it."""
    for value in request.headers.values():
        if "\n" in value or "\r" in value:
            return failure_of(httpx.LocalProtocolError(f"Illegal header value {value!r}"))
    return reply(200, OK_BODY)


def test_key_with_newline_never_leaks_into_the_error() -> None:
    try:
        call = make_call(api_key=KEY + "\n")
    except BabyAPIError as error:  # refusing the key up front is a fine fix too
        assert KEY not in str(error)
        return
    clock = FakeClock()
    plan = json_plan(call, clock.clocks, 0.25)
    action = next(plan)
    assert isinstance(action, Send)
    try:
        plan.send(_h11_like(action.request))
    except StopIteration:
        return
    except BabyAPIError as error:
        assert KEY not in str(error)
        assert KEY not in repr(error)


def test_error_from_exception_messages() -> None:
    call = make_call()
    broken = error_from_exception(
        failure_of(httpx.RemoteProtocolError("peer closed connection")), call
    )
    assert type(broken) is APIConnectionError
    assert broken.message == (
        "POST /v1/chat/completions failed: the connection to http://127.0.0.1:9 broke (peer closed connection)."
    )
    timed = error_from_exception(failure_of(httpx.ConnectTimeout("")), call, time_left=2.5)
    assert isinstance(timed, APITimeoutError)
    assert (
        "timed out after 2.5s (what was left of deadline_s) connecting to http://127.0.0.1:9"
        in (timed.message)
    )


@pytest.mark.parametrize(
    ("options", "stream", "exc", "time_left", "body", "named"),
    [
        ({}, False, httpx.ReadTimeout, None, False, "(timeout_s=60)"),
        ({"timeout_s": 5}, False, httpx.ReadTimeout, None, False, "(timeout_s=5)"),
        ({"timeout_s": 5}, False, httpx.WriteTimeout, None, False, "(timeout_s=5)"),
        ({}, True, httpx.ConnectTimeout, None, False, "(timeout_s=60) connecting to"),
        ({"timeout_s": 5}, False, httpx.PoolTimeout, None, False, "(timeout_s=5) for a free"),
        ({"headers_timeout_s": 2}, False, httpx.ReadTimeout, None, False, "(headers_timeout_s=2)"),
        (
            {"headers_timeout_s": 2, "timeout_s": 1},
            True,
            httpx.ReadTimeout,
            None,
            False,
            "(headers_timeout_s=2) waiting for the response headers",
        ),
        (
            {"headers_timeout_s": 2, "timeout_s": 9},
            True,
            httpx.ReadTimeout,
            None,
            True,
            "(timeout_s=9) waiting for the next data",
        ),
        (
            {"stream_idle_timeout_s": 0.5},
            True,
            httpx.ReadTimeout,
            None,
            True,
            "(stream_idle_timeout_s=0.5)",
        ),
        (
            {"stream_idle_timeout_s": 0.5, "timeout_s": 0.2},
            True,
            httpx.ReadTimeout,
            None,
            True,
            "(timeout_s=0.2)",
        ),
        (
            {"stream_idle_timeout_s": 0.5, "timeout_s": 3},
            True,
            httpx.ReadTimeout,
            None,
            False,
            "(stream_idle_timeout_s=0.5) waiting for the server",
        ),
        (
            {"deadline_s": 10},
            False,
            httpx.ReadTimeout,
            4.0,
            False,
            "after 4s (what was left of deadline_s=10)",
        ),
        (
            {"deadline_s": 10},
            True,
            httpx.ReadTimeout,
            4.0,
            True,
            "(what was left of deadline_s=10)",
        ),
        (
            {"deadline_s": 10},
            True,
            httpx.ConnectTimeout,
            4.0,
            False,
            "(what was left of deadline_s=10)",
        ),
        ({"deadline_s": 10, "timeout_s": 1}, False, httpx.ReadTimeout, 4.0, False, "(timeout_s=1)"),
    ],
)
def test_a_timeout_names_the_bound_that_fired(
    options: Dict[str, Any],
    stream: bool,
    exc: type[httpx.TimeoutException],
    time_left: Optional[float],
    body: bool,
    named: str,
) -> None:
    call = make_call(options, stream=stream)
    error = error_from_exception(failure_of(exc("timed out")), call, time_left, reading_body=body)
    assert isinstance(error, APITimeoutError)
    assert named in error.message
    setting = named.split("(")[1].split("=")[0].replace("what was left of ", "").rstrip(")")
    assert f"raise {setting}" in error.message


@pytest.mark.parametrize("key", ["e", "on", "r", "Con"])
def test_a_short_key_leaves_ordinary_words_alone(key: str) -> None:
    run = drive(json_plan, make_call(api_key=key, max_retries=0), [connect_error()])
    assert run.error is not None
    assert "[Errno 111] Connection refused" in run.error.message
    assert "[api key]" not in run.error.message


@pytest.mark.parametrize("key", ["e", "on", "sk-x", "ab=", KEY])
def test_the_key_is_replaced_where_it_stands(key: str) -> None:
    quoted = httpx.LocalProtocolError(f"Illegal header value b'Bearer {key}\\n' near {key}.")
    run = drive(json_plan, make_call(api_key=key, max_retries=0), [quoted])
    assert run.error is not None
    assert "Illegal header value b'Bearer [api key]\\n' near [api key]." in run.error.message
    assert f"Bearer {key}" not in str(run.error)


def test_a_long_key_is_replaced_even_inside_other_text() -> None:
    glued = httpx.ReadError(f"token=x{KEY}y")
    run = drive(json_plan, make_call(max_retries=0), [glued])
    assert run.error is not None and KEY not in str(run.error)
    assert "token=x[api key]y" in run.error.message


def test_a_key_a_server_quotes_back_is_replaced() -> None:
    body = b'{"error": {"message": "Incorrect API key provided: ' + KEY.encode() + b'."}}'
    run = drive(json_plan, make_call(), [reply(401, body)])
    assert run.error is not None and run.error.status == 401
    assert KEY not in str(run.error) and KEY not in repr(run.error)
    assert "Incorrect API key provided: [api key]." in run.error.message


def test_a_spent_budget_fails_fast_with_its_own_code() -> None:
    from babyapi import RetryBudget
    from babyapi._budget import RetryLedger

    ledger = RetryLedger(RetryBudget(ratio=0.0, min_retries=2, window_s=10.0))
    clock = FakeClock()

    def storm_call() -> Run:
        plan = lambda *a: json_plan(*a, ledger=ledger)  # noqa: E731
        return drive(plan, make_call(), [reply(503)] * 3, clock=clock)

    first = storm_call()
    assert first.kinds == ["Send", "Sleep", "Send", "Sleep", "Send"]
    assert (
        isinstance(first.error, InternalServerError)
        and first.error.code != "RETRY_BUDGET_EXHAUSTED"
    )
    second = drive(lambda *a: json_plan(*a, ledger=ledger), make_call(), [reply(503)], clock=clock)
    assert second.kinds == ["Send"], "no sleep, no second attempt"
    error = second.error
    assert isinstance(error, InternalServerError) and error.status == 503
    assert error.code == "RETRY_BUDGET_EXHAUSTED"
    assert error.attempts == 1
    assert "retry budget is spent" in error.message and "2 retries for 2 calls" in error.message
    assert ledger.totals(clock.now) == (2, 2)


def test_the_budget_is_spent_only_on_retries() -> None:
    from babyapi import RetryBudget
    from babyapi._budget import RetryLedger

    ledger = RetryLedger(RetryBudget(ratio=0.0, min_retries=1, window_s=10.0))
    plan = lambda *a: json_plan(*a, ledger=ledger)  # noqa: E731
    for outcome in (reply(200, OK_BODY), reply(400), reply(503)):
        drive(plan, make_call(max_retries=0), [outcome])
    assert ledger.totals(1000.0) == (3, 0)
    run = drive(plan, make_call(), [connect_error(), reply(200, OK_BODY)])
    assert run.result is not None and ledger.totals(1000.0) == (4, 1)


FIXED = Clocks(monotonic=lambda: 0.0, wall=lambda: 0.0, random=lambda: 0.5)


def _status_error(status: int, headers: Optional[Dict[str, str]] = None) -> BabyAPIError:
    response = httpx.Response(status, headers=headers, request=httpx.Request("POST", "http://x"))
    return BabyAPIError("failed", status=status, response=response)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (_status_error(503), True),
        (_status_error(429, {"retry-after": "0"}), True),
        (_status_error(400), False),
        (_status_error(503, {"x-should-retry": "false"}), False),
        (error_from_exception(failure_of(httpx.ConnectError("refused")), make_call()), True),
        # The server may still be generating: the same rule as a JSON call.
        (error_from_exception(failure_of(httpx.ReadTimeout("slow")), make_call()), False),
        (BabyAPIError("no key", code="API_KEY_REQUIRED"), False),
    ],
)
def test_an_application_retrying_a_stream_gets_the_sdk_rule(
    error: BabyAPIError, retried: bool
) -> None:
    decision = decide_after_error(
        error,
        "POST",
        "/v1/chat/completions",
        retries_done=0,
        max_retries=2,
        base_delay_s=0.25,
        clocks=FIXED,
    )
    assert decision.retry is retried
    if retried:
        asked = error.response.headers.get("retry-after") if error.response else None
        assert decision.wait_s == (0.0 if asked == "0" else 0.25)  # backoff, jitter at its middle


def test_an_application_retrying_a_stream_gives_up_like_a_call() -> None:
    error = _status_error(503)
    decision = decide_after_error(
        error,
        "POST",
        "/v1/chat/completions",
        retries_done=2,
        max_retries=2,
        base_delay_s=0.25,
        clocks=FIXED,
    )
    assert not decision.retry
    final = give_up(error, 2, decision)
    assert final.attempts == 3
    assert final.message == "failed (gave up after 3 attempts: max_retries=2 reached)"
