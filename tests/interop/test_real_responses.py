"""The Responses API on real servers: create, stream, parse, tools, storage (retrieve, cancel,
previous_response_id) and background responses.

vLLM stores responses only when started with VLLM_ENABLE_RESPONSES_API_STORE=1, which
`make interop` sets; a server without the route records the feature as lacking, quoting it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from real_servers import Record, ServerDriver, Target, require_servers  # pyright: ignore[reportImplicitRelativeImport]

from babyapi import (
    APIStatusError,
    BabyAPIError,
    BadRequestError,
    NotFoundError,
    StructuredOutputError,
    ToolError,
)

require_servers()

# The route's absence: a 404 for the path (llama-server, older vLLM), or a 405/501.
MISSING_ROUTE = (404, 405, 501)


@dataclass
class Verdict:
    """Only closed choices: even a random-weight model finishes this object within the limit."""

    size: Literal["big", "small"]
    ok: bool
    level: Literal[1, 2, 3]


def lookup(word: str) -> str:
    """Look a word up.

    Args:
        word: The word to look up.
    """
    return f"found {word}"


def create(c: Any, target: Target, **body: Any) -> Any:
    body.setdefault("input", "Say something short.")
    body.setdefault("max_output_tokens", 16)
    return c.responses.create(model=target.chat.model, temperature=0, **body)


def created_or_lacking(driver: ServerDriver, record: Record, target: Target) -> Any:
    """A first response, or None when the server has no /v1/responses (recorded)."""
    try:
        return driver.call(lambda c: create(c, target))
    except APIStatusError as err:
        if err.status in MISSING_ROUTE:
            record.lacks_it(err)
            return None
        raise


@pytest.mark.feature("responses-create")
def test_create_answers_with_text(target: Target, driver: ServerDriver, record: Record) -> None:
    res = created_or_lacking(driver, record, target)
    if res is None:
        return
    assert res["object"] == "response"
    assert res["status"] in ("completed", "incomplete")
    assert isinstance(res["output_text"], str) and res["output_text"]
    assert res["usage"]["output_tokens"] > 0
    if res["status"] == "incomplete":
        assert res["incomplete_details"] == {"reason": "max_output_tokens"}


@pytest.mark.feature("responses-stream")
def test_stream_names_events_and_final_matches_the_deltas(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    if created_or_lacking(driver, record, target) is None:
        return

    def start(c: Any) -> Any:
        return c.responses.stream(
            model=target.chat.model, input="Say something.", max_output_tokens=16, temperature=0
        )

    stream = driver.call(start)
    deltas = driver.stream_method(stream, "text_deltas")
    final = driver.stream_method(stream, "final")
    assert deltas
    assert "".join(deltas) == final["output_text"]
    assert final["status"] in ("completed", "incomplete")
    assert final["usage"]["output_tokens"] > 0
    events = driver.events(start)
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] in ("response.completed", "response.incomplete")
    if not any(e.event != "message" for e in events):
        record.note("Responses stream events come without `event:` lines (named by data.type)")


@pytest.mark.feature("responses-parse")
def test_parse_with_a_json_schema_format(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    if created_or_lacking(driver, record, target) is None:
        return
    try:
        result = driver.call(
            lambda c: c.responses.parse(
                model=target.chat.model,
                input="Judge it.",
                text_format=Verdict,
                max_output_tokens=96,
                temperature=0,
            )
        )
    except StructuredOutputError as err:
        # The SDK names it; the server answered free text to a json_schema text.format.
        assert err.code == "OUTPUT_NOT_JSON", err
        record.lacks_it(f"text.format json_schema is ignored: the answer is {err.raw!r:.80}")
        return
    assert isinstance(result.parsed, Verdict)
    assert result.parsed.level in (1, 2, 3)


@pytest.mark.feature("responses-tools")
def test_function_call_output_items_are_taken_and_the_loop_runs(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    if created_or_lacking(driver, record, target) is None:
        return
    # A conversation that already holds a call and its output: the wire shape itself.
    tool = {
        "type": "function",
        "name": "lookup",
        "description": "Look a word up.",
        "parameters": {
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
        },
    }
    items = [
        {"role": "user", "content": "Look up the word cat."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "lookup",
            "arguments": '{"word": "cat"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "found cat"},
    ]
    res = driver.call(lambda c: create(c, target, input=items, tools=[tool]))
    assert res["status"] in ("completed", "incomplete")

    def go(c: Any) -> Any:
        return c.responses.run_tools(
            model=target.chat.model,
            input="Look up the word cat.",
            tools=[lookup],
            tool_choice={"type": "function", "name": "lookup"},
            max_rounds=2,
            max_output_tokens=64,
            temperature=0,
        )

    try:
        run = driver.call(go)
    except BadRequestError as err:
        record.note(f"a named tool_choice is refused: {err.message:.120}")
        return
    except ToolError as err:
        # A forced tool choice never lets the model answer.
        assert err.code == "TOOL_ROUNDS_EXCEEDED", err
        outputs = [i for i in err.messages or [] if i.get("type") == "function_call_output"]
        assert len(outputs) >= 2
        bad = [o["output"] for o in outputs if o["output"].startswith("error: ")]
        if bad:
            record.note(
                f"Responses function call arguments were answered as errors: {bad[0]!r:.100}"
            )
        return
    calls = [i for i in run.items if i.get("type") == "function_call"]
    if not calls:
        record.note(f"a named tool_choice on /v1/responses was answered in text: {run.text!r:.80}")
    else:
        record.note(f"run_tools on /v1/responses went on by {run.continued_by}")


@pytest.mark.feature("responses-store")
def test_retrieve_and_previous_response_id(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    first = created_or_lacking(driver, record, target)
    if first is None:
        return
    try:
        again = driver.call(lambda c: c.responses.retrieve(first["id"]))
    except NotFoundError as err:
        record.lacks_it(err)
        return
    assert again["id"] == first["id"]
    assert again["output_text"] == first["output_text"]
    follow = driver.call(
        lambda c: create(c, target, input="And more.", previous_response_id=first["id"])
    )
    assert follow["previous_response_id"] == first["id"]
    # The stored conversation is part of the prompt.
    alone = driver.call(lambda c: create(c, target, input="And more."))
    assert follow["usage"]["input_tokens"] > alone["usage"]["input_tokens"]
    with pytest.raises(NotFoundError):
        driver.call(lambda c: create(c, target, previous_response_id="resp_does_not_exist"))


@pytest.mark.feature("responses-background")
def test_background_wait_and_cancel(target: Target, driver: ServerDriver, record: Record) -> None:
    if created_or_lacking(driver, record, target) is None:
        return
    try:
        job = driver.call(lambda c: create(c, target, background=True, max_output_tokens=32))
    except BadRequestError as err:
        record.lacks_it(err)
        return
    if job["status"] not in ("queued", "in_progress"):
        record.lacks_it(f"background=True is answered at once, with status {job['status']!r}")
        return
    done = driver.call(lambda c: c.responses.wait(job, deadline_s=120, poll_interval_s=0.2))
    assert done["status"] in ("completed", "incomplete")
    assert done["output_text"]
    # A long generation, cancelled at once.
    long = driver.call(
        lambda c: create(c, target, background=True, max_output_tokens=1800, ignore_eos=True)
    )
    try:
        cancelled = driver.call(lambda c: c.responses.cancel(long["id"]))
    except BabyAPIError as err:
        record.note(f"cancel came too late: {err.message:.100}")
        return
    assert cancelled["status"] == "cancelled"
    assert driver.call(lambda c: c.responses.retrieve(long["id"]))["status"] == "cancelled"
    json.dumps(cancelled)
