"""The server set on its own: balancing, cooldowns, probes and models, on injected clocks."""

from __future__ import annotations

import itertools
import os
import pickle
import random
import signal
from typing import Callable, List, Optional

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from babyapi import BabyAPIError, Server
from babyapi._httpx import failure_of
from babyapi._servers import (
    PROBE_POLL_S,
    Cooldown,
    ServerSet,
    Slot,
    Verdict,
    model_not_found,
    verdict_of,
)

A, B, C = "http://a:8000", "http://b:8000", "http://c:8000"
# No jitter: each cooldown is exactly base * 2**(n-1), capped.
EXACT = Cooldown(base_s=1.0, max_s=30.0, jitter=0.0)


def servers(*urls: str, cooldown: Cooldown = EXACT) -> ServerSet:
    return ServerSet([Server(url) for url in urls or (A, B, C)], cooldown)


def cycle(*values: float) -> Callable[[], float]:
    """A stand-in for random.random that returns ``values`` in turn, forever."""
    it = itertools.cycle(values)
    return lambda: next(it)


def take(
    group: ServerSet, now: float = 0.0, tried: tuple[int, ...] = (), model: Optional[str] = None
) -> Slot:
    choice = group.choose(model, tried, now, random.random)
    assert isinstance(choice, Slot), f"expected a server, got a wait of {choice}"
    return choice


def cool(group: ServerSet, index: int, now: float, retry_after_s: Optional[float] = None) -> None:
    """Send one attempt to server ``index`` (and only there) that fails its health."""
    others = tuple(i for i in range(len(group)) if i != index)
    slot = group.choose(None, others, now, random.random)
    assert isinstance(slot, Slot) and slot.index == index
    group.finish(slot, Verdict.DOWN, now, 0.5, retry_after_s)


def states(group: ServerSet, now: float) -> List[str]:
    return [status.state for status in group.statuses(now)]


# Server


def test_a_server_keeps_its_url_weight_and_key_and_hides_the_key() -> None:
    server = Server("http://a:8000/v1/", weight=2, api_key="sk-secret-key")
    assert (server.url, server.weight, server.api_key) == ("http://a:8000", 2.0, "sk-secret-key")
    assert "sk-secret-key" not in repr(server)
    assert pickle.loads(pickle.dumps(server)) == server
    with pytest.raises(AttributeError):
        server.weight = 3.0  # type: ignore[misc]


@pytest.mark.parametrize("weight", [0, -1.0, float("inf"), float("nan"), "2", True])
def test_a_bad_weight_is_refused_with_what_to_pass(weight: object) -> None:
    with pytest.raises(BabyAPIError, match="weight must be a finite number > 0") as info:
        Server(A, weight=weight)  # type: ignore[arg-type]
    assert info.value.code == "INVALID_OPTIONS"


def test_a_bad_url_is_refused() -> None:
    with pytest.raises(BabyAPIError, match="is not an http"):
        Server("a:8000")


# Balancing


def test_the_less_loaded_of_two_random_picks_gets_the_attempt() -> None:
    group = servers(A, B)
    busy = take(group)  # one of them now has one in flight
    for _ in range(20):
        slot = take(group)
        assert slot.index != busy.index
        group.finish(slot, Verdict.UP, 0.0, 0.5)


def test_shares_are_equal_when_all_are_alike() -> None:
    group = servers()
    counts = [0, 0, 0]
    rng = random.Random(7)
    held: List[Slot] = []
    for _ in range(3000):
        slot = group.choose(None, (), 0.0, rng.random)
        assert isinstance(slot, Slot)
        counts[slot.index] += 1
        held.append(slot)
        if len(held) > 8:  # about eight in flight at any time, finishing oldest first
            group.finish(held.pop(0), Verdict.UP, 0.0, 0.5)
    assert all(abs(count - 1000) < 150 for count in counts), counts


def test_a_heavier_server_takes_a_larger_share() -> None:
    group = ServerSet([Server(A, weight=3.0), Server(B, weight=1.0)], EXACT)
    rng = random.Random(3)
    counts = [0, 0]
    held: List[Slot] = []
    for _ in range(4000):
        slot = group.choose(None, (), 0.0, rng.random)
        assert isinstance(slot, Slot)
        counts[slot.index] += 1
        held.append(slot)
        if len(held) > 8:
            group.finish(held.pop(0), Verdict.UP, 0.0, 0.5)
    assert 2.4 < counts[0] / counts[1] < 3.6, counts


