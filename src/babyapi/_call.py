"""The attempts of one call, as a plan of actions the client shells carry out.

The plan is a generator: it yields what to do (send a request, read a body, sleep) and
receives the outcome (a response or the exception the transport raised). All decisions
live here, so the sync and async shells only perform actions, each in its own way.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Generator, NamedTuple, Optional, Union

import httpx

from babyapi._errors import APIConnectionError, APITimeoutError, BabyAPIError
from babyapi._request import BuildRequest, Call
from babyapi._response import error_from_response, parse_json_body
from babyapi._retry import (
    NOT_RETRYABLE,
    READ_TIMEOUT_NOT_RETRIED,
    Decision,
    decide,
    read_timeout_is_retryable,
    status_is_retryable,
)

__all__ = [
    "TRANSPORT_ERRORS",
    "Action",
    "Clocks",
    "ReadBody",
    "Send",
    "Sleep",
    "error_from_exception",
    "json_plan",
    "response_plan",
]

logger = logging.getLogger("babyapi")

# What a transport can raise that is the network's fault, never the caller's.
TRANSPORT_ERRORS = (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL)

# Failures retried on every endpoint: the server never got the whole request (connect, pool,
# write), or it dropped the connection without a word. Read timeouts depend on the endpoint.
_RETRYABLE_EXCEPTIONS = (
    httpx.NetworkError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)


class Send:
    """Send one attempt; with ``stream`` the body is left unread."""

    __slots__ = ("request", "stream")

    def __init__(self, request: httpx.Request, stream: bool) -> None:
        self.request = request
        self.stream = stream


class ReadBody:
    """Read the rest of a streamed response (an error answer to a stream request)."""

    __slots__ = ("response",)

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


class Sleep:
    """Wait before the next attempt."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


Action = Union[Send, ReadBody, Sleep]
Outcome = Union[httpx.Response, BaseException, None]
Plan = Generator[Action, Outcome, Any]


class Clocks(NamedTuple):
    """Time and chance as the shell provides them, so tests can replace all three."""

    monotonic: Callable[[], float]
    wall: Callable[[], float]
    random: Callable[[], float]


def json_plan(call: Call, build: BuildRequest, clocks: Clocks, base_delay_s: float) -> Plan:
    """Attempts until a 2xx whose body is a JSON object is returned, or an error is raised."""
    response = yield from response_plan(call, build, clocks, base_delay_s)
    return parse_json_body(response)


def response_plan(call: Call, build: BuildRequest, clocks: Clocks, base_delay_s: float) -> Plan:
    """Attempts until a 2xx response (body unread when streaming), retrying what may be retried."""
    settings = call.settings
    deadline_at = None if settings.deadline_s is None else clocks.monotonic() + settings.deadline_s
    retries = 0
    while True:
        time_left = None if deadline_at is None else deadline_at - clocks.monotonic()
        if time_left is not None and time_left <= 0:
            raise _deadline_error(call, retries)
        request = call.request(build, retries, time_left)
        outcome = yield Send(request, call.stream)
        if isinstance(outcome, httpx.Response) and outcome.status_code < 300:
            _log(call, retries, outcome.status_code, None)
            return outcome
        if isinstance(outcome, httpx.Response) and call.stream:
            outcome = (yield ReadBody(outcome)) or outcome
        error, decision = _judge(
            call, outcome, retries, clocks, base_delay_s, time_left, deadline_at
        )
        _log(call, retries, getattr(outcome, "status_code", None), decision)
        if not decision.retry:
            raise _final(error, retries, decision)
        yield Sleep(decision.wait_s)
        retries += 1


