"""The attempts of one call, as a plan of actions the client shells carry out.

The plan is a generator: it yields what to do (send a request, read a body, sleep) and
receives the outcome (a response or the exception the transport raised). All decisions
live here, so the sync and async shells only perform actions, each in its own way.
"""

from __future__ import annotations

import logging
import os
import ssl
from typing import TYPE_CHECKING, Any, Callable, Generator, Mapping, NamedTuple, Optional, Union

from babyapi._api_response import record_response
from babyapi._budget import RetryLedger
from babyapi._errors import APIConnectionError, APITimeoutError, BabyAPIError
from babyapi._redact import redact, redact_error
from babyapi._request import Call
from babyapi._response import (
    RawAnswer,
    error_from_response,
    parse_json_body,
    raw_answer,
    request_id_of,
)
from babyapi._retry import (
    NOT_RETRYABLE,
    READ_TIMEOUT_NOT_RETRIED,
    Decision,
    decide,
    read_timeout_is_retryable,
    status_is_retryable,
)
from babyapi._wire import (
    RETRYABLE_FAILURES,
    TIMEOUT_FAILURES,
    Response,
    TransportError,
    WireRequest,
    answer_in,
)

if TYPE_CHECKING:
    from babyapi._route import Route

__all__ = [
    "Action",
    "Clocks",
    "ReadBody",
    "Send",
    "Sleep",
    "decide_after_error",
    "error_from_exception",
    "give_up",
    "json_plan",
    "raw_plan",
    "response_plan",
    "stream_plan",
]

logger = logging.getLogger("babyapi")


class Send:
    """Send one attempt; with ``stream`` the body is left unread."""

    __slots__ = ("request", "stream")

    def __init__(self, request: WireRequest, stream: bool) -> None:
        self.request = request
        self.stream = stream


class ReadBody:
    """Read the rest of a streamed response (an error answer to a stream request)."""

    __slots__ = ("response",)

    def __init__(self, response: Response) -> None:
        self.response = response


class Sleep:
    """Wait before the next attempt."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


Action = Union[Send, ReadBody, Sleep]
# A transport's answer, or the TransportError it raised (BaseException: cancellations too).
Outcome = Union[Response, BaseException, None]
Plan = Generator[Action, Outcome, Any]


class Clocks(NamedTuple):
    """Time and chance as the shell provides them, so tests can replace all three."""

    monotonic: Callable[[], float]
    wall: Callable[[], float]
    random: Callable[[], float]


def json_plan(
    call: Call,
    clocks: Clocks,
    base_delay_s: float,
    ledger: Optional[RetryLedger] = None,
) -> Plan:
    """Attempts until a 2xx whose body is a JSON object is returned, or an error is raised."""
    plan = response_plan(call, clocks, base_delay_s, ledger, _json_of)
    return _watched(call, plan) if call.observers else plan


def raw_plan(
    call: Call,
    clocks: Clocks,
    base_delay_s: float,
    ledger: Optional[RetryLedger] = None,
) -> Plan:
    """Attempts until a 2xx arrives, whatever its body: a ``RawAnswer`` (text, metrics, empty)."""
    plan = response_plan(call, clocks, base_delay_s, ledger, _raw_of)
    return _watched(call, plan) if call.observers else plan


def stream_plan(
    call: Call,
    clocks: Clocks,
    base_delay_s: float,
    ledger: Optional[RetryLedger] = None,
) -> Plan:
    """Attempts until a stream's 2xx response arrives, its body left for the stream to read."""
    plan = response_plan(call, clocks, base_delay_s, ledger)
    return _watched(call, plan) if call.observers else plan


def _json_of(call: Call, response: Response) -> Any:
    try:
        data = parse_json_body(response)
    except BabyAPIError as error:
        error.request_id = error.request_id or call.request_id
        raise
    record_response(response)
    return data


def _raw_of(call: Call, response: Response) -> RawAnswer:
    record_response(response)
    return raw_answer(response)


