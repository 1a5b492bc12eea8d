"""The two convenience entry points: ``baby.infer`` normalisation and ``client.infer`` routing."""

from __future__ import annotations

from typing import Any, Mapping, Optional, cast

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["OPTION_ALIASES", "baby_infer_body", "route_infer"]

OPTION_ALIASES: Mapping[str, str] = {
    "max_tokens": "max_tokens",
    "maxTokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "topP": "top_p",
    "top_k": "top_k",
    "topK": "top_k",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "presencePenalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "frequencyPenalty": "frequency_penalty",
}
_PROMPT_KEYS = ("prompt", "input", "text")
_CONSUMED = frozenset({*_PROMPT_KEYS, "model", "options"})
CHAT_PATH = "/v1/chat/completions"
COMPLETIONS_PATH = "/v1/completions"


def baby_infer_body(
    value: Any, options: Mapping[str, Any], default_model: Optional[str]
) -> dict[str, Any]:
    """The ``POST /infer`` body for ``baby.infer(value, **options)``; raises before any request."""
    merged = _as_mapping(value)
    merged.update(options)
    prompt = _prompt(merged)
    model = _model(merged.get("model"), default_model)
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    given = merged.get("options")
    if given is not None and not isinstance(given, Mapping):
        raise InvalidArgumentTypeError(
            f"'options' must be a dict such as {{'max_tokens': 80}}, got {type(given).__name__}.",
            code="INVALID_OPTIONS",
        )
    nested = cast("Optional[Mapping[str, Any]]", given)
    misplaced = sorted(_CONSUMED & set(nested or ()))
    if misplaced:
        raise InvalidArgumentError(
            f"{misplaced} belong at the top level of the payload, not inside 'options'.",
            code="INVALID_OPTIONS",
        )
    top_level = {k: v for k, v in merged.items() if k not in _CONSUMED}
    # Nested options win over top-level ones, as the seed documents.
    for source in (top_level, nested or {}):
        body.update(_snake_case_options(source))
    return body


def route_infer(
    body: Optional[Mapping[str, Any]], kwargs: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Pick the endpoint for ``client.infer``: messages go to chat, a prompt to completions."""
    if body is not None and not isinstance(body, Mapping):
        raise InvalidArgumentTypeError(
            f"infer() takes a dict body, got {type(body).__name__}; pass messages=[...] for chat "
            "or prompt='...' for completions.",
            code="INVALID_INFER_INPUT",
        )
    merged = {**(body or {}), **kwargs}
    if "messages" in merged:
        return CHAT_PATH, merged
    if "prompt" in merged:
        return COMPLETIONS_PATH, merged
    raise InvalidArgumentError(
        "infer() needs either messages=[...] (chat completions) or prompt='...' (completions).",
        code="INVALID_INFER_INPUT",
    )


def _as_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"prompt": value}
    if isinstance(value, Mapping):
        return dict(cast("Mapping[str, Any]", value))
    raise InvalidArgumentTypeError(
        f"baby.infer() takes a prompt string or a dict with 'prompt', got {type(value).__name__}.",
        code="INVALID_INFER_INPUT",
    )


def _prompt(merged: Mapping[str, Any]) -> str:
    for key in _PROMPT_KEYS:
        candidate = merged.get(key)
        if candidate is None:
            continue
        if not isinstance(candidate, str):
            raise InvalidArgumentTypeError(
                f"'{key}' must be a string, got {type(candidate).__name__}.",
                code="INVALID_INFER_INPUT",
            )
        if candidate.strip():
            return candidate
    raise InvalidArgumentError(
        "baby.infer() needs a non-empty prompt: pass a string, or a dict with 'prompt'.",
        code="PROMPT_REQUIRED",
    )


def _model(value: Any, default_model: Optional[str]) -> str:
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"'model' must be a string, got {type(value).__name__}.", code="MODEL_REQUIRED"
        )
    if value and value.strip():
        return value.strip()
    if default_model:
        return default_model
    raise InvalidArgumentError(
        "No model: pass 'model' in the payload, or set default_model=... on the client "
        "(or the BABYAPI_DEFAULT_MODEL environment variable).",
        code="MODEL_REQUIRED",
    )


def _snake_case_options(source: Mapping[str, Any]) -> dict[str, Any]:
    """Map camelCase aliases to snake_case and drop ``None``; unknown keys pass through."""
    out: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in source.items():
        if value is None:
            continue
        if not isinstance(key, str):
            raise InvalidArgumentTypeError(
                f"option names must be strings, got {key!r}.", code="INVALID_OPTIONS"
            )
        wire = OPTION_ALIASES.get(key, key)
        if wire in out and out[wire] != value:
            raise InvalidArgumentError(
                f"'{origin[wire]}' and '{key}' both set {wire} to different values; pass only one.",
                code="INVALID_OPTIONS",
            )
        _check_option(wire, value)
        out[wire] = value
        origin[wire] = key
    return out


def _check_option(name: str, value: Any) -> None:
    # Types only: ranges are the server's to judge (vLLM reads top_k=-1 as "no limit").
    if name in ("max_tokens", "top_k"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "a whole number"
    elif name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        want = "a number"
    elif name == "stop":
        ok = isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(s, str) for s in cast("list[object]", value))
        )
        want = "a string or a list of strings"
    else:
        return
    if not ok:
        raise InvalidArgumentTypeError(
            f"option {name} must be {want}, got {value!r}.", code="INVALID_OPTIONS"
        )
