"""Exit codes and the one-line error messages the command prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:
    from babyapi import BabyAPIError

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
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


def _hint(error: BabyAPIError, base_url: Optional[str]) -> str:
    code = error.code or ""
    status = error.status
    if code == "API_KEY_REQUIRED":
        return "pass --api-key KEY or set BABYAPI_API_KEY"
    if code == "MODEL_REQUIRED":
        return "pass -m MODEL or set BABYAPI_DEFAULT_MODEL"
    if code == "TIMEOUT":
        return "raise --timeout or try again later"
    if code in _OUTPUT_HINTS:
        return _OUTPUT_HINTS[code]
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
        return "check -m MODEL (babyapi models lists them) and --base-url"
    if status == 429:
        return "rate limited: wait and retry, or raise --max-retries"
    if status >= 500:
        return "the server failed: try again later"
    return "check the command's arguments (--help)"


def describe_error(error: BabyAPIError, *, action: str, base_url: Optional[str] = None) -> str:
    """One line: what failed, the status and request id, and what to do."""
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
    elif error.status is None and error.code not in USAGE_CODES and error.code not in _OUTPUT_HINTS:
        # The SDK's advice after "; " speaks of Python arguments; the hint below speaks CLI.
        message = message.split("; ")[0]
    suffix = f" ({', '.join(facts)})" if facts else ""
    return f"babyapi: {action} failed: {message}{suffix}; {_hint(error, base_url)}"