def _watched(call: Call, plan: Plan) -> Plan:
    """The plan, with its observers told how it goes; a stream's reader tells them the rest."""
    # Loaded by the first call that has observers: a client without any never needs them.
    from babyapi._observe import Answer, CallInfo, Watch

    info = CallInfo(call.method, call.url, call.path, call.body, call.stream, call.request_id)
    watch = call.watch = Watch.open(call.observers, info)
    if watch is None:
        return (yield from plan)
    try:
        result = yield from plan
    except BaseException as error:
        # GeneratorExit too: a plan closed mid-way belongs to a call given up on.
        watch.end(error)
        raise
    if call.stream:
        watch.stream_opened(result)
    else:
        answer: Any = result
        # A raw answer (text, metrics) holds no JSON for observers to read usage from.
        watch.end(None, Answer() if isinstance(answer, RawAnswer) else Answer(lambda: answer))
    return result


def response_plan(
    call: Call,
    clocks: Clocks,
    base_delay_s: float,
    ledger: Optional[RetryLedger] = None,
    finish: Optional[Callable[[Call, Response], Any]] = None,
) -> Plan:
    """Attempts until a 2xx response (body unread when streaming), retrying what may be retried.

    With a ``ledger`` (the client's retry budget) every call is counted and every retry spent.
    ``finish`` turns the 2xx response into the plan's result (one generator per call, not two).
    """
    settings = call.settings
    deadline_at = None if settings.deadline_s is None else clocks.monotonic() + settings.deadline_s
    call.deadline_at = deadline_at  # a stream's reader keeps to it until the last event
    if ledger is not None:
        ledger.record_call(clocks.monotonic())
    route: Optional[Route] = call.route
    if route is not None:
        route.start(clocks.monotonic(), deadline_at)
    retries = 0
    while True:
        time_left = None if deadline_at is None else deadline_at - clocks.monotonic()
        if time_left is not None and time_left <= 0:
            raise _deadline_error(call, retries if route is None else route.sent)
        if route is not None:
            # Waits for a server only while the deadline leaves time for an attempt.
            yield from _to_server(call, route, clocks)
            time_left = None if deadline_at is None else deadline_at - clocks.monotonic()
        observed = None if call.watch is None else call.watch.sending(retries)
        # The one place an attempt's request is made: where it goes (the route's server, if
        # any, set just before), with what, bounded how.
        request = call.request(retries, time_left, observed)
        send = Send(request, call.stream)
        outcome = (yield send) if route is None else (yield from _held(route, send, clocks))
        response = answer_in(outcome)
        if response is not None and response.status_code < 300:
            _log(call, retries, response, None)
            return response if finish is None else finish(call, response)
        if response is not None and call.stream:
            # An error answer to a stream: its body says what went wrong (unless reading fails).
            outcome = (yield ReadBody(response)) or outcome
        error, decision = _judge(
            call, outcome, retries, clocks, base_delay_s, time_left, deadline_at
        )
        if route is not None:
            decision = route.failover(outcome, decision, retries, clocks.monotonic())
        spared = route is not None and route.spared
        if decision.retry and ledger is not None and not spared:
            decision = _spend(ledger, decision, clocks.monotonic())
        _log(call, retries, outcome, decision)
        if not decision.retry:
            if error.request_id is None:
                # The server named none: ours joins the error to the log and the server's log.
                error.request_id = call.request_id
            raise give_up(error if route is None else route.tell(error), retries, decision)
        if route is None or decision.wait_s:
            yield Sleep(decision.wait_s)
        retries += not spared


def _to_server(call: Call, route: Route, clocks: Clocks) -> Plan:
    """Point the call at a server, waiting while every one is cooling down (within bounds)."""
    listing = route.listing(clocks.monotonic())
    if listing is not None:
        # A server skipped for this call's model may list it by now: read its list first.
        route.listed((yield Send(listing, False)))
    while True:
        wait = route.next(clocks.monotonic(), clocks.random)
        if wait is None:
            if call.watch is not None:
                call.watch.routed(call.url)
            return
        if clocks.monotonic() + wait >= route.give_up_at:
            raise route.no_server_error(call.settings.deadline_s)
        yield Sleep(wait)


