"""What each endpoint's JSON body must hold, checked before anything is sent.

Only what cannot be sent or cannot be meant is refused here (a missing field, a wrong
type); content the server judges, such as an empty ``messages`` list, goes to the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional, Sequence, cast

from babyapi._config import ClientConfig
from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["check_body", "default_model_for"]

_CODE = "INVALID_REQUEST_BODY"


# Endpoints whose model is an embedding or a scoring model, never the chat default.
_EMBEDDING_PATHS = frozenset({"/v1/embeddings", "/pooling"})
_RERANK_PATHS = frozenset({"/v1/rerank", "/score"})
# vLLM's classifier takes no default: the server's one model answers when none is named.
_NO_DEFAULT_PATHS = frozenset({"/classify"})


def default_model_for(config: ClientConfig, path: str) -> Optional[str]:
    """The client's default model for an endpoint: a chat model never fills embeddings or rerank."""
    if path in _EMBEDDING_PATHS:
        return config.default_embedding_model
    if path in _RERANK_PATHS:
        return config.default_rerank_model
    if path in _NO_DEFAULT_PATHS:
        return None
    return config.default_model


def check_body(
    path: str, body: Any, default_model: Optional[str], *, stream: bool
) -> dict[str, Any]:
    """A copy of ``body`` ready to encode: checked, ``stream`` set or refused, model defaulted."""
    if not isinstance(body, Mapping):
        raise InvalidArgumentTypeError(
            f"the request body must be a dict of JSON fields, got {type(body).__name__}.",
            code=_CODE,
        )
    out = dict(cast("Mapping[str, Any]", body))
    if stream:
        out["stream"] = True
    elif out.get("stream"):
        raise InvalidArgumentError(
            "create() does not stream: call .stream(...) with the same arguments instead.",
            code="STREAM_METHOD_REQUIRED",
        )
    model = out.get("model")
    if model is None:
        if default_model:
            out["model"] = default_model
    elif not isinstance(model, str) or not model.strip():
        error = InvalidArgumentError if isinstance(model, str) else InvalidArgumentTypeError
        raise error(f"model must be a non-empty string, got {model!r}.", code="MODEL_REQUIRED")
    check = _CHECKS.get(path)
    if check is not None:
        check(out)
    return out


def _messages(body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, (list, tuple)):
        raise InvalidArgumentTypeError(
            "messages must be a list such as [{'role': 'user', 'content': 'Hello'}], "
            f"got {type(messages).__name__}.",
            code=_CODE,
        )
    # Whether the list may be empty, or a message lacks a role, is the server's call.
    for index, message in enumerate(cast("Sequence[object]", messages)):
        if not isinstance(message, Mapping):
            raise InvalidArgumentTypeError(
                f"messages[{index}] must be a dict such as {{'role': 'user', 'content': 'Hi'}}, "
                f"got {message!r:.80}.",
                code=_CODE,
            )
    response_format = body.get("response_format")
    if isinstance(response_format, type):
        raise InvalidArgumentTypeError(
            f"response_format={response_format.__name__} is a type: call "
            "chat.completions.parse(...) or .stream(...) to have the answer parsed into it, "
            "or pass OpenAI's {'type': 'json_schema', 'json_schema': {...}} to create().",
            code=_CODE,
        )


def _prompt(body: Mapping[str, Any]) -> None:
    prompt = body.get("prompt")
    if not isinstance(prompt, (str, list, tuple)):
        raise InvalidArgumentTypeError(
            "prompt must be a string (or a list of strings or token ids), "
            f"got {type(prompt).__name__}.",
            code=_CODE,
        )


def _input(body: Mapping[str, Any]) -> None:
    value = body.get("input")
    if not isinstance(value, (str, list, tuple)):
        raise InvalidArgumentTypeError(
            f"input must be a string or a list of strings to embed, got {value!r:.80}.",
            code=_CODE,
        )


def _rerank(body: Mapping[str, Any]) -> None:
    query, documents = body.get("query"), body.get("documents")
    if not isinstance(query, str):
        raise InvalidArgumentTypeError(f"query must be a string, got {query!r:.80}.", code=_CODE)
    if not isinstance(documents, (list, tuple)):
        raise InvalidArgumentTypeError(
            f"documents must be a list of strings, got {documents!r:.80}.", code=_CODE
        )


def _response_input(body: Mapping[str, Any]) -> None:
    if "text_format" in body:
        raise InvalidArgumentTypeError(
            "text_format is parse()'s: call responses.parse(...) or .stream(...) to have the "
            "answer parsed, or pass text={'format': {'type': 'json_schema', ...}} to create().",
            code=_CODE,
        )
    value = body.get("input")
    if value is None or isinstance(value, str):
        return  # whether input may be left out is the server's call
    if not isinstance(value, (list, tuple)):
        raise InvalidArgumentTypeError(
            "input must be a string or a list of items such as "
            f"[{{'role': 'user', 'content': 'Hello'}}], got {type(value).__name__}.",
            code=_CODE,
        )
    for index, item in enumerate(cast("Sequence[object]", value)):
        if not isinstance(item, Mapping):
            raise InvalidArgumentTypeError(
                f"input[{index}] must be a dict such as {{'role': 'user', 'content': 'Hi'}} "
                f"or {{'type': 'function_call_output', ...}}, got {item!r:.80}.",
                code=_CODE,
            )


_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "/v1/chat/completions": _messages,
    "/v1/completions": _prompt,
    "/v1/embeddings": _input,
    "/v1/rerank": _rerank,
    "/v1/responses": _response_input,
}