def test_a_call_goes_to_a_server_it_has_not_tried_first() -> None:
    group = servers()
    for _ in range(20):
        slot = take(group, tried=(0, 1))
        assert slot.index == 2
        group.finish(slot, Verdict.UP, 0.0, 0.5)


def test_when_every_server_was_tried_any_open_one_is_taken_again() -> None:
    group = servers(A, B)
    assert take(group, tried=(0, 1)).index in (0, 1)


# Health


def test_a_failure_cools_the_server_and_others_take_the_work() -> None:
    group = servers()
    cool(group, 0, now=10.0)
    assert states(group, 10.0) == ["cooling", "healthy", "healthy"]
    for _ in range(20):
        slot = take(group, now=10.5)
        assert slot.index != 0
        group.finish(slot, Verdict.UP, 10.5, 0.5)


def test_cooldowns_double_and_stop_at_the_cap() -> None:
    group = servers(A, B, cooldown=Cooldown(base_s=1.0, max_s=5.0, jitter=0.0))
    now = 0.0
    lengths = []
    for _ in range(5):
        cool(group, 0, now)
        lengths.append(group.statuses(now)[0].cooling_for_s)
        now += lengths[-1]  # the cooldown ends; the next attempt is its probe, and fails
    assert lengths == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_spreads_a_cooldown_within_its_bounds() -> None:
    policy = Cooldown(base_s=2.0, max_s=30.0, jitter=0.2)
    assert policy.length_s(1, 0.0) == pytest.approx(1.6)
    assert policy.length_s(1, 1.0) == pytest.approx(2.4)
    assert policy.length_s(20, 1.0) == 30.0


def test_a_retry_after_extends_a_cooldown() -> None:
    group = servers()
    cool(group, 0, now=0.0, retry_after_s=12.0)
    assert group.statuses(0.0)[0].cooling_for_s == 12.0


def test_a_short_retry_after_never_shortens_a_cooldown() -> None:
    group = servers()
    late = take(group, tried=(1, 2))  # on server 0, sent before its cooldown began
    cool(group, 0, now=0.0)  # 1 s
    group.finish(late, Verdict.DOWN, 0.5, 0.5, retry_after_s=0.1)
    assert group.statuses(0.5)[0].cooling_for_s == pytest.approx(0.5)


def test_failures_of_attempts_sent_before_the_cooldown_do_not_lengthen_it() -> None:
    group = servers()
    in_flight = [take(group, tried=(1, 2)) for _ in range(5)]  # five on server 0
    for slot in in_flight:  # the server dies: all five fail at once
        group.finish(slot, Verdict.DOWN, 3.0, 0.5)
    status = group.statuses(3.0)[0]
    assert status.cooling_for_s == 1.0  # one cooldown, the first
    assert (status.failures, status.recent_failures, status.in_flight) == (5, 5, 0)


def test_after_the_cooldown_one_probe_decides() -> None:
    group = servers(A, B)
    cool(group, 0, now=0.0)
    probe = take(group, now=1.0, tried=(1,))
    assert probe.index == 0 and probe.probe
    assert states(group, 1.0) == ["probing", "healthy"]
    # While the probe is out, nobody else is sent there.
    for _ in range(10):
        slot = take(group, now=1.0)
        assert slot.index == 1
        group.finish(slot, Verdict.UP, 1.0, 0.5)
    group.finish(probe, Verdict.UP, 1.1, 0.5)
    assert states(group, 1.1) == ["healthy", "healthy"]


def test_a_failed_probe_cools_the_server_for_longer() -> None:
    group = servers(A, B)
    cool(group, 0, now=0.0)
    probe = take(group, now=1.0, tried=(1,))
    group.finish(probe, Verdict.DOWN, 1.0, 0.5)
    assert group.statuses(1.0)[0].cooling_for_s == 2.0