def _held(route: Route, send: Send, clocks: Clocks) -> Plan:
    """Send one attempt on the route's server; its slot goes back however the attempt ends."""
    try:
        outcome = yield send
    except BaseException:
        route.release()
        raise
    route.ended(outcome, clocks.monotonic(), clocks.wall(), clocks.random())
    return outcome


def _judge(
    call: Call,
    outcome: Outcome,
    retries: int,
    clocks: Clocks,
    base_delay_s: float,
    time_left: Optional[float],
    deadline_at: Optional[float],
) -> tuple[BabyAPIError, Decision]:
    decision = _decide(
        outcome,
        call.method,
        call.path,
        retries_done=retries,
        max_retries=call.settings.max_retries,
        base_delay_s=base_delay_s,
        clocks=clocks,
        time_left_s=None if deadline_at is None else deadline_at - clocks.monotonic(),
        retry_read_timeouts=call.settings.retry_read_timeouts,
    )
    response = answer_in(outcome)
    if response is not None:
        error = error_from_response(response, decision.retry_after_s)
        return redact_error(error, call.api_key), decision
    assert isinstance(outcome, TransportError)
    return error_from_exception(outcome, call, time_left), decision


def _spend(ledger: RetryLedger, decision: Decision, now: float) -> Decision:
    """The decision to retry, if the budget has a retry left; else fail fast with why."""
    if ledger.try_retry(now):
        return decision
    return Decision(
        False,
        reason=ledger.refusal(now),
        retry_after_s=decision.retry_after_s,
        code="RETRY_BUDGET_EXHAUSTED",
    )


def _decide(
    outcome: Outcome,
    method: str,
    path: str,
    *,
    retries_done: int,
    max_retries: int,
    base_delay_s: float,
    clocks: Clocks,
    time_left_s: Optional[float],
    retry_read_timeouts: Optional[bool],
) -> Decision:
    refusal = NOT_RETRYABLE
    headers: Optional[Mapping[str, str]] = None
    response = answer_in(outcome)
    if response is not None:
        retryable = status_is_retryable(response.status_code, response.headers)
        headers = response.headers
    elif not isinstance(outcome, TransportError):
        retryable = False
    elif outcome.kind == "read_timeout":
        retryable = read_timeout_is_retryable(method, path, retry_read_timeouts)
        refusal = READ_TIMEOUT_NOT_RETRIED
    else:
        retryable = outcome.kind in RETRYABLE_FAILURES
    return decide(
        retries_done=retries_done,
        max_retries=max_retries,
        retryable=retryable,
        headers=headers,
        base_delay_s=base_delay_s,
        unit_random=clocks.random(),
        now_epoch_s=clocks.wall(),
        time_left_s=time_left_s,
        refusal=refusal,
    )


def decide_after_error(
    error: BabyAPIError,
    method: str,
    path: str,
    *,
    retries_done: int,
    max_retries: int,
    base_delay_s: float,
    clocks: Clocks,
    ledger: Optional[RetryLedger] = None,
) -> Decision:
    """The retry rule of a call, for an error its caller got: for applications that retry streams.

    Streams are never retried by the SDK; an application that retries one (before any of its
    data arrived) asks here, so it waits and gives up exactly as a JSON call would, spending
    from the client's retry budget (``ledger``) like one.
    """
    outcome: Outcome = error.response if error.status is not None else _failure_of(error)
    if outcome is None:
        return Decision(False, reason=NOT_RETRYABLE)
    decision = _decide(
        outcome,
        method,
        path,
        retries_done=retries_done,
        max_retries=max_retries,
        base_delay_s=base_delay_s,
        clocks=clocks,
        time_left_s=None,
        retry_read_timeouts=None,
    )
    if decision.retry and ledger is not None:
        decision = _spend(ledger, decision, clocks.monotonic())
    return decision


