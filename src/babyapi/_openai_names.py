"""Names openai-python users reach for, and where babyapi keeps the same thing.

Code moving from openai-python brings its habits: ``client.with_raw_response``, ``client.beta``,
``create(..., timeout=0.5)``. Each gets an error that names babyapi's spelling instead of a
bare ``AttributeError`` or, worse, a field silently sent in the JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from babyapi._errors import InvalidArgumentTypeError

__all__ = ["PointsToBabyAPINames", "refuse_call_settings"]

_ATTRIBUTE_HINTS = {
    "with_raw_response": "use .with_response instead: the same methods, each returning an "
    "APIResponse with .data, .status, .headers and .request_id "
    "(client.with_response.chat.completions.create(...))",
    "with_streaming_response": "to read an answer as it arrives, call .stream(...) "
    "(client.chat.completions.stream(...)); the stream's .response holds the status and "
    "headers. For a whole answer with its headers, use .with_response",
    "beta": "babyapi has no beta namespace: parse(), stream() and run_tools() are on "
    "client.chat.completions",
}


class PointsToBabyAPINames:
    """A bare AttributeError for most names; a pointer to ours for openai-python's."""

    __slots__ = ()

    # Only at run time: type checkers keep reporting unknown attributes as errors.
    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            hint = _ATTRIBUTE_HINTS.get(name)
            owner = type(self).__name__
            if hint is None:
                error = AttributeError(f"{owner!r} object has no attribute {name!r}")
            else:
                error = AttributeError(f"{owner} has no attribute {name!r}: {hint}.")
            error.name, error.obj = name, self  # keeps Python's "Did you mean" suggestions
            raise error


# openai-python takes these per call; here a call's keyword arguments are its JSON body.
_CALL_SETTINGS = {"timeout": "timeout_s", "max_retries": "max_retries"}


def refuse_call_settings(body: object) -> None:
    """Refuse openai-python's per-call settings, which the server would ignore as body fields.

    Honouring them would make one keyword mean a body field on some calls and a setting on
    others; the constructor and ``with_options`` refuse ``timeout=`` the same way.
    """
    # collections.abc's Mapping: typing's goes through a slow __instancecheck__ (timeit: 0.13
    # µs against 0.6 µs, on every call's body).
    if not isinstance(body, Mapping):
        return  # the body's own check names that mistake
    for name, ours in _CALL_SETTINGS.items():
        if name not in body:
            continue
        value = cast("Mapping[str, Any]", body)[name]
        raise InvalidArgumentTypeError(
            f"{name}={value!r} would be sent in the JSON body, where the server ignores it: a "
            "call's keyword arguments are its body. For this call's setting pass "
            f"request_options={{'{ours}': {value!r}}} (or set {ours} on the client); to send a "
            f"body field of that name, pass extra_body={{'{name}': {value!r}}}.",
            code="INVALID_REQUEST_OPTIONS",
        )
