"""Several servers behind one client: which one takes the next attempt, and which are resting.

Sans-IO: the caller passes the time and the randomness, so every rule here is tested with
injected clocks. A lock makes a ``ServerSet`` safe across threads; no method awaits, so it is
safe across tasks too. Used only when a client has two servers or more: one server keeps the
plain single-server path, with none of this bookkeeping.

- Balancing: the power of two random choices (pick two servers at random, weighted, and send
  to the one with fewer requests in flight per unit of weight), as gRPC's and Envoy's
  least-request balancers do. A slow server holds its requests longer, so it gets fewer.
- Health: a server that fails to connect, breaks a connection, or answers 429/502/503/504 is
  cooled down: no attempt goes to it until the cooldown ends. Each new cooldown doubles (from
  ``base_s``, with jitter, capped at ``max_s``); a ``Retry-After`` extends it to the later of
  the two, never shortens it. When it ends, one attempt probes the server (half-open): success
  makes it healthy again, failure cools it for longer.
- Models: a server that answered 404 for a model is not asked for that model again until it
  lists the model in ``/v1/models`` (checked at most every ``recheck_s``).
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections import deque
from typing import Any, Callable, Collection, Iterable, NamedTuple, Optional, Union

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi._validation import check_api_key, check_base_url
from babyapi._wire import Response, TransportError, answer_in

__all__ = [
    "COOLING_STATUSES",
    "Cooldown",
    "Server",
    "ServerSet",
    "ServerStatus",
    "Slot",
    "Verdict",
    "model_not_found",
    "verdict_of",
]

# Statuses that say "this server, not this request": overloaded, restarting, behind a broken proxy.
COOLING_STATUSES = frozenset({429, 502, 503, 504})
# A server asking for more than this is cooled this long; it is asked again afterwards.
MAX_COOLDOWN_ASKED_S = 600.0
# While another call probes a server, callers with nowhere to go look again this often.
PROBE_POLL_S = 0.05
# Failures within this window count as recent in ``client.servers``.
RECENT_S = 60.0
_RECENT_KEPT = 64


class Server:
    """One server of a client's set: its base URL, its share of the traffic, its own API key.

    ``weight`` scales the share it receives (2.0 takes about twice the work of 1.0);
    ``api_key``, when given, is sent to this server instead of the client's key.
    """

    __slots__ = ("api_key", "url", "weight")

    url: str
    weight: float
    api_key: Optional[str]

    def __init__(self, url: str, *, weight: float = 1.0, api_key: Optional[str] = None) -> None:
        number = isinstance(weight, (int, float)) and not isinstance(weight, bool)
        if not number or not math.isfinite(weight) or weight <= 0:
            raise (InvalidArgumentError if number else InvalidArgumentTypeError)(
                f"Server weight must be a finite number > 0, got {weight!r}; e.g. weight=2.0 "
                "sends a server about twice the work of weight=1.0.",
                code="INVALID_OPTIONS",
            )
        object.__setattr__(self, "url", check_base_url(url))
        object.__setattr__(self, "weight", float(weight))
        object.__setattr__(
            self, "api_key", check_api_key(api_key, "Server api_key", "INVALID_OPTIONS")
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Server is immutable; build a new one instead of setting {name}")

    def _values(self) -> tuple[str, float, Optional[str]]:
        return (self.url, self.weight, self.api_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Server):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> Any:
        return (_server, self._values())

    def __repr__(self) -> str:
        key = ", api_key=<set>" if self.api_key else ""
        return f"Server({self.url!r}, weight={self.weight:g}{key})"


def _server(url: str, weight: float, api_key: Optional[str]) -> Server:
    return Server(url, weight=weight, api_key=api_key)


class Cooldown(NamedTuple):
    """How long a failing server rests: ``base_s`` doubling per cooldown up to ``max_s``."""

    base_s: float = 1.0
    max_s: float = 30.0
    #: Each cooldown is scaled by a random factor in [1 - jitter, 1 + jitter] (then capped),
    #: so servers that failed together do not all come back at the same moment.
    jitter: float = 0.2
    #: How long a server that said 404 for a model is left before its model list is read again.
    recheck_s: float = 30.0

    def length_s(self, trips: int, unit_random: float) -> float:
        """The ``trips``-th cooldown in a row (1 for the first)."""
        plain = self.base_s * 2.0 ** min(max(trips - 1, 0), 32)
        scaled = plain * (1.0 - self.jitter + 2.0 * self.jitter * unit_random)
        return min(scaled, self.max_s)


DEFAULT_COOLDOWN = Cooldown()


class Verdict:
    """What an attempt's outcome says about its server's health."""

    UP = "up"  # it answered (any status but the cooling ones): alive
    DOWN = "down"  # unreachable, broke the connection, or said it is overloaded
    UNKNOWN = "unknown"  # a read timeout or our own pool: says nothing either way


def verdict_of(outcome: object) -> str:
    """The health verdict of an attempt's outcome (a response, or what the transport raised)."""
    response = answer_in(outcome)
    if response is not None:
        return Verdict.DOWN if response.status_code in COOLING_STATUSES else Verdict.UP
    if not isinstance(outcome, TransportError):
        return Verdict.UNKNOWN
    if outcome.kind in ("read_timeout", "pool_timeout", "write_timeout"):
        return Verdict.UNKNOWN
    return Verdict.DOWN