def _failure_of(error: BabyAPIError) -> Optional[TransportError]:
    """The transport failure behind a connection error, as the plan judged it."""
    failure = getattr(error, "failure", None)
    if failure is None or error.cause is None:
        return None
    return TransportError(failure, error.message, error.cause)


def give_up(error: BabyAPIError, retries: int, decision: Decision) -> BabyAPIError:
    """The final error of a call: how many attempts were made and why retrying stopped."""
    error.attempts = retries + 1
    if decision.code is not None:
        error.code = decision.code
    parts = [f"gave up after {retries + 1} attempts"] if retries else []
    # Say why retrying stopped, unless the failure was final anyway or no retry was asked for.
    if decision.reason not in (NOT_RETRYABLE, "max_retries=0 reached"):
        parts.append(decision.reason)
    if parts:
        error.message += f" ({': '.join(parts)})"
        error.args = (error.message,)
    return error


def error_from_exception(
    exc: TransportError,
    call: Call,
    time_left: Optional[float] = None,
    *,
    reading_body: bool = False,
) -> APIConnectionError:
    """A connection or timeout error that says what failed and what to do.

    ``time_left`` is what remained of ``deadline_s`` when the attempt started (by default,
    as the call recorded it); ``reading_body`` says the headers had arrived (a stream).
    """
    if time_left is None:
        time_left = call.attempt_time_left_s
    where = f"{call.method} {call.path}"
    url = call.url
    origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
    # Transport messages can quote request headers; the key must never reach an error.
    detail = redact(exc.message, call.api_key)
    error: APIConnectionError
    if exc.kind in TIMEOUT_FAILURES:
        error = _timeout_error(exc, call, where, origin, time_left, reading_body)
    elif exc.kind == "connect":
        reason = _system_reason(exc.cause)
        if reason is not None and reason[reason.index("]") + 2 :] not in detail:
            detail = f"{reason}: {detail}"
        error = APIConnectionError(
            f"could not connect to {origin} ({detail}); check base_url and that the server is running.",
            code="CONNECTION_ERROR",
            cause=exc.cause,
        )
    else:
        error = APIConnectionError(
            f"{where} failed: the connection to {origin} broke ({detail}).",
            code="CONNECTION_ERROR",
            cause=exc.cause,
        )
    error.failure = exc.kind
    return error


def _system_reason(exc: BaseException) -> Optional[str]:
    """The system's words ("[Errno 111] Connection refused") under a transport's own message.

    httpx's async transport says "All connection attempts failed" and aiohttp says "Connect call
    failed"; the refusal itself is an OSError further down the chain.
    """
    current: Optional[BaseException] = exc
    for _ in range(10):  # bounded: a chain can loop back on itself
        if current is None:
            return None
        errno = getattr(current, "errno", None)
        system = isinstance(current, OSError) and not isinstance(current, ssl.SSLError)
        if system and isinstance(errno, int) and errno > 0:
            return f"[Errno {errno}] {os.strerror(errno)}"
        current = current.__cause__ or current.__context__
    return None


_TIMEOUT_ADVICE = {
    "timeout_s": "raise timeout_s (on the client or in request_options) if the model needs longer",
    "headers_timeout_s": "raise headers_timeout_s in request_options if the server needs longer "
    "to start answering",
    "stream_idle_timeout_s": "the generation looks stalled; raise stream_idle_timeout_s in "
    "request_options if the model pauses longer",
    "deadline_s": "raise deadline_s or lower max_retries",
}


