"""Exit codes and the one-line error messages the command prints."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:
    from babyapi import BabyAPIError

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
# babyapi serve could not listen on the address (in use, not permitted).
EXIT_CANNOT_LISTEN = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

# Client-side validation codes: the request was never sent because the command
# line (or the environment) is incomplete, so they count as bad usage.
USAGE_CODES = frozenset(
    {
        "API_KEY_REQUIRED",
        "MODEL_REQUIRED",
        "PROMPT_REQUIRED",
        "INVALID_INFER_INPUT",
        "INVALID_OPTIONS",
        "INVALID_REQUEST_OPTIONS",
        "INVALID_REQUEST_BODY",
        "INVALID_HEADERS",
        "INVALID_TIMEOUT",
        "INVALID_MAX_RETRIES",
    }
)


# What to do when an answer to --json-schema is not what the schema asks for.
_OUTPUT_HINTS = {
    "OUTPUT_TRUNCATED": "raise --max-tokens",
    "OUTPUT_NOT_JSON": "the server may not support response_format json_schema; try another model",
    "OUTPUT_SCHEMA_MISMATCH": "the server may not enforce this schema; try another model or a simpler schema",
    "OUTPUT_REFUSED": "the model refused: rephrase the prompt",
}


class UsageError(Exception):
    """The command line is wrong or incomplete (exit status 2)."""


class CommandError(Exception):
    """A failure outside the API, such as a missing extra (exit status 1)."""


def exit_code_for(error: BabyAPIError) -> int:
    """Exit status for an SDK error: 2 when nothing was sent because of bad input, else 1."""
    if error.status is None and error.code in USAGE_CODES:
        return EXIT_USAGE
    return EXIT_API_ERROR


def _hint(error: BabyAPIError, base_url: Optional[str], in_session: bool) -> str:
    code = error.code or ""
    status = error.status
    if code == "API_KEY_REQUIRED":
        return (
            "pass --api-key KEY or set BABYAPI_API_KEY "
            "(a local server started without --api-key takes any non-empty key)"
        )
    if code == "MODEL_REQUIRED":
        return (
            "choose one with /model NAME"
            if in_session
            else "pass -m MODEL or set BABYAPI_DEFAULT_MODEL"
        )
    if code == "TIMEOUT":
        return "raise --timeout or try again later"
    if code in _OUTPUT_HINTS:
        return _OUTPUT_HINTS[code]
    if code == "CHECKPOINT_WRITE_FAILED":
        return (
            "check that --output names a file you can write (its folder exists, the disk has room)"
        )
    if code == "CHECKPOINT_MISMATCH":
        return "pass another --output, or delete that file and its .index to start over"
    if code == "INVALID_ITEM":
        return "fix those items: the output file has each one's index and error"
    if code == "STREAM_INTERRUPTED":
        return "the server ended the answer early: try again"
    if status is None:
        if code in USAGE_CODES:
            return "check the command's arguments (--help)"
        where = base_url or "the server"
        return f"check that {where} is reachable (--base-url or BABYAPI_BASE_URL)"
    if status == 401:
        return "check --api-key or BABYAPI_API_KEY"
    if status == 403:
        return "this API key may not use that model or endpoint"
    if status == 404 or "model" in code.lower():
        if in_session:
            return "switch with /model NAME (babyapi models lists them) or check --base-url"
        return "check -m MODEL (babyapi models lists them) and --base-url"
    if status == 429:
        return "rate limited: wait and retry, or raise --max-retries"
    if status >= 500:
        return "the server failed: try again later"
    return "check the command's arguments (--help)"


# Advice the SDK gives in Python terms; the command line gives its own hint instead.
_PYTHON_ADVICE = re.compile(
    r"\b(timeout_s|request_options|base_url|deadline_s|max_retries|error\.partial|http_client|"
    r"api_key)\b"
)
# The SDK's names for what the command line spells as options.
_OPTION_NAMES = {"timeout_s": "--timeout", "max_retries": "--max-retries"}
_SETTING = re.compile(r"\b(timeout_s|max_retries)=([0-9.]+)")
_RETRY_NOTE = re.compile(r"\s*\((gave up after [^()]*)\)\s*$")


def _in_cli_terms(message: str, status: Optional[int]) -> str:
    """The SDK's message with its Python advice left out and settings named as options.

    A message is clauses joined by "; ": what happened, then what to do. What happened
    stays whole (the timeout that fired and its value, how many attempts were made).
    """
    note = _RETRY_NOTE.search(message)
    if note is not None:
        message = message[: note.start()]
    if status is None:
        clauses = message.split("; ")
        kept = clauses[:1] + [c for c in clauses[1:] if not _PYTHON_ADVICE.search(c)]
        message = "; ".join(kept).rstrip(".")
    if note is not None:
        message += f" ({note.group(1)})"
    return _SETTING.sub(lambda m: f"{_OPTION_NAMES[m.group(1)]} {m.group(2)}", message)


def describe_error(
    error: BabyAPIError,
    *,
    action: str,
    base_url: Optional[str] = None,
    in_session: bool = False,
) -> str:
    """One line: what failed, the status and request id, and what to do.

    ``in_session`` words the advice for the interactive chat (``/model``, not ``-m``).
    """
    facts: List[str] = []
    if error.status is not None:
        facts.append(f"HTTP {error.status}")
    if error.code and error.code != str(error.status):
        facts.append(f"code {error.code}")
    if error.request_id:
        facts.append(f"request id {error.request_id}")
    message = " ".join(str(error.message).split()) or type(error).__name__
    if error.code == "API_KEY_REQUIRED":
        message = "no API key"
    elif error.code not in USAGE_CODES:
        message = _in_cli_terms(message, error.status)
    suffix = f" ({', '.join(facts)})" if facts else ""
    return f"babyapi: {action} failed: {message}{suffix}; {_hint(error, base_url, in_session)}"