def model_not_found(response: Response, model: Optional[str]) -> bool:
    """Whether a 404 says this server does not serve ``model`` (vLLM, OpenAI, our server)."""
    if model is None or response.status_code != 404:
        return False
    try:
        text = response.text
    except (RuntimeError, UnicodeDecodeError):  # a body not read (httpx's ResponseNotRead is one)
        return False
    return "model_not_found" in text or (model in text and "model" in text.lower())


class ServerStatus(NamedTuple):
    """One server as ``client.servers`` reports it."""

    url: str
    weight: float
    #: "healthy", "cooling" (resting; no attempt goes there) or "probing" (one attempt tries it).
    state: str
    #: Seconds until the cooldown ends; 0.0 when healthy, or cooling with the next attempt
    #: there to be its probe.
    cooling_for_s: float
    in_flight: int
    #: Failures (the health kind) in the last minute.
    recent_failures: int
    #: Attempts sent to it, and those that failed its health, since the client started.
    attempts: int
    failures: int
    #: Models it answered 404 for and has not listed since.
    missing_models: tuple[str, ...]


class _State:
    """The running record of one server."""

    __slots__ = (
        "attempts",
        "failures",
        "healthy_since",
        "in_flight",
        "missing",
        "probing",
        "recent",
        "server",
        "trips",
        "until",
    )

    def __init__(self, server: Server) -> None:
        self.server = server
        self.in_flight = 0
        self.until = 0.0  # cooling until this monotonic time; 0.0: healthy
        self.probing = False  # a probe is on its way (half-open)
        self.trips = 0  # cooldowns in a row, for the doubling
        self.healthy_since = 0.0
        self.attempts = 0
        self.failures = 0
        self.recent: deque[float] = deque(maxlen=_RECENT_KEPT)
        self.missing: dict[str, float] = {}  # model -> when its 404 arrived

    def available(self, now: float) -> bool:
        return not self.probing and self.until <= now

    def serves(self, model: Optional[str]) -> bool:
        return model is None or model not in self.missing


class Slot:
    """One attempt's claim on a server; ``ServerSet.finish`` gives it back exactly once."""

    __slots__ = ("done", "held", "index", "probe", "server")

    def __init__(self, index: int, server: Server, probe: bool) -> None:
        self.index = index
        self.server = server
        self.probe = probe
        self.done = False
        self.held = False  # still in flight after its verdict: a stream being read