def _timeout_error(
    exc: TransportError,
    call: Call,
    where: str,
    origin: str,
    time_left: Optional[float],
    reading_body: bool,
) -> APITimeoutError:
    name, seconds = _timeout_bound(exc, call, time_left, reading_body)
    if exc.kind == "pool_timeout":
        return APITimeoutError(
            f"{where} waited {seconds:.3g}s ({_named(name, seconds, call)}) for a free connection: more "
            "calls are running at once than the connection pool allows. Lower the concurrency, raise "
            f"{name}, or pass http_client=httpx.Client(limits=httpx.Limits(max_connections=...)) with a "
            "larger pool.",
            code="TIMEOUT",
            cause=exc.cause,
        )
    if exc.kind == "connect_timeout":
        phase = "connecting to " + origin
    elif reading_body:
        phase = "waiting for the next data"
    elif name == "headers_timeout_s":
        phase = "waiting for the response headers"
    else:
        phase = "waiting for the server"
    return APITimeoutError(
        f"{where} timed out after {seconds:.3g}s ({_named(name, seconds, call)}) {phase}; "
        f"{_TIMEOUT_ADVICE[name]}.",
        code="TIMEOUT",
        cause=exc.cause,
    )


def _named(name: str, seconds: float, call: Call) -> str:
    if name == "deadline_s":
        deadline = call.settings.deadline_s
        return "what was left of deadline_s" + ("" if deadline is None else f"={deadline:g}")
    return f"{name}={seconds:g}"


def _timeout_bound(
    exc: TransportError, call: Call, time_left: Optional[float], reading_body: bool
) -> tuple[str, float]:
    """The setting whose bound fired, and that bound; mirrors how ``Call`` builds its timeouts."""
    settings = call.settings
    bounds: list[tuple[str, Optional[float]]]
    if exc.kind in ("connect_timeout", "pool_timeout"):
        bounds = [("timeout_s", settings.timeout_s or call.connect_timeout_s)]
    elif settings.headers_timeout_s and not reading_body:
        bounds = [("headers_timeout_s", settings.headers_timeout_s)]
    else:
        bounds = [
            ("timeout_s", settings.timeout_s),
            ("stream_idle_timeout_s", settings.stream_idle_timeout_s),
        ]
    # Once the headers are in, a headers_timeout_s stream reads without the deadline's cap.
    if not (reading_body and settings.headers_timeout_s):
        bounds.append(("deadline_s", time_left))
    known = [(name, value) for name, value in bounds if value is not None]
    if not known:
        return "timeout_s", call.connect_timeout_s
    return min(known, key=lambda bound: bound[1])


def _deadline_error(call: Call, retries: int) -> APITimeoutError:
    error = APITimeoutError(
        f"{call.method} {call.path} did not finish within deadline_s={call.settings.deadline_s:g} "
        f"({retries} attempt{'s' if retries != 1 else ''} made); raise deadline_s or lower max_retries.",
        code="TIMEOUT",
        request_id=call.request_id,
    )
    error.attempts = retries
    return error


def _log(call: Call, retries: int, outcome: Outcome, decision: Optional[Decision]) -> None:
    """Tell the observers and the DEBUG log how an attempt ended."""
    if call.watch is not None:
        # Observers see the library's own exception, as they see its response.
        shown = outcome.cause if isinstance(outcome, TransportError) else outcome
        call.watch.attempt_ended(retries, shown, decision)
    if not logger.isEnabledFor(logging.DEBUG):
        return
    status: object = "no response"
    ids = f"request_id={call.request_id}"
    response = answer_in(outcome)
    if response is not None:
        status = response.status_code
        theirs = request_id_of(response.headers)
        if theirs and theirs != call.request_id:
            ids += f", server request_id={theirs}"
    attempt = f"attempt {retries + 1} of {call.settings.max_retries + 1}"
    route: Optional[Route] = call.route
    if route is not None:
        attempt += f" on {route.server}"
    if decision is None:
        next_step = ""
    elif decision.retry and (decision.wait_s or call.route is None):
        next_step = f"; retrying in {decision.wait_s:.2f}s"
    elif decision.retry:
        next_step = f"; {decision.reason}"
    else:
        next_step = f"; giving up: {decision.reason}"
    logger.debug("%s %s -> %s (%s)%s [%s]", call.method, call.path, status, attempt, next_step, ids)
