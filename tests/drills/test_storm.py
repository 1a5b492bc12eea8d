"""A failure storm: the server answers 503 to everything. How many attempts reach it per call?"""

from __future__ import annotations

import threading
from typing import Any, List, Optional

from babyapi import BabyAPI, InternalServerError, RetryBudget
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

THREADS = 8
CALLS_PER_THREAD = 100
CALLS = THREADS * CALLS_PER_THREAD
MAX_RETRIES = 2
DRILL = f"storm: 503 to everything, {CALLS} calls, max_retries={MAX_RETRIES}"
MESSAGES = [{"role": "user", "content": "Are you there?"}]


def storm(base_url: str, budget: Optional[RetryBudget]) -> List[BaseException]:
    """Every call of every thread, against a server that fails them all; the errors raised."""
    # Backoff waits are skipped (base 0): they change when attempts arrive, not how many.
    client = BabyAPI(
        api_key="storm-key",
        base_url=base_url,
        max_retries=MAX_RETRIES,
        retry_base_delay_s=0.0,
        retry_budget=budget,
    )
    errors: List[BaseException] = []

    def work() -> None:
        for _ in range(CALLS_PER_THREAD):
            try:
                client.chat.completions.create(model="mistral", messages=MESSAGES)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    return errors


def test_a_retry_budget_bounds_the_storm(figures: Any) -> None:
    overloaded = Reply.json(
        {"error": {"message": "overloaded", "type": "server_error"}}, status=503
    )
    results = {}
    for name, budget in (("no budget", None), ("default budget", RetryBudget())):
        with ScriptedServer() as server:
            server.script(overloaded)
            errors = storm(server.base_url, budget)
            reached = len(server.requests)
        assert len(errors) == CALLS
        assert all(isinstance(e, InternalServerError) and e.status == 503 for e in errors)
        fast = sum(getattr(e, "code", None) == "RETRY_BUDGET_EXHAUSTED" for e in errors)
        results[name] = (reached, fast)
        figures.add(
            DRILL, f"attempts reaching the server per call, {name}", f"{reached / CALLS:.2f}"
        )
        figures.add(DRILL, f"calls stopped by the budget, {name}", fast)

    reached, fast = results["no budget"]
    assert reached == CALLS * (MAX_RETRIES + 1)
    assert fast == 0
    # The default budget: 10 retries plus 0.2 per call, whatever the threads do.
    reached, fast = results["default budget"]
    assert CALLS < reached <= CALLS + 10 + 0.2 * CALLS
    assert fast > CALLS / 2
