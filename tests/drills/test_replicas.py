"""Three servers, one client: a server killed and restarted, one slowed, all three down at once.

Each run makes 10,000 chat calls against three local servers (each its own process), paced at
RATE calls a second so that the timeline below plays out inside the run, by 64 tasks on one
``AsyncBabyAPI`` or 16 threads on one ``BabyAPI``:

- at KILL_AT_S one server is killed (SIGKILL) and DOWN_FOR_S later started again, same port;
- from SLOW_FROM_S to SLOW_UNTIL_S every request to another server carries the fault header
  ``x-babyapi-fault: hang=...``: that server answers late;
- a baseline run of each kind, with no faults, gives the figures to compare against.

A last run takes all three servers down at once for ALL_DOWN_FOR_S, while calls with
``deadline_s=10`` keep coming: they must wait and succeed once a server is back.

An httpx event hook on the client's own http_client sees every attempt (to count them per
server) and adds the fault header for the slowed server; the balancer never knows.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import httpx
import pytest

from babyapi import AsyncBabyAPI, BabyAPI, BabyAPIError
from server_process import ServerProcess  # pyright: ignore[reportImplicitRelativeImport]

DRILL_KEY = "drill-key"
Figures = Any
CALLS = 10_000
RATE = 360  # calls a second: about 28 s a run, long enough for the timeline below
TASKS = 64
THREADS = 16
KILL_AT_S = 6.0
DOWN_FOR_S = 5.0
SLOW_FROM_S, SLOW_UNTIL_S = 16.0, 22.0
HANG = "hang=0.2"
ALL_DOWN_CALLS = 3_000
ALL_DOWN_RATE = 200
ALL_DOWN_AT_S, ALL_DOWN_FOR_S = 4.0, 3.0
DEADLINE_S = 10.0
MESSAGES = [{"role": "user", "content": "Say something short."}]
DRILL = "replicas: 3 servers, 10,000 chat calls"


class Timeline:
    """What happened when, seen from the client: attempts per server, calls and their latency."""

    def __init__(self, slow_port: Optional[int]) -> None:
        self.start = time.monotonic()
        self.slow_port = slow_port
        self.slow = False
        self._lock = threading.Lock()
        self.attempts: List[Tuple[float, int]] = []  # (seconds into the run, server port)
        self.calls: List[Tuple[float, float]] = []  # (started at, latency)
        self.errors: List[BaseException] = []
        self.back_at: Optional[float] = None  # when the killed server listened again

    def now(self) -> float:
        return time.monotonic() - self.start

    def on_request(self, request: httpx.Request) -> None:
        port = request.url.port or 80
        with self._lock:
            self.attempts.append((self.now(), port))
        if self.slow and port == self.slow_port:
            request.headers["x-babyapi-fault"] = HANG

    async def on_request_async(self, request: httpx.Request) -> None:
        self.on_request(request)

    def record(self, started: float, error: Optional[BaseException]) -> None:
        with self._lock:
            self.calls.append((started, self.now() - started))
            if error is not None:
                self.errors.append(error)

    def attempts_to(self, port: int, since: float = 0.0, until: float = float("inf")) -> int:
        return sum(1 for t, p in self.attempts if p == port and since <= t < until)

    def shares(self, ports: List[int], until: float) -> List[float]:
        counts = [self.attempts_to(port, until=until) for port in ports]
        total = sum(counts) or 1
        return [count / total for count in counts]

    def p99_ms(self, since: float = 0.0, until: float = float("inf")) -> float:
        latencies = sorted(lat for t, lat in self.calls if since <= t < until)
        if len(latencies) < 100:
            return float("nan")
        return statistics.quantiles(latencies, n=100)[98] * 1000


def conduct(timeline: Timeline, servers: List[ServerProcess], *, faults: bool) -> threading.Thread:
    """The fault timeline, run in its own thread: kill, restart, slow, and back to normal."""

    def play() -> None:
        if not faults:
            return
        killed = servers[0]
        sleep_until(timeline, KILL_AT_S)
        killed.kill()
        sleep_until(timeline, KILL_AT_S + DOWN_FOR_S)
        killed.start()
        timeline.back_at = timeline.now()
        sleep_until(timeline, SLOW_FROM_S)
        timeline.slow = True
        sleep_until(timeline, SLOW_UNTIL_S)
        timeline.slow = False

    thread = threading.Thread(target=play, name="replicas-drill-conductor")
    thread.start()
    return thread


def sleep_until(timeline: Timeline, at: float) -> None:
    time.sleep(max(0.0, at - timeline.now()))


def run_async(
    urls: List[str], timeline: Timeline, calls: int, rate: float, **settings: Any
) -> None:
    async def main() -> None:
        hooks = {"request": [timeline.on_request_async]}
        async with httpx.AsyncClient(event_hooks=hooks, timeout=60.0) as http:
            client = AsyncBabyAPI(api_key=DRILL_KEY, base_url=urls, http_client=http, **settings)
            numbers = itertools.count()

            async def worker() -> None:
                for index in numbers:
                    if index >= calls:
                        return
                    await asyncio.sleep(max(0.0, index / rate - timeline.now()))
                    started = timeline.now()
                    try:
                        await client.chat.completions.create(
                            model="mistral", messages=MESSAGES, max_tokens=8
                        )
                    except BabyAPIError as error:
                        timeline.record(started, error)
                    else:
                        timeline.record(started, None)

            await asyncio.gather(*(worker() for _ in range(TASKS)))
            await client.aclose()

    asyncio.run(main())


def run_sync(urls: List[str], timeline: Timeline, calls: int, rate: float, **settings: Any) -> None:
    with httpx.Client(event_hooks={"request": [timeline.on_request]}, timeout=60.0) as http:
        client = BabyAPI(api_key=DRILL_KEY, base_url=urls, http_client=http, **settings)
        numbers = itertools.count()
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    index = next(numbers)
                if index >= calls:
                    return
                time.sleep(max(0.0, index / rate - timeline.now()))
                started = timeline.now()
                try:
                    client.chat.completions.create(model="mistral", messages=MESSAGES, max_tokens=8)
                except BabyAPIError as error:
                    timeline.record(started, error)
                else:
                    timeline.record(started, None)

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()


RUNNERS: Dict[str, Callable[..., None]] = {
    "async, 64 tasks": run_async,
    "sync, 16 threads": run_sync,
}


@pytest.fixture
def three() -> Any:
    servers = [ServerProcess(DRILL_KEY) for _ in range(3)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.close()


@pytest.mark.parametrize("kind", list(RUNNERS))
def test_a_killed_and_a_slow_server_cost_no_call(
    kind: str, three: List[ServerProcess], figures: Figures
) -> None:
    urls = [server.base_url for server in three]
    ports = [server.port for server in three]
    run = RUNNERS[kind]
    drill = f"{DRILL} ({kind})"

    calm = Timeline(slow_port=None)
    run(urls, calm, CALLS, RATE)
    assert calm.errors == []

    timeline = Timeline(slow_port=ports[1])
    conductor = conduct(timeline, three, faults=True)
    try:
        run(urls, timeline, CALLS, RATE)
    finally:
        conductor.join()
    assert timeline.back_at is not None
    errors = timeline.errors
    figures.add(drill, "calls failed (target 0)", f"{len(errors)} of {CALLS:,}")
    figures.add(drill, "attempts per call", f"{len(timeline.attempts) / CALLS:.3f}")
    back = timeline.attempts_to(ports[0], since=timeline.back_at)
    after = sum(1 for t, _ in timeline.attempts if t >= timeline.back_at)
    figures.add(
        drill,
        f"killed server's attempts after it came back ({timeline.back_at - KILL_AT_S:.1f} s down)",
        f"{back:,} of {after:,} ({back / max(after, 1):.0%})",
    )
    healthy = timeline.shares(ports, until=KILL_AT_S)
    spread = max(abs(share * 3 - 1) for share in healthy)
    figures.add(
        drill,
        "shares while all were healthy (first 6 s)",
        " / ".join(f"{share:.1%}" for share in healthy) + f" (at most {spread:.1%} off equal)",
    )
    calm_shares = calm.shares(ports, until=float("inf"))
    calm_spread = max(abs(share * 3 - 1) for share in calm_shares)
    figures.add(
        drill,
        "shares in the run without faults",
        " / ".join(f"{share:.1%}" for share in calm_shares) + f" (at most {calm_spread:.1%} off)",
    )
    slow_share = timeline.attempts_to(ports[1], SLOW_FROM_S, SLOW_UNTIL_S) / max(
        1, sum(1 for t, _ in timeline.attempts if SLOW_FROM_S <= t < SLOW_UNTIL_S)
    )
    figures.add(drill, f"slow server's share while slowed ({HANG})", f"{slow_share:.1%}")
    figures.add(
        drill,
        "p99 latency: without faults / this run / while one server was slow",
        f"{calm.p99_ms():.0f} ms / {timeline.p99_ms():.0f} ms / "
        f"{timeline.p99_ms(SLOW_FROM_S, SLOW_UNTIL_S):.0f} ms",
    )
    assert errors == [], errors[:3]
    assert back > 0
    assert spread <= 0.15 and calm_spread <= 0.15


def test_all_servers_down_for_3_s_cost_no_call_with_a_deadline(
    three: List[ServerProcess], figures: Figures
) -> None:
    urls = [server.base_url for server in three]
    timeline = Timeline(slow_port=None)

    def outage() -> None:
        sleep_until(timeline, ALL_DOWN_AT_S)
        for server in three:
            server.kill()
        sleep_until(timeline, ALL_DOWN_AT_S + ALL_DOWN_FOR_S)
        for server in three:
            server.start()
        timeline.back_at = timeline.now()

    conductor = threading.Thread(target=outage, name="replicas-drill-outage")
    conductor.start()
    try:
        run_async(urls, timeline, ALL_DOWN_CALLS, ALL_DOWN_RATE, deadline_s=DEADLINE_S)
    finally:
        conductor.join()
    drill = f"replicas: all 3 servers down for {ALL_DOWN_FOR_S:g} s, {ALL_DOWN_CALLS:,} calls"
    figures.add(drill, "calls failed (deadline_s=10; target 0)", len(timeline.errors))
    figures.add(drill, "attempts per call", f"{len(timeline.attempts) / ALL_DOWN_CALLS:.3f}")
    slowest = max(latency for _, latency in timeline.calls)
    figures.add(drill, "longest call (waited for a server to return)", f"{slowest:.1f} s")
    assert timeline.errors == [], timeline.errors[:3]
