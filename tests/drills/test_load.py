"""Many threads on one client: every answer belongs to the call that asked for it."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, List

from babyapi import BabyAPI

THREADS = 16
CALLS_PER_THREAD = 1_000
DRILL = f"{THREADS} threads x {CALLS_PER_THREAD:,} calls, one client"


def test_threads_share_one_client_without_crossing_answers(
    make_client: Callable[..., Any], figures: Any
) -> None:
    client: BabyAPI = make_client()
    errors: List[BaseException] = []
    crossed: List[str] = []
    done = [0] * THREADS
    start = threading.Barrier(THREADS)

    def work(thread: int) -> None:
        start.wait()
        for call in range(CALLS_PER_THREAD):
            # The server echoes the prompt (echo=True), so each answer names its own question.
            prompt = f"drill thread {thread} call {call} asks"
            try:
                answer = client.completions.create(
                    model="mistral", prompt=prompt, max_tokens=3, echo=True
                )
            except Exception as exc:
                errors.append(exc)
                continue
            text = answer["choices"][0]["text"]
            if not text.startswith(prompt):
                crossed.append(f"{prompt!r} got {text!r}")
            done[thread] += 1

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began

    total = THREADS * CALLS_PER_THREAD
    figures.add(DRILL, "calls answered", f"{sum(done):,} of {total:,}")
    figures.add(DRILL, "errors", len(errors))
    figures.add(DRILL, "crossed answers", len(crossed))
    figures.add(DRILL, "throughput", f"{total / elapsed:,.0f} calls/s ({elapsed:.1f} s)")
    assert errors == [], errors[:3]
    assert crossed == [], crossed[:3]
    assert sum(done) == total
