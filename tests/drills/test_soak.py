"""A soak: thousands of calls, one in ten with a fault from every item of the server's fault menu.

Every call must end as it should: a recoverable fault recovered within ``max_retries``, a fault
that cannot be recovered surfaced as the right ``BabyAPIError``, and nothing else ever raised.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Type

import httpx

from babyapi import (
    APIConnectionError,
    APITimeoutError,
    BabyAPI,
    BabyAPIError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)
from drills.conftest import DRILL_KEY  # pyright: ignore[reportImplicitRelativeImport]

CALLS = 5_000
FAULT_SHARE = 0.10
THREADS = 16
MAX_RETRIES = 2
TIMEOUT_S = 1.0
DRILL = f"soak: {CALLS:,} calls, {FAULT_SHARE:.0%} with injected faults"

MESSAGES = [{"role": "user", "content": "Tell me about the weather."}]
Endpoint = Callable[[BabyAPI, Dict[str, Any]], Any]

ENDPOINTS: Dict[str, Endpoint] = {
    "chat": lambda c, o: c.chat.completions.create(
        model="mistral", messages=MESSAGES, max_tokens=8, request_options=o
    ),
    "completion": lambda c, o: c.completions.create(
        model="mistral", prompt="The weather", max_tokens=8, request_options=o
    ),
    "infer": lambda c, o: c.baby.infer(
        "The weather", model="mistral", max_tokens=8, request_options=o
    ),
    "embed": lambda c, o: c.embeddings.create(
        model="qwen3-embedding", input="weather", request_options=o
    ),
    "rerank": lambda c, o: c.rerank.create(
        model="qwen3-reranker", query="weather", documents=["rain", "sun"], request_options=o
    ),
    "models": lambda c, o: c.models.list(request_options=o),
    "chat-stream": lambda c, o: c.chat.completions.stream(
        model="mistral", messages=MESSAGES, max_tokens=8, request_options=o
    ).final(),
    "completion-stream": lambda c, o: c.completions.stream(
        model="mistral", prompt="The weather", max_tokens=8, request_options=o
    ).final(),
}


class Fault(NamedTuple):
    """One drill of the fault menu on one endpoint, and how the call must end."""

    endpoint: str
    spec: str
    attempts: int  # exactly how many requests the call sends
    error: Optional[Type[BabyAPIError]] = None  # None: the call must succeed
    code: Optional[str] = None


HANG_LONG = f"hang={TIMEOUT_S + 0.3:g}"
FAULTS = [
    # Recoverable: the call succeeds, within max_retries.
    Fault("chat", "fail-first=1;503", 2),
    Fault("completion", "fail-first=2;500", 3),
    Fault("infer", "fail-first=1;429;retry-after=0", 2),
    Fault("chat", "fail-first=1;reset", 2),
    Fault("embed", "fail-first=1;html-502", 2),
    Fault("rerank", "fail-first=2;status=502", 3),
    Fault("embed", "fail-first=1;408", 2),
    Fault("completion", "fail-first=1;409", 2),
    Fault("chat", "fail-first=1;504", 2),
    Fault("models", "hang=0.05", 1),
    Fault("chat", "hang=0.05", 1),
    Fault("chat-stream", "chunk-delay=0.005", 1),
    # Not recoverable: the right error, after the right number of attempts.
    Fault("chat", "400", 1, BadRequestError),
    Fault("embed", "503", 3, InternalServerError),
    Fault("rerank", "html-502", 3, InternalServerError),
    Fault("infer", "reset", 3, APIConnectionError, "CONNECTION_ERROR"),
    Fault("chat", "429;retry-after=120", 1, RateLimitError),
    Fault("chat", HANG_LONG, 1, APITimeoutError, "TIMEOUT"),  # generation: not retried
    Fault("embed", HANG_LONG, 3, APITimeoutError, "TIMEOUT"),
    Fault("chat-stream", "stream-cut-after=2", 1, APIConnectionError, "STREAM_INTERRUPTED"),
    Fault("completion-stream", "stream-error-after=2", 1, InternalServerError),
    Fault("chat-stream", "fail-first=1;stream-cut-after=1", 1, APIConnectionError),
]


class Outcome(NamedTuple):
    fault: Optional[Fault]
    attempts: int
    error: Optional[BaseException]


def plan_calls(seed: int = 12) -> List[Tuple[str, Optional[Fault]]]:
    """Which endpoint each call uses and which fault it carries, every fault equally often."""
    rng = random.Random(seed)
    faulted = int(CALLS * FAULT_SHARE)
    calls: List[Tuple[str, Optional[Fault]]] = [
        (FAULTS[i % len(FAULTS)].endpoint, FAULTS[i % len(FAULTS)]) for i in range(faulted)
    ]
    names = sorted(ENDPOINTS)
    calls += [(names[i % len(names)], None) for i in range(CALLS - faulted)]
    rng.shuffle(calls)
    return calls


def test_soak_every_fault_ends_as_it_should(drill_server: Any, figures: Any) -> None:
    attempts: Dict[str, int] = collections.Counter()
    lock = threading.Lock()

    def count(request: httpx.Request) -> None:
        with lock:
            attempts[request.headers.get("x-soak-call", "")] += 1

    http = httpx.Client(event_hooks={"request": [count]})
    client = BabyAPI(
        api_key=DRILL_KEY,
        base_url=drill_server.base_url,
        max_retries=MAX_RETRIES,
        timeout_s=TIMEOUT_S,
        # Short waits keep the soak to seconds; the retry decisions are the same.
        retry_base_delay_s=0.01,
        http_client=http,
    )
    calls = plan_calls()
    outcomes: List[Optional[Outcome]] = [None] * len(calls)
    cursor = iter(range(len(calls)))
    cursor_lock = threading.Lock()

    def work() -> None:
        while True:
            with cursor_lock:
                index = next(cursor, None)
            if index is None:
                return
            endpoint, fault = calls[index]
            headers = {"x-soak-call": str(index)}
            if fault is not None:
                headers["x-babyapi-fault"] = fault.spec
            error: Optional[BaseException] = None
            try:
                ENDPOINTS[endpoint](client, {"headers": headers})
            except BaseException as exc:
                error = exc
            outcomes[index] = Outcome(fault, attempts[str(index)], error)

    began = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    http.close()

    done = [o for o in outcomes if o is not None]
    raw = [o.error for o in done if o.error is not None and not isinstance(o.error, BabyAPIError)]
    clean_failures = [o for o in done if o.fault is None and o.error is not None]
    recoverable = [o for o in done if o.fault is not None and o.fault.error is None]
    recovered = [o for o in recoverable if o.error is None and o.attempts == _planned(o)]
    expected = [o for o in done if o.fault is not None and o.fault.error is not None]
    surfaced = [o for o in expected if _ends_as_planned(o)]
    figures.add(DRILL, "fault drills", f"{len(FAULTS)}, covering all {len(MENU)} menu items")
    figures.add(DRILL, "raw (non-BabyAPIError) exceptions", len(raw))
    figures.add(DRILL, "unfaulted calls that failed", len(clean_failures))
    figures.add(
        DRILL,
        "recoverable faults recovered within max_retries",
        f"{len(recovered)} of {len(recoverable)}",
    )
    figures.add(
        DRILL, "other faults raised as the right error", f"{len(surfaced)} of {len(expected)}"
    )
    figures.add(DRILL, "wall time", f"{elapsed:.1f} s")

    assert menu_items_used() == MENU
    assert len(done) == CALLS
    assert raw == [], raw[:3]
    assert clean_failures == [], [o.error for o in clean_failures[:3]]
    assert len(recovered) == len(recoverable), [
        (o.fault, o.attempts, o.error) for o in recoverable if o not in recovered
    ][:3]
    assert len(surfaced) == len(expected), [
        (o.fault, o.attempts, repr(o.error)) for o in expected if o not in surfaced
    ][:3]


# Every item of the fault menu (see babyapi.server.faults).
MENU = {
    "status",
    "retry-after",
    "hang",
    "reset",
    "html-502",
    "stream-error-after",
    "stream-cut-after",
    "chunk-delay",
    "fail-first",
}


def menu_items_used() -> set[str]:
    names = {item.partition("=")[0] for fault in FAULTS for item in fault.spec.split(";")}
    return {"status" if name.isdigit() else name for name in names}


def _planned(outcome: Outcome) -> int:
    assert outcome.fault is not None
    return outcome.fault.attempts


def _ends_as_planned(outcome: Outcome) -> bool:
    fault, error = outcome.fault, outcome.error
    assert fault is not None and fault.error is not None
    if not isinstance(error, fault.error):
        return False
    if fault.code is not None and error.code != fault.code:
        return False
    if outcome.attempts != fault.attempts:
        return False
    return error.attempts in (None, fault.attempts)
