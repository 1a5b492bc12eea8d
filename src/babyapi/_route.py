"""Which server each attempt of one call goes to, for a client of several servers. No I/O.

The call plan (``_call``) asks a ``Route`` for a server before each attempt, tells it how the
attempt ended, and lets it turn a retry into a failover: the same request (same idempotency
key, same request id) sent at once to a server the call has not tried, inside the same
``max_retries`` and retry budget. A client of one server never builds a Route.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Union, cast

import httpx

from babyapi._errors import APIConnectionError, APITimeoutError, BabyAPIError
from babyapi._request import Call
from babyapi._retry import Decision, retry_after_s
from babyapi._servers import ServerSet, Slot, Verdict, model_not_found, verdict_of
from babyapi._wire import Response, Timeouts, TransportError, WireRequest, answer_in

__all__ = ["Route"]

Outcome = Union[Response, BaseException, None]

MODELS_PATH = "/v1/models"
RESPONSES_PATH = "/v1/responses"
# A model listing is small and quick; one that is slow is not worth holding a call for.
_LISTING_TIMEOUT = Timeouts(5.0, 5.0, 5.0, 5.0)
# Refusals that say nothing against another server: the wait one asked for, or no time for it.
_WAIT_REFUSALS = ("server asked to wait", "deadline would pass during the wait")


class Route:
    """One call's way through a ``ServerSet``: the servers it tried and the one it holds."""

    __slots__ = (
        "_call",
        "_last",
        "_listing",
        "_reading",
        "_servers",
        "_slot",
        "_tried",
        "deadline_at",
        "give_up_at",
        "model",
        "sent",
        "server",
        "spared",
    )

    def __init__(self, servers: ServerSet, call: Call) -> None:
        self._servers = servers
        self._call = call
        self._slot: Optional[Slot] = None
        self._tried: set[int] = set()
        self._last: Optional[int] = None
        self._listing: Optional[int] = None
        self._reading: Optional[Slot] = None
        #: When the call's deadline passes, and when waiting for a cooling server stops: the
        #: deadline, else the call's timeout (both on the shell's monotonic clock).
        self.deadline_at: Optional[float] = None
        self.give_up_at = 0.0
        #: The latest attempt was a failed probe that does not count (see ``ended``).
        self.spared = False
        #: Attempts sent, counted or spared.
        self.sent = 0
        model = call.body.get("model") if call.body is not None else None
        self.model = model if isinstance(model, str) else None
        #: The base URL of the server the latest attempt went to.
        self.server: Optional[str] = None

    def start(self, now: float, deadline_at: Optional[float]) -> None:
        """The call's first attempt is about to be planned."""
        self.deadline_at = deadline_at
        self.give_up_at = now + self._call.wait_bound_s() if deadline_at is None else deadline_at

    def next(self, now: float, random: Callable[[], float]) -> Optional[float]:
        """Point the call at a server (None), or say how long to wait before asking again."""
        choice = self._servers.choose(self.model, self._tried, now, random)
        if not isinstance(choice, Slot):
            return choice
        self._slot = choice
        self._tried.add(choice.index)
        self.sent += 1
        self._last = choice.index
        call = self._call
        self.server = choice.server.url
        call.url = _server_url(choice.server.url, call.path, call.url.query)
        call.target = str(call.url)
        call.server_key = choice.server.api_key
        return None

    def listing(self, now: float) -> Optional[WireRequest]:
        """A ``GET /v1/models`` to a server that said 404 for this call's model a while ago."""
        index = self._servers.listing_due(self.model, now)
        if index is None:
            return None
        server = self._servers.servers[index]
        self._listing = index
        headers = {"authorization": f"Bearer {server.api_key or self._call.settings.api_key}"}
        url = _endpoint(server.url, MODELS_PATH)
        return WireRequest("GET", url, str(url), headers, None, _LISTING_TIMEOUT)

    def listed(self, outcome: Outcome) -> None:
        """What the listing said: the models it names are asked of that server again."""
        index, self._listing = self._listing, None
        response = answer_in(outcome)
        if index is None or response is None or response.status_code != 200:
            return
        try:
            data: Any = response.json().get("data")
            items: list[Any] = list(data)
        except (ValueError, AttributeError, TypeError):
            return  # a listing we cannot read changes nothing: the model stays skipped
        ids: list[object] = [
            cast("dict[str, object]", item).get("id") for item in items if isinstance(item, dict)
        ]
        self._servers.listed(index, [i for i in ids if isinstance(i, str)])

    def release(self) -> None:
        """The attempt was abandoned (cancelled, closed): its slot goes back with no verdict."""
        slot, self._slot = self._slot, None
        if slot is not None:
            self._servers.release(slot)

    def ended(self, outcome: Outcome, now: float, wall: float, unit_random: float) -> None:
        """The attempt got a response (status known) or a transport error: judge the server."""
        slot, self._slot = self._slot, None
        if slot is None:
            return
        asked = None
        response = answer_in(outcome)
        if response is not None and response.status_code >= 400:
            asked = retry_after_s(response.headers, wall)
        verdict = verdict_of(outcome)
        # An attempt no server received (refused, not connected in time), or a probe that finds
        # its server still down, cost no server any work: with a deadline to bound the call,
        # it uses up neither max_retries nor the retry budget.
        never_reached = isinstance(outcome, TransportError) and outcome.kind in (
            "connect",
            "connect_timeout",
        )
        self.spared = (
            self.deadline_at is not None
            and verdict == Verdict.DOWN
            and (slot.probe or never_reached)
        )
        # A stream's answer is still coming: it stays in flight there until it ends.
        hold = self._call.stream and response is not None and response.status_code < 300
        if hold:
            self._reading = slot
        self._servers.finish(slot, verdict, now, unit_random, asked, hold=hold)

    def stream_ended(self) -> None:
        """The stream's reader let its response go (read to the end, closed, or failed)."""
        slot, self._reading = self._reading, None
        if slot is not None:
            self._servers.let_go(slot)

    def failover(self, outcome: Outcome, decision: Decision, retries: int, now: float) -> Decision:
        """The retry decision, made a failover when another server can take the call now."""
        call = self._call
        response = answer_in(outcome)
        if response is not None and response.status_code == 404 and _names_stored_response(call):
            # A stored response lives on the server that made it: this one does not hold it.
            return self._look_elsewhere(decision, now)
        within = self.spared or retries < call.settings.max_retries
        if not within or not self._may_move(outcome, decision, now):
            return decision
        if self._servers.open_elsewhere(self.model, self._tried, now):
            return Decision(
                True,
                reason=f"failing over from {self.server}",
                retry_after_s=decision.retry_after_s,
            )
        if self.spared:
            return Decision(True, reason="waiting for a server to come back")
        # A stream moves only to a server it has not tried; a call may wait for one to return.
        return decision if decision.retry and not call.stream else _stop(decision)

    def _look_elsewhere(self, decision: Decision, now: float) -> Decision:
        """A server without the stored response the call names: ask one not asked yet.

        Each server is asked once, so the search is bounded by their number and spends neither
        ``max_retries`` nor the retry budget; when every server has said 404, the 404 stands.
        """
        if not self._servers.open_elsewhere(self.model, self._tried, now):
            return decision
        self.spared = True
        return Decision(True, reason=f"the response is not stored on {self.server}")

    def _may_move(self, outcome: Outcome, decision: Decision, now: float) -> bool:
        if decision.retry or self.spared or decision.reason.startswith(_WAIT_REFUSALS):
            return True
        response = answer_in(outcome)
        if response is not None and model_not_found(response, self.model):
            if self._last is not None and self.model is not None:
                self._servers.lacks_model(self._last, self.model, now)
            return True
        return False

    def tell(self, error: BabyAPIError) -> BabyAPIError:
        """Name the server of the last attempt on the error, and in its message."""
        error.server = self.server
        if self.server is not None and self.server not in error.message:
            error.message += f" [server {self.server}]"
            error.args = (error.message,)
        return error

    def no_server_error(self, deadline_s: Optional[float]) -> APIConnectionError:
        """Every server is cooling down, and none comes back in time."""
        attempts = self.sent
        names = ", ".join(server.url for server in self._servers.servers)
        made = f"{attempts} attempt{'s' if attempts != 1 else ''} made"
        if deadline_s is not None:
            error: APIConnectionError = APITimeoutError(
                f"{self._call.method} {self._call.path} did not finish within "
                f"deadline_s={deadline_s:g} ({made}): every server ({names}) is cooling down "
                "after failures; raise deadline_s to wait longer for one to come back.",
                code="TIMEOUT",
                request_id=self._call.request_id,
            )
        else:
            error = APIConnectionError(
                f"{self._call.method} {self._call.path}: every server ({names}) is cooling down "
                f"after failures and none came back in time ({made}); check that they are "
                "running, or pass deadline_s to wait longer.",
                code="CONNECTION_ERROR",
                request_id=self._call.request_id,
            )
        error.attempts = attempts
        error.server = self.server
        return error


def _names_stored_response(call: Call) -> bool:
    """Whether the call reads a response a server stores: retrieve, cancel, its input items,
    or a new one that continues it (``previous_response_id``)."""
    if call.path.startswith(RESPONSES_PATH + "/"):
        return True
    body = call.body
    return (
        call.path == RESPONSES_PATH
        and body is not None
        and isinstance(body.get("previous_response_id"), str)
    )


def _stop(decision: Decision) -> Decision:
    if not decision.retry:
        return decision
    return Decision(
        False,
        reason="no other server to fail over to (a stream moves only to a server it has not tried)",
        retry_after_s=decision.retry_after_s,
    )


@functools.lru_cache(maxsize=256)
def _endpoint(server_url: str, path: str) -> httpx.URL:
    return httpx.URL(server_url + path)


def _server_url(server_url: str, path: str, query: bytes) -> httpx.URL:
    url = _endpoint(server_url, path)
    return url.copy_with(query=query) if query else url