def test_a_probe_that_proves_nothing_leaves_the_next_attempt_to_probe() -> None:
    group = servers(A, B)
    cool(group, 0, now=0.0)
    probe = take(group, now=1.0, tried=(1,))
    group.finish(probe, Verdict.UNKNOWN, 1.5, 0.5)
    assert take(group, now=1.5, tried=(1,)).probe


def test_a_server_healthy_for_long_starts_again_from_the_shortest_cooldown() -> None:
    group = servers(A, B)
    cool(group, 0, now=0.0)
    group.finish(take(group, now=1.0, tried=(1,)), Verdict.DOWN, 1.0, 0.5)  # 2 s now
    group.finish(take(group, now=3.0, tried=(1,)), Verdict.UP, 3.0, 0.5)  # healthy again
    cool(group, 0, now=100.0)
    assert group.statuses(100.0)[0].cooling_for_s == 1.0


def test_a_flapping_server_keeps_its_longer_cooldown() -> None:
    group = servers(A, B)
    cool(group, 0, now=0.0)
    group.finish(take(group, now=1.0, tried=(1,)), Verdict.UP, 1.0, 0.5)
    cool(group, 0, now=2.0)
    assert group.statuses(2.0)[0].cooling_for_s == 2.0


def test_with_every_server_cooling_the_wait_is_until_the_earliest_returns() -> None:
    group = servers()
    cool(group, 0, now=0.0, retry_after_s=5.0)
    cool(group, 1, now=0.0, retry_after_s=3.0)
    cool(group, 2, now=0.0, retry_after_s=4.0)
    assert group.choose(None, (), 1.0, random.random) == pytest.approx(2.0)
    slot = take(group, now=3.0)
    assert slot.index == 1 and slot.probe


def test_while_the_only_returning_server_is_probed_others_look_again_soon() -> None:
    group = servers(A, B)
    cool(group, 0, now=0.0, retry_after_s=2.0)
    cool(group, 1, now=0.0, retry_after_s=50.0)
    take(group, now=2.0)  # the probe of server 0
    assert group.choose(None, (), 2.0, random.random) == PROBE_POLL_S


# Models


def test_a_server_without_the_model_is_not_asked_for_it_until_it_lists_it() -> None:
    group = servers(A, B)
    group.lacks_model(0, "llama", now=0.0)
    for _ in range(10):
        slot = take(group, model="llama")
        assert slot.index == 1
        group.finish(slot, Verdict.UP, 0.0, 0.5)
    assert take(group, model="other", tried=(1,)).index == 0  # other models still go there
    assert group.statuses(0.0)[0].missing_models == ("llama",)
    assert group.listing_due("llama", now=10.0) is None
    assert group.listing_due("llama", now=31.0) == 0
    assert group.listing_due("llama", now=31.0) is None  # one reader at a time
    group.listed(0, ["llama", "mistral"])
    assert group.statuses(31.0)[0].missing_models == ()


def test_when_no_server_lists_the_model_they_are_all_asked_anyway() -> None:
    group = servers(A, B)
    group.lacks_model(0, "ghost", now=0.0)
    group.lacks_model(1, "ghost", now=0.0)
    assert isinstance(group.choose("ghost", (), 0.0, random.random), Slot)


def test_a_404_for_a_model_is_told_from_a_404_for_a_path() -> None:
    request = httpx.Request("POST", A + "/v1/chat/completions")
    missing = httpx.Response(
        404,
        json={"error": {"message": "The model `llama` does not exist.", "code": 404}},
        request=request,
    )
    coded = httpx.Response(404, json={"error": {"code": "model_not_found"}}, request=request)
    route = httpx.Response(404, json={"detail": "Not Found"}, request=request)
    assert model_not_found(missing, "llama") and model_not_found(coded, "llama")
    assert not model_not_found(route, "llama")
    assert not model_not_found(missing, None)


