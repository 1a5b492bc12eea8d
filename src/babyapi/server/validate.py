"""Field checks for request bodies: each failure is a 400 naming the field and what to send."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple, cast

from babyapi.server.errors import invalid
from babyapi.server.generate import SamplingParams
from babyapi.server.models import MAX_MODEL_LEN

MAX_N = 16
MAX_STOP_SEQUENCES = 16

Body = Dict[str, Any]


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def required_str(body: Body, name: str, *, allow_empty: bool = False) -> str:
    """Return a required string field."""
    value = body.get(name)
    if value is None:
        raise invalid(name, f"`{name}` is required.", code="missing_field")
    if not isinstance(value, str):
        raise invalid(name, f"`{name}` must be a string, not {_type_name(value)}.")
    if not allow_empty and not value:
        raise invalid(name, f"`{name}` must not be empty.")
    return value


def optional_int(body: Body, name: str, low: int, high: int) -> Optional[int]:
    """Return an optional whole number within [low, high]; booleans are not numbers here."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(name, f"`{name}` must be an integer, not {_type_name(value)}.")
    if not low <= value <= high:
        raise invalid(name, f"`{name}` must be between {low} and {high}, got {value}.")
    return value


def optional_float(body: Body, name: str, low: float, high: float) -> Optional[float]:
    """Return an optional number within [low, high]."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise invalid(name, f"`{name}` must be a number, not {_type_name(value)}.")
    if not low <= value <= high:
        raise invalid(name, f"`{name}` must be between {low:g} and {high:g}, got {value:g}.")
    return float(value)


def optional_bool(body: Body, name: str) -> Optional[bool]:
    """Return an optional boolean."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(name, f"`{name}` must be true or false, not {_type_name(value)}.")
    return value


def optional_object(body: Body, name: str) -> Optional[Body]:
    """Return an optional JSON object."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(name, f"`{name}` must be an object, not {_type_name(value)}.")
    return cast(Body, value)


def stop_sequences(body: Body) -> Tuple[str, ...]:
    """Return `stop` as a tuple: it may be a string or a list of strings."""
    value = body.get("stop")
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if not isinstance(value, list) or not all(
        isinstance(s, str) for s in cast(List[object], value)
    ):
        raise invalid("stop", "`stop` must be a string or a list of strings.")
    sequences = cast(List[str], value)
    if len(sequences) > MAX_STOP_SEQUENCES:
        raise invalid("stop", f"`stop` takes at most {MAX_STOP_SEQUENCES} sequences.")
    return tuple(s for s in sequences if s)


def choice_count(body: Body) -> int:
    """Return `n`, the number of choices (1..16)."""
    n = optional_int(body, "n", 1, MAX_N)
    return 1 if n is None else n


def sampling_params(
    body: Body, *, default_max_tokens: int, max_tokens_names: List[str]
) -> SamplingParams:
    """Read the sampling fields shared by chat, completions and /infer."""
    max_tokens: Optional[int] = None
    for name in max_tokens_names:
        max_tokens = optional_int(body, name, 1, MAX_MODEL_LEN)
        if max_tokens is not None:
            break
    temperature = optional_float(body, "temperature", 0.0, 2.0)
    top_p = optional_float(body, "top_p", 0.0, 1.0)
    if top_p == 0.0:
        raise invalid("top_p", "`top_p` must be greater than 0.")
    top_k = optional_int(body, "top_k", -1, 1_000_000)
    seed = optional_int(body, "seed", -(2**63), 2**64 - 1)
    presence = optional_float(body, "presence_penalty", -2.0, 2.0)
    frequency = optional_float(body, "frequency_penalty", -2.0, 2.0)
    ignore_eos = optional_bool(body, "ignore_eos")
    return SamplingParams(
        max_tokens=default_max_tokens if max_tokens is None else max_tokens,
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        top_k=0 if top_k is None or top_k < 0 else top_k,
        stop=stop_sequences(body),
        seed=seed,
        presence_penalty=presence or 0.0,
        frequency_penalty=frequency or 0.0,
        ignore_eos=bool(ignore_eos),
    )


def include_usage(body: Body) -> bool:
    """Whether `stream_options.include_usage` asks for the final usage chunk."""
    options = optional_object(body, "stream_options")
    if options is None:
        return False
    return bool(optional_bool(options, "include_usage"))
