"""Structured outputs and tools on real servers: parse(), stream(response_format=T), run_tools."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from real_servers import Record, ServerDriver, Target, require_servers  # pyright: ignore[reportImplicitRelativeImport]

from babyapi import BadRequestError, StructuredOutputError, ToolError
from babyapi.tools import Tool

require_servers()

ASK = [{"role": "user", "content": "Name one word and a number."}]


@dataclass
class Pair:
    word: str
    count: int
    size: Literal["big", "small"]


@dataclass
class Verdict:
    """Only closed choices: even a random-weight model finishes this object within max_tokens."""

    size: Literal["big", "small"]
    ok: bool
    level: Literal[1, 2, 3]


WORD = {
    "type": "object",
    "properties": {"word": {"type": "string", "maxLength": 12}},
    "required": ["word"],
}


def lookup(word: str, count: int) -> str:
    """Look a word up.

    Args:
        word: The word to look up.
        count: How many results to give.
    """
    return f"{count} x {word}"


def parse(c: Any, target: Target, response_format: Any) -> Any:
    return c.chat.completions.parse(
        model=target.chat.model,
        messages=ASK,
        response_format=response_format,
        max_tokens=96,
        temperature=0,
    )


@pytest.mark.feature("structured-output")
def test_parse_returns_a_value_that_fits(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    result = driver.call(lambda c: parse(c, target, Verdict))
    assert isinstance(result.parsed, Verdict)
    assert result.parsed.level in (1, 2, 3) and isinstance(result.parsed.ok, bool)
    if result.finish_reason == "length" and result.text != result.text.rstrip():
        record.note("json_schema answers are padded with whitespace up to max_tokens")
    word = driver.call(lambda c: parse(c, target, WORD))
    assert isinstance(word.parsed["word"], str) and len(word.parsed["word"]) <= 12


@pytest.mark.feature("structured-output")
def test_a_long_free_string_is_cut_and_said_so(target: Target, driver: ServerDriver) -> None:
    """The tiny models never close a free string: the answer is cut, and the SDK says so."""
    try:
        result = driver.call(lambda c: parse(c, target, Pair))
    except StructuredOutputError as err:
        assert err.code == "OUTPUT_TRUNCATED", (err.code, err.raw)
        assert err.raw and err.raw.lstrip().startswith("{")
        return
    assert isinstance(result.parsed, Pair)


@pytest.mark.feature("structured-stream")
def test_stream_final_carries_the_parsed_value(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    def start(c: Any) -> Any:
        return c.chat.completions.stream(
            model=target.chat.model,
            messages=ASK,
            response_format=Verdict,
            max_tokens=96,
            temperature=0,
        )

    stream = driver.call(start)
    deltas = driver.stream_method(stream, "text_deltas")
    final = driver.stream_method(stream, "final")
    assert isinstance(final.parsed, Verdict)
    assert "".join(deltas) == final.text


@pytest.mark.feature("tool-call")
def test_a_named_tool_choice_is_a_tool_call_checked_against_its_schema(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    tool = Tool(lookup)

    def ask(c: Any) -> Any:
        return c.chat.completions.create(
            model=target.chat.model,
            messages=[{"role": "user", "content": "Look up the word cat."}],
            tools=[tool.param],
            tool_choice={"type": "function", "function": {"name": "lookup"}},
            max_tokens=96,
            temperature=0,
        )

    try:
        answer = driver.call(ask)
    except BadRequestError as err:
        record.lacks_it(err)
        return
    message = answer["choices"][0]["message"]
    calls = message.get("tool_calls") or []
    if not calls:
        record.lacks = f"a named tool_choice is answered with text: {message.get('content')!r:.80}"
        return
    function = calls[0]["function"]
    assert function["name"] == "lookup"
    try:
        arguments = tool.arguments(function["arguments"])
    except ValueError as exc:
        # The SDK's check catches what the server's guided decoding let through.
        record.lacks = f"a named tool_choice gives arguments that do not fit: {exc}"
        return
    assert set(arguments) == {"word", "count"}
    json.loads(function["arguments"])


@pytest.mark.feature("tool-loop")
def test_run_tools_never_lets_a_bad_call_escape(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    """A forced tool choice never lets the model answer: the loop ends at max_rounds, and
    every call the server made was run or answered with an error message."""
    ran: list[str] = []

    def echo(word: str) -> str:
        """Echo a word."""
        ran.append(word)
        return word

    def go(c: Any) -> Any:
        return c.chat.completions.run_tools(
            model=target.chat.model,
            messages=[{"role": "user", "content": "Echo the word cat."}],
            tools=[echo],
            tool_choice={"type": "function", "function": {"name": "echo"}},
            max_rounds=2,
            max_tokens=64,
            temperature=0,
        )

    try:
        run = driver.call(go)
    except BadRequestError as err:
        record.lacks_it(err)
        return
    except ToolError as err:
        assert err.code == "TOOL_ROUNDS_EXCEEDED", err
        answers = [m["content"] for m in err.messages if m["role"] == "tool"]
        assert len(answers) >= 2
        assert len(ran) + sum(a.startswith("error: ") for a in answers) == len(answers)
        if len(ran) < len(answers):
            record.note(f"tool call arguments were answered as errors: {answers[0]!r:.100}")
        return
    # The server answered in text although the tool was forced.
    record.note(f"a forced tool_choice was answered in text after {run.rounds} round(s)")