def test_verdicts() -> None:
    request = httpx.Request("POST", A)
    for status in (429, 502, 503, 504):
        assert verdict_of(httpx.Response(status, request=request)) == Verdict.DOWN
    for status in (200, 400, 404, 500):
        assert verdict_of(httpx.Response(status, request=request)) == Verdict.UP
    assert verdict_of(failure_of(httpx.ConnectError("refused", request=request))) == Verdict.DOWN
    assert verdict_of(failure_of(httpx.ConnectTimeout("slow", request=request))) == Verdict.DOWN
    assert (
        verdict_of(failure_of(httpx.RemoteProtocolError("gone", request=request))) == Verdict.DOWN
    )
    assert verdict_of(failure_of(httpx.ReadTimeout("slow", request=request))) == Verdict.UNKNOWN
    assert verdict_of(failure_of(httpx.PoolTimeout("ours", request=request))) == Verdict.UNKNOWN


# Fresh state in other processes


def test_a_pickled_set_starts_fresh() -> None:
    group = servers()
    cool(group, 0, now=0.0)
    take(group)
    copy = pickle.loads(pickle.dumps(group))
    assert copy.servers == group.servers
    assert [s.attempts for s in copy.statuses(0.0)] == [0, 0, 0]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_fresh() -> None:
    group = servers()
    cool(group, 0, now=0.0)
    take(group)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        fresh = all(s.attempts == 0 and s.in_flight == 0 for s in group.statuses(0.0))
        os.write(write, b"1" if fresh else b"0")
        os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 1) == b"1"
    finally:
        os.close(read)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):  # pragma: no cover
            pytest.fail(f"child died of {signal.Signals(os.WTERMSIG(status)).name}")


# Properties

Event = st.tuples(
    st.sampled_from(["take", "finish"]),
    st.sampled_from([Verdict.UP, Verdict.DOWN, Verdict.UNKNOWN]),
    st.floats(0.0, 5.0),  # time passing
    st.one_of(st.none(), st.floats(0.0, 100.0)),  # Retry-After
    st.floats(0.0, 1.0),  # randomness
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(Event, max_size=60), st.integers(2, 4))
def test_any_sequence_keeps_the_books_straight(events: List[tuple], size: int) -> None:
    policy = Cooldown(base_s=0.5, max_s=8.0, jitter=0.2)
    group = ServerSet([Server(f"http://s{i}:8000") for i in range(size)], policy)
    now = 0.0
    held: List[Slot] = []
    for kind, verdict, step, asked, unit in events:
        now += step
        if kind == "take":
            choice = group.choose(None, (), now, cycle(unit))
            if isinstance(choice, Slot):
                held.append(choice)
            else:
                # Nowhere to go: every server is cooling or probed, and the wait is bounded.
                assert 0.0 <= choice <= max(100.0, policy.max_s * (1 + policy.jitter))
                assert all(s.state != "healthy" for s in group.statuses(now))
        elif held:
            before = group.statuses(now)[held[0].index].cooling_for_s
            slot = held.pop(0)
            group.finish(slot, verdict, now, unit, asked)
            after = group.statuses(now)[slot.index]
            if verdict != Verdict.UP or not slot.probe:
                assert after.cooling_for_s >= before  # only a probe's success shortens it
            if asked is not None and asked > 0:
                assert after.cooling_for_s >= min(asked, 600.0) - 1e-9
        statuses = group.statuses(now)
        assert sum(s.in_flight for s in statuses) == len(held)
        assert sum(s.state == "probing" for s in statuses) <= sum(slot.probe for slot in held)
    for slot in held:
        group.release(slot)
        group.release(slot)  # twice is harmless
    assert all(s.in_flight == 0 and s.state != "probing" for s in group.statuses(now))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.floats(0.0, 1.0))
def test_a_cooldown_never_passes_its_cap_nor_shrinks_as_failures_grow(
    trips: int, unit: float
) -> None:
    policy = Cooldown(base_s=0.5, max_s=10.0, jitter=0.2)
    assert 0.4 <= policy.length_s(trips, unit) <= 10.0
    assert policy.length_s(trips + 1, unit) >= policy.length_s(trips, unit)


def test_a_held_slot_stays_in_flight_until_let_go() -> None:
    group = servers(A, B)
    slot = take(group)
    group.finish(slot, Verdict.UP, 0.0, 0.5, hold=True)
    assert group.statuses(0.0)[slot.index].in_flight == 1
    group.let_go(slot)
    group.let_go(slot)  # twice is harmless
    assert group.statuses(0.0)[slot.index].in_flight == 0
