"""Errors by meaning, retries and deadlines, rehearsed with the local server's fault drills."""

from __future__ import annotations

from babyapi import APITimeoutError, BabyAPI, InternalServerError, NotFoundError, RateLimitError

MESSAGES = [{"role": "user", "content": "Hello."}]


def fault(spec: str) -> dict[str, object]:
    """Request options that ask the local server to misbehave (see README: fault drills)."""
    return {"headers": {"x-babyapi-fault": spec}}


with BabyAPI(retry_base_delay_s=0.05) as client:
    # Two failures, then success: the retries reuse one Idempotency-Key.
    res = client.chat.completions.create(
        request_options=fault("fail-first=2"), model="mistral", messages=MESSAGES
    )
    print("after two 503s:", res["choices"][0]["message"]["content"][:40], "...")

    try:
        client.chat.completions.create(
            request_options=fault("html-502"), model="mistral", messages=MESSAGES
        )
    except InternalServerError as err:
        print("proxy page:", err.message, f"(status {err.status}, tried {err.attempts} times)")

    try:
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    except NotFoundError as err:
        print("unknown model:", err.message, "| request id:", err.request_id)

    try:
        client.chat.completions.create(
            request_options={**fault("429;retry-after=1"), "max_retries": 0},
            model="mistral",
            messages=MESSAGES,
        )
    except RateLimitError as err:
        print("rate limited; the server asks to wait", err.retry_after, "s")

    try:
        client.chat.completions.create(
            request_options={**fault("hang=3"), "timeout_s": 0.3, "deadline_s": 1.0},
            model="mistral",
            messages=MESSAGES,
        )
    except APITimeoutError as err:
        print("timeout:", err.code, "-", err.message)