def _judge(
    call: Call,
    outcome: Outcome,
    retries: int,
    clocks: Clocks,
    base_delay_s: float,
    time_left: Optional[float],
    deadline_at: Optional[float],
) -> tuple[BabyAPIError, Decision]:
    refusal = NOT_RETRYABLE
    if isinstance(outcome, httpx.Response):
        retryable = status_is_retryable(outcome.status_code, outcome.headers)
        headers: Optional[httpx.Headers] = outcome.headers
    elif isinstance(outcome, httpx.ReadTimeout):
        opt_in = call.settings.retry_read_timeouts
        retryable = read_timeout_is_retryable(call.method, call.path, opt_in)
        refusal = READ_TIMEOUT_NOT_RETRIED
        headers = None
    else:
        retryable = isinstance(outcome, _RETRYABLE_EXCEPTIONS)
        headers = None
    decision = decide(
        retries_done=retries,
        max_retries=call.settings.max_retries,
        retryable=retryable,
        headers=headers,
        base_delay_s=base_delay_s,
        unit_random=clocks.random(),
        now_epoch_s=clocks.wall(),
        time_left_s=None if deadline_at is None else deadline_at - clocks.monotonic(),
        refusal=refusal,
    )
    if isinstance(outcome, httpx.Response):
        return error_from_response(outcome, decision.retry_after_s), decision
    assert isinstance(outcome, BaseException)
    return error_from_exception(outcome, call, time_left), decision


def _final(error: BabyAPIError, retries: int, decision: Decision) -> BabyAPIError:
    error.attempts = retries + 1
    parts = [f"gave up after {retries + 1} attempts"] if retries else []
    # Say why retrying stopped, unless the failure was final anyway or no retry was asked for.
    if decision.reason not in (NOT_RETRYABLE, "max_retries=0 reached"):
        parts.append(decision.reason)
    if parts:
        error.message += f" ({': '.join(parts)})"
        error.args = (error.message,)
    return error


def error_from_exception(
    exc: BaseException, call: Call, time_left: Optional[float] = None
) -> APIConnectionError:
    """A connection or timeout error that says what failed and what to do."""
    where = f"{call.method} {call.path}"
    url = call.url
    origin = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")
    # Transport messages can quote request headers; the key must never reach an error.
    detail = (str(exc) or type(exc).__name__).replace(call.settings.api_key, "[api key]")
    if isinstance(exc, httpx.PoolTimeout):
        return APITimeoutError(
            f"{where} waited too long for a free connection: more calls are running at once than "
            "the connection pool allows. Lower the concurrency, or pass http_client=httpx.Client("
            "limits=httpx.Limits(max_connections=...)) with a larger pool.",
            code="TIMEOUT",
            cause=exc,
        )
    if isinstance(exc, httpx.TimeoutException):
        bound = _timeout_bound(call, time_left)
        phase = (
            "connecting to " + origin
            if isinstance(exc, httpx.ConnectTimeout)
            else "waiting for the server"
        )
        return APITimeoutError(
            f"{where} timed out after {bound} {phase}; raise timeout_s (on the client or in "
            "request_options) if the model needs longer.",
            code="TIMEOUT",
            cause=exc,
        )
    if isinstance(exc, httpx.ConnectError):
        return APIConnectionError(
            f"could not connect to {origin} ({detail}); check base_url and that the server is running.",
            code="CONNECTION_ERROR",
            cause=exc,
        )
    return APIConnectionError(
        f"{where} failed: the connection to {origin} broke ({detail}).",
        code="CONNECTION_ERROR",
        cause=exc,
    )


def _timeout_bound(call: Call, time_left: Optional[float]) -> str:
    bounds = [b for b in (call.settings.timeout_s, call.settings.headers_timeout_s, time_left) if b]
    return f"{min(bounds):.3g}s" if bounds else "its timeout"


def _deadline_error(call: Call, retries: int) -> APITimeoutError:
    error = APITimeoutError(
        f"{call.method} {call.path} did not finish within deadline_s={call.settings.deadline_s:g} "
        f"({retries} attempt{'s' if retries != 1 else ''} made); raise deadline_s or lower max_retries.",
        code="TIMEOUT",
    )
    error.attempts = retries
    return error


def _log(call: Call, retries: int, status: Optional[int], decision: Optional[Decision]) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    outcome = status if status is not None else "no response"
    attempt = f"attempt {retries + 1} of {call.settings.max_retries + 1}"
    if decision is None:
        logger.debug("%s %s -> %s (%s)", call.method, call.path, outcome, attempt)
    elif decision.retry:
        logger.debug(
            "%s %s -> %s (%s); retrying in %.2fs",
            call.method,
            call.path,
            outcome,
            attempt,
            decision.wait_s,
        )
    else:
        logger.debug(
            "%s %s -> %s (%s); giving up: %s",
            call.method,
            call.path,
            outcome,
            attempt,
            decision.reason,
        )
