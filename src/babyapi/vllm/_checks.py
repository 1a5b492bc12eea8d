"""What the vLLM resources refuse before sending: values that cannot be meant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, cast

from babyapi._errors import BabyAPIError, ErrorCode, InvalidArgumentError, InvalidArgumentTypeError

BODY_CODE = ErrorCode.INVALID_REQUEST_BODY
# vLLM's own bound on a token id (a signed 64-bit integer).
MAX_TOKEN_ID = 2**63 - 1


def refuse(message: str, *, wrong_type: bool) -> NoReturn:
    error = InvalidArgumentTypeError if wrong_type else InvalidArgumentError
    raise error(message, code=BODY_CODE)


def text_or_texts(name: str, value: object) -> None:
    """``value`` is a string, or a list of strings or content parts (for multimodal scoring)."""
    if isinstance(value, str):
        return
    if not isinstance(value, (list, tuple)):
        refuse(f"{name} must be a string or a list of strings, got {value!r:.80}.", wrong_type=True)
    for index, item in enumerate(cast("Sequence[object]", value)):
        if not isinstance(item, (str, Mapping)):
            refuse(f"{name}[{index}] must be a string, got {item!r:.80}.", wrong_type=True)


def non_empty_text(name: str, value: object, example: str) -> str:
    """A required, non-empty string argument."""
    if not isinstance(value, str):
        refuse(f"{name} must be a string such as {example!r}, got {value!r:.80}.", wrong_type=True)
    if not value.strip():
        refuse(f"{name} must not be empty; pass one such as {example!r}.", wrong_type=False)
    return value


def token_ids(tokens: object) -> list[int]:
    """Token ids as a list: whole numbers from 0 (what no tokenizer would give is refused)."""
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
        refuse(
            f"tokens must be a list of token ids such as [9707, 1879], got {tokens!r:.80}.",
            wrong_type=True,
        )
    out: list[int] = []
    for index, token in enumerate(cast("Sequence[object]", tokens)):
        if isinstance(token, bool) or not isinstance(token, int):
            refuse(
                f"tokens[{index}] must be an integer token id, got {token!r:.80}.",
                wrong_type=True,
            )
        if not 0 <= token <= MAX_TOKEN_ID:
            refuse(
                f"tokens[{index}] is {token}: token ids run from 0 up; pass ids that "
                "tokenize() gave.",
                wrong_type=False,
            )
        out.append(token)
    return out


def not_supported(message: str) -> BabyAPIError:
    """The server answered, but not with what this call needs: it lacks the feature."""
    return BabyAPIError(message, code=ErrorCode.INVALID_RESPONSE)


def merged(body: Mapping[str, Any], extra_body: object) -> Mapping[str, Any]:
    """The body with ``extra_body`` on top, as it will be sent (``prepare`` refuses a bad one)."""
    if isinstance(extra_body, Mapping):
        return {**body, **cast("Mapping[str, Any]", extra_body)}
    return body
