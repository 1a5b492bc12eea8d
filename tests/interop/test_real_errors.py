"""Errors from real servers: typed, with the server's request id, and timeouts on slow work."""

from __future__ import annotations

from typing import Any

import pytest
from real_servers import Record, ServerDriver, Target, require_servers  # pyright: ignore[reportImplicitRelativeImport]

from babyapi import APITimeoutError, BabyAPIError, BadRequestError, NotFoundError

require_servers()

HELLO = [{"role": "user", "content": "Say hello to the world."}]
# Far more tokens than the tiny model writes in the time limits below. Both servers take
# ignore_eos, so the tiny model cannot end early (it did once, under a deadline of 0.1 s).
SLOW = {"messages": HELLO, "max_tokens": 1900, "temperature": 0, "extra_body": {"ignore_eos": True}}


@pytest.mark.feature("unknown-model")
def test_unknown_model(target: Target, driver: ServerDriver, record: Record) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.call(
            lambda c: c.chat.completions.create(model="no-such-model", messages=HELLO, max_tokens=2)
        )
    error = info.value
    # Both send OpenAI's shape with an integer `code`; the SDK reports codes as strings.
    if target.name == "llama.cpp":
        # The router answers 400, not OpenAI's 404.
        assert type(error) is BadRequestError and error.status == 400
        assert (error.message, error.type, error.code) == (
            "model 'no-such-model' not found",
            "invalid_request_error",
            "400",
        )
        record.note("an unknown model is 400 (`BadRequestError`), not 404")
    else:
        assert type(error) is NotFoundError and error.status == 404
        assert error.message.startswith("The model `no-such-model` does not exist.")
        assert (error.type, error.code) == ("NotFoundError", "404")
        assert error.details["error"]["param"] == "model"
    record.note("error bodies carry `code` as an integer HTTP status; `err.code` is its string")


@pytest.mark.feature("bad-parameter")
def test_bad_parameter(target: Target, driver: ServerDriver, record: Record) -> None:
    with pytest.raises(BadRequestError) as info:
        driver.call(
            lambda c: c.chat.completions.create(
                model=target.chat.model, messages=HELLO, max_tokens=-5
            )
        )
    error = info.value
    assert error.status == 400 and error.code == "400"
    assert "max_tokens" in error.message
    assert error.type == (
        "invalid_request_error" if target.name == "llama.cpp" else "BadRequestError"
    )


@pytest.mark.feature("request-id")
def test_errors_carry_the_servers_request_id(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.call(
            lambda c: c.chat.completions.create(model="no-such-model", messages=HELLO, max_tokens=2)
        )
    error = info.value
    headers = error.response.headers
    if target.name == "llama.cpp":
        # llama-server names no request: the error reports the id the SDK sent with the call.
        sent = error.response.request.headers["x-request-id"]
        assert "x-request-id" not in headers and error.request_id == sent
        record.lacks_it(f"HTTP {error.status} with headers: {', '.join(sorted(headers))}")
        return
    # vLLM sends one with --enable-request-id-headers, which `make interop` passes.
    assert error.request_id and error.request_id == headers["x-request-id"]


@pytest.mark.feature("timeout")
def test_timeout_cuts_a_slow_generation(target: Target, driver: ServerDriver) -> None:
    def ask(c: Any) -> Any:
        return c.chat.completions.create(
            model=target.chat.model, request_options={"timeout_s": 0.05}, **SLOW
        )

    with pytest.raises(APITimeoutError) as info:
        driver.call(ask)
    assert info.value.code == "TIMEOUT"
    assert "timed out after 0.05s" in info.value.message
    # The request was sent and the server may still be generating: not sent again.
    assert info.value.attempts == 1
    driver_recovers(target, driver)


@pytest.mark.feature("deadline")
def test_deadline_bounds_the_whole_call(target: Target, driver: ServerDriver) -> None:
    def ask(c: Any) -> Any:
        return c.chat.completions.create(
            model=target.chat.model,
            request_options={"deadline_s": 0.1, "timeout_s": 30.0, "max_retries": 3},
            **SLOW,
        )

    with pytest.raises(APITimeoutError) as info:
        driver.call(ask)
    # timeout_s is 30 s: only the deadline can have cut this call short.
    assert info.value.code == "TIMEOUT"
    assert info.value.attempts == 1
    driver_recovers(target, driver)


def driver_recovers(target: Target, driver: ServerDriver) -> None:
    """After a cut request the same client gets a normal answer."""
    after = driver.call(
        lambda c: c.chat.completions.create(model=target.chat.model, messages=HELLO, max_tokens=2)
    )
    assert after["usage"]["completion_tokens"] == 2