class ServerSet:
    """The servers of one client and their health, shared by its ``with_options`` copies."""

    def __init__(self, servers: Iterable[Server], cooldown: Cooldown = DEFAULT_COOLDOWN) -> None:
        self.servers = tuple(servers)
        self.cooldown = cooldown
        self._states = [_State(server) for server in self.servers]
        self._lock = threading.Lock()
        _SETS.add(self)

    def __reduce__(self) -> Any:
        # A copy in another process starts fresh: health describes what this process saw.
        return (ServerSet, (self.servers, self.cooldown))

    def __len__(self) -> int:
        return len(self.servers)

    def choose(
        self,
        model: Optional[str],
        tried: Collection[int],
        now: float,
        random: Callable[[], float],
    ) -> Union[Slot, float]:
        """A slot on the server for the next attempt, or how long to wait before asking again.

        Servers this call has not tried come first; among them, two weighted random picks and
        the one with less in flight per weight. A server whose cooldown has ended is taken as
        the probe that decides its health. With nowhere to go, the wait is until the earliest
        cooldown ends (or a short look-again while another call probes).
        """
        with self._lock:
            states = self._states
            wanted = [i for i, s in enumerate(states) if s.serves(model)] or list(
                range(len(states))
            )
            open_ = [i for i in wanted if states[i].available(now)]
            if not open_:
                return self._wait(wanted, now)
            fresh = [i for i in open_ if i not in tried]
            index = self._least_loaded(fresh or open_, random)
            state = states[index]
            probe = state.until > 0.0
            if probe:
                state.probing = True
            state.in_flight += 1
            state.attempts += 1
            return Slot(index, state.server, probe)

    def _wait(self, wanted: list[int], now: float) -> float:
        states = self._states
        ends = [states[i].until for i in wanted if not states[i].probing]
        wait = min(ends) - now if ends else PROBE_POLL_S
        if any(states[i].probing for i in wanted):
            wait = min(wait, PROBE_POLL_S)
        return max(wait, 0.0)

    def _least_loaded(self, candidates: list[int], random: Callable[[], float]) -> int:
        if len(candidates) == 1:
            return candidates[0]
        first = self._weighted_pick(candidates, random())
        rest = [i for i in candidates if i != first]
        second = self._weighted_pick(rest, random())
        states = self._states
        load_first = states[first].in_flight / states[first].server.weight
        load_second = states[second].in_flight / states[second].server.weight
        return second if load_second < load_first else first

    def _weighted_pick(self, candidates: list[int], unit_random: float) -> int:
        states = self._states
        total = sum(states[i].server.weight for i in candidates)
        point = unit_random * total
        for index in candidates:
            point -= states[index].server.weight
            if point < 0:
                return index
        return candidates[-1]

    def finish(
        self,
        slot: Slot,
        verdict: str,
        now: float,
        unit_random: float,
        retry_after_s: Optional[float] = None,
        *,
        hold: bool = False,
    ) -> None:
        """Learn from how the slot's attempt went, and give the slot back (unless ``hold``:
        a stream still being read stays in flight until ``let_go``)."""
        with self._lock:
            if slot.done:
                return
            slot.done = True
            state = self._states[slot.index]
            if hold:
                slot.held = True
            else:
                state.in_flight -= 1
            if slot.probe:
                state.probing = False
            if verdict == Verdict.UP and slot.probe:
                # Only the probe ends a cooldown: an answer to an attempt sent before it began
                # says nothing about the server since.
                state.until = 0.0
                state.healthy_since = now
            elif verdict == Verdict.DOWN:
                self._cool(state, slot, now, unit_random)
            if retry_after_s is not None and retry_after_s > 0:
                # Only ever later: a short Retry-After never ends a longer cooldown early.
                state.until = max(state.until, now + min(retry_after_s, MAX_COOLDOWN_ASKED_S))

    def _cool(self, state: _State, slot: Slot, now: float, unit_random: float) -> None:
        state.failures += 1
        state.recent.append(now)
        if state.until and not slot.probe:
            # An attempt sent before the server was cooled: the cooldown already counts it.
            return
        if state.trips and not state.until and now - state.healthy_since > self.cooldown.max_s:
            state.trips = 0  # healthy for a long while: start again from the shortest rest
        state.trips += 1
        length = self.cooldown.length_s(state.trips, unit_random)
        state.until = max(state.until, now + length)

    def let_go(self, slot: Slot) -> None:
        """A held slot's stream ended: it is no longer in flight."""
        with self._lock:
            if slot.held:
                slot.held = False
                self._states[slot.index].in_flight -= 1

    def release(self, slot: Slot) -> None:
        """Give a slot back without a verdict (the call was cancelled or abandoned)."""
        self.finish(slot, Verdict.UNKNOWN, 0.0, 0.0)

    def lacks_model(self, index: int, model: str, now: float) -> None:
        """Server ``index`` answered 404 for ``model``: ask the others for it from now on."""
        with self._lock:
            self._states[index].missing.setdefault(model, now)

    def open_elsewhere(self, model: Optional[str], tried: Collection[int], now: float) -> bool:
        """Whether a server this call has not tried could take it now (and serves ``model``)."""
        with self._lock:
            return any(
                i not in tried and s.available(now) and s.serves(model)
                for i, s in enumerate(self._states)
            )

    def listing_due(self, model: Optional[str], now: float) -> Optional[int]:
        """A server whose 404 for ``model`` is old enough to read its model list again."""
        if model is None:
            return None
        with self._lock:
            for index, state in enumerate(self._states):
                since = state.missing.get(model)
                if since is not None and now - since >= self.cooldown.recheck_s:
                    state.missing[model] = now  # one reader at a time; the others carry on
                    return index
        return None

    def listed(self, index: int, models: Collection[str]) -> None:
        """A server's ``/v1/models`` answer: the models it lists are asked of it again."""
        with self._lock:
            missing = self._states[index].missing
            for model in [m for m in missing if m in models]:
                del missing[model]

    def statuses(self, now: float) -> tuple[ServerStatus, ...]:
        """Each server's state now, in the order they were given."""
        with self._lock:
            return tuple(self._status(state, now) for state in self._states)

    def _status(self, state: _State, now: float) -> ServerStatus:
        if state.probing:
            name = "probing"
        elif state.until:
            name = "cooling"  # until its probe succeeds, even once the cooldown has run out
        else:
            name = "healthy"
        return ServerStatus(
            url=state.server.url,
            weight=state.server.weight,
            state=name,
            cooling_for_s=max(0.0, state.until - now),
            in_flight=state.in_flight,
            recent_failures=sum(1 for t in state.recent if now - t <= RECENT_S),
            attempts=state.attempts,
            failures=state.failures,
            missing_models=tuple(sorted(state.missing)),
        )


# A fork can happen while another thread holds a set's lock; the child would wait forever.
_SETS: weakref.WeakSet[ServerSet] = weakref.WeakSet()


def _fresh_in_child() -> None:
    # The child starts with no requests in flight and no memory of the parent's failures.
    for servers in list(_SETS):
        servers._lock = threading.Lock()
        servers._states = [_State(server) for server in servers.servers]


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_fresh_in_child)
