"""The one-line error messages and the output helpers, in-process."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from babyapi import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BabyAPIError,
    RateLimitError,
)
from babyapi.cli.errors import EXIT_API_ERROR, EXIT_USAGE, describe_error, exit_code_for
from babyapi.cli.output import Output, clip, wants_color

ROOT = Path(__file__).resolve().parents[2]


def test_status_error_names_status_code_request_id_and_a_fix() -> None:
    error = AuthenticationError(
        "Incorrect API key.", status=401, code="invalid_api_key", request_id="req-1"
    )
    line = describe_error(error, action="models")
    assert line == (
        "babyapi: models failed: Incorrect API key. "
        "(HTTP 401, code invalid_api_key, request id req-1); check --api-key or BABYAPI_API_KEY"
    )
    assert exit_code_for(error) == EXIT_API_ERROR


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (RateLimitError("slow down", status=429), "raise --max-retries"),
        (BabyAPIError("boom\nsecond line", status=503), "try again later"),
        (BabyAPIError("bad", status=400, code="model_not_supported"), "babyapi models"),
        (BabyAPIError("Timed out; raise timeout_s", code="TIMEOUT"), "raise --timeout"),
    ],
)
def test_hints(error: BabyAPIError, hint: str) -> None:
    line = describe_error(error, action="chat", base_url="http://127.0.0.1:1")
    assert hint in line
    assert "\n" not in line
    assert "timeout_s" not in line  # the SDK's Python advice is left out


def test_connection_error_points_at_the_base_url() -> None:
    error = APIConnectionError("could not connect; check base_url", code="CONNECTION_ERROR")
    line = describe_error(error, action="models", base_url="http://127.0.0.1:9")
    assert "http://127.0.0.1:9" in line
    assert exit_code_for(error) == EXIT_API_ERROR


def test_client_side_validation_is_usage() -> None:
    error = BabyAPIError("No API key: pass api_key=...", code="API_KEY_REQUIRED")
    assert exit_code_for(error) == EXIT_USAGE
    assert "no API key" in describe_error(error, action="chat")
    assert "api_key=" not in describe_error(error, action="chat")


def test_colour_needs_a_terminal_and_no_no_color() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_color(Terminal(), {"TERM": "xterm"})
    assert not wants_color(Terminal(), {"TERM": "xterm", "NO_COLOR": "1"})
    assert not wants_color(Terminal(), {"TERM": "dumb"})
    assert not wants_color(io.StringIO(), {"TERM": "xterm"})


def test_plain_table_is_tab_separated_without_header() -> None:
    buffer = io.StringIO()
    Output(buffer, {}).table(["A", "B"], [["1", "two\twords\nhere"], ["3", "4"]])
    assert buffer.getvalue() == "1\ttwo words here\n3\t4\n"


def test_clip() -> None:
    assert clip("short", 10) == "short"
    assert clip("a much longer line", 8) == "a much …"


def test_the_sdk_note_on_retries_is_kept_and_spoken_as_options() -> None:
    error = APIConnectionError(
        "could not connect to http://127.0.0.1:9 ([Errno 111] Connection refused); check "
        "base_url and that the server is running. (gave up after 3 attempts: max_retries=2 reached)",
        code="CONNECTION_ERROR",
    )
    line = describe_error(error, action="models", base_url="http://127.0.0.1:9")
    assert "Connection refused" in line
    assert "(gave up after 3 attempts: --max-retries 2 reached)" in line
    assert "base_url" not in line


def test_a_timeout_names_the_bound_that_fired_as_an_option() -> None:
    error = APITimeoutError(
        "POST /v1/chat/completions timed out after 0.5s (timeout_s=0.5) waiting for the next "
        "data; raise timeout_s (on the client or in request_options) if the model needs longer.",
        code="TIMEOUT",
    )
    line = describe_error(error, action="chat")
    assert "timed out after 0.5s (--timeout 0.5) waiting for the next data" in line
    assert "timeout_s" not in line and "request_options" not in line
    assert line.endswith("raise --timeout or try again later")


def test_inside_the_interactive_chat_the_advice_is_a_slash_command() -> None:
    unknown = BabyAPIError("The model `x` does not exist.", status=404, code="model_not_found")
    assert "/model NAME" in describe_error(unknown, action="chat", in_session=True)
    assert "-m MODEL" not in describe_error(unknown, action="chat", in_session=True)
    assert "-m MODEL" in describe_error(unknown, action="chat")


def test_help_lists_every_exit_status() -> None:
    from babyapi.cli import errors
    from babyapi.cli.parser import EPILOG

    statuses = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    listed = {int(m) for m in re.findall(r"^  (\d+) ", EPILOG.split("exit status:")[1], re.M)}
    assert listed == statuses
    for page in ("README.md", "docs/cli.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        table = text[text.index("| status | meaning |") :].split("\n\n")[0]
        assert {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)} == statuses, page
