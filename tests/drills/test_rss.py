"""Memory over a long run: 50,000 calls on one client, and the process does not grow."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, List

from babyapi import BabyAPI
from drills.measure import rss_mb  # pyright: ignore[reportImplicitRelativeImport]

CALLS = 50_000
CHECKPOINT = 5_000
THREADS = 4
WARM_UP = 10_000  # allocator pools, caches and the pool's connections settle by then
MAX_GROWTH_MB = 2.0
DRILL = f"RSS over {CALLS:,} calls, one client"
MESSAGES = [{"role": "user", "content": "Hello there."}]


def calls(client: BabyAPI, n: int) -> None:
    """n calls of the everyday kinds: mostly chat, some embeddings and streams."""
    for i in range(n):
        if i % 10 == 0:
            client.embeddings.create(model="qwen3-embedding", input=f"text {i}")
        elif i % 10 == 1:
            for _ in client.chat.completions.stream(
                model="mistral", messages=MESSAGES, max_tokens=4
            ).text_deltas():
                pass
        else:
            client.chat.completions.create(model="mistral", messages=MESSAGES, max_tokens=4)


def test_rss_is_flat_across_fifty_thousand_calls(
    make_client: Callable[..., Any], figures: Any
) -> None:
    client: BabyAPI = make_client()
    samples: List[float] = []
    began = time.perf_counter()
    for _ in range(CALLS // CHECKPOINT):
        threads = [
            threading.Thread(target=calls, args=(client, CHECKPOINT // THREADS))
            for _ in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        samples.append(rss_mb())
    elapsed = time.perf_counter() - began

    settled = samples[WARM_UP // CHECKPOINT - 1]
    growth = samples[-1] - settled
    figures.add(DRILL, f"RSS after {WARM_UP:,} calls", f"{settled:.1f} MB")
    figures.add(DRILL, f"RSS after {CALLS:,} calls", f"{samples[-1]:.1f} MB")
    figures.add(DRILL, f"growth over the last {CALLS - WARM_UP:,} calls", f"{growth:+.2f} MB")
    figures.add(DRILL, "throughput", f"{CALLS / elapsed:,.0f} calls/s ({elapsed:.0f} s)")
    assert growth <= MAX_GROWTH_MB, [f"{s:.2f}" for s in samples]
