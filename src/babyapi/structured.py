"""Structured outputs: ask for JSON that fits a schema, read it back as a Python value.

``client.chat.completions.parse(..., response_format=T)`` and ``.stream(..., response_format=T)``
build on the client from here; the core never imports this module.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Generic, Mapping, Optional, TypeVar, cast

from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError, StructuredOutputError
from babyapi._schema import Shape, as_object, check_schema, first_mismatch, loads, shape_of

if TYPE_CHECKING:
    from babyapi.types.chat import ChatCompletion, ChatCompletionMessage
    from babyapi.types.responses import Response

__all__ = ["OutputFormat", "ParsedChatCompletion", "ParsedResponse", "wants_parsing"]

T = TypeVar("T")
# What servers take as a response_format already; these pass through unchanged.
_WIRE_TYPES = frozenset({"text", "json_object", "json_schema"})
_NAME_RE = re.compile(r"[^a-zA-Z0-9_-]")
# Models without guided decoding often wrap JSON in a Markdown fence.
_FENCE_RE = re.compile(r"^```(?:json)?\s*\n(.*)\n\s*```$", re.DOTALL)


def wants_parsing(response_format: object) -> bool:
    """True when ``response_format`` is a type or a JSON Schema rather than OpenAI's wire form."""
    if response_format is None:
        return False
    if isinstance(response_format, Mapping):
        kind = cast("Mapping[str, Any]", response_format).get("type")
        return kind not in _WIRE_TYPES
    return True


class ParsedChatCompletion(Generic[T]):
    """A chat completion whose answer was checked against the schema and parsed into ``T``."""

    __slots__ = ("completion", "parsed", "parsed_choices")

    def __init__(self, completion: ChatCompletion, parsed_choices: list[T]) -> None:
        #: The answer exactly as the server sent it.
        self.completion = completion
        #: The first choice's value, typed as the ``response_format`` you passed.
        self.parsed: T = parsed_choices[0]
        #: One value per choice (more than one only with ``n > 1``).
        self.parsed_choices = parsed_choices

    @property
    def message(self) -> ChatCompletionMessage:
        """The first choice's message, as the server sent it."""
        return self.completion["choices"][0]["message"]

    @property
    def text(self) -> str:
        """The raw JSON text of the first choice."""
        return self.message.get("content") or ""

    @property
    def finish_reason(self) -> Optional[str]:
        return self.completion["choices"][0].get("finish_reason")

    def __repr__(self) -> str:
        return f"ParsedChatCompletion(parsed={self.parsed!r}, finish_reason={self.finish_reason!r})"


class ParsedResponse(Generic[T]):
    """A Responses API answer whose text was checked against the schema and parsed into ``T``."""

    __slots__ = ("parsed", "response")

    def __init__(self, response: Response, parsed: T) -> None:
        #: The response exactly as the server sent it (with babyapi's ``output_text``).
        self.response = response
        #: The answer, typed as the ``text_format`` you passed.
        self.parsed: T = parsed

    @property
    def output_text(self) -> str:
        """The raw JSON text of the answer."""
        return self.response.get("output_text") or ""

    @property
    def status(self) -> Optional[str]:
        return self.response.get("status")

    def __repr__(self) -> str:
        return f"ParsedResponse(parsed={self.parsed!r}, status={self.status!r})"


class OutputFormat(Generic[T]):
    """What ``parse()`` sends for a type or schema, and how it reads the answer back."""

    def __init__(self, target: Any) -> None:
        self.target = target
        wire = _wire_form(target)
        self._convert_value: Callable[[Any], Any] = _as_is
        if wire is not None:
            self.schema = wire["schema"]
        elif isinstance(target, Mapping):
            self.schema = dict(cast("Mapping[str, Any]", target))
            wire = {"name": _safe_name(str(self.schema.get("title") or "response"))}
        else:
            shape = _shape(target)
            self.schema, self._convert_value = shape.schema, shape.convert
            wire = {"name": _safe_name(getattr(target, "__name__", "response"))}
        # Refused here, before sending, so that no answer is judged by a guess.
        check_schema(self.schema, "response_format")
        inner = {**wire, "schema": self.schema, "strict": wire.get("strict", True)}
        self.response_format: dict[str, Any] = {"type": "json_schema", "json_schema": inner}

    @property
    def text_format(self) -> dict[str, Any]:
        """The same request as the Responses API's ``text.format`` (flat, not nested)."""
        return {"type": "json_schema", **self.response_format["json_schema"]}

    def read_response(self, response: Any) -> ParsedResponse[T]:
        """Check and parse a Responses API answer; raises StructuredOutputError naming what is wrong."""
        answer = as_object(response)
        if not isinstance(response, dict) or not isinstance(answer.get("output"), list):
            raise StructuredOutputError(
                f"the server's answer is not a response object: {response!r:.120}",
                code="OUTPUT_NOT_JSON",
            )
        texts, refusals, calls = _message_parts(answer["output"])
        status = answer.get("status")
        if not texts and not refusals:
            what = "function calls" if calls else "no text"
            raise StructuredOutputError(
                f"the model answered with {what} where JSON was asked for (status={status!r}).",
                code="OUTPUT_NOT_JSON",
                raw=None,
                completion=answer,
            )
        refusal = "".join(refusals) or None
        value = self.value_of("".join(texts), refusal, status == "incomplete", answer)
        return ParsedResponse(cast("Response", answer), value)

    def read(self, completion: Any) -> ParsedChatCompletion[T]:
        """Check and parse every choice; raises StructuredOutputError naming what is wrong."""
        if not isinstance(completion, dict):
            raise StructuredOutputError(
                f"the server's answer is not a chat completion: {completion!r:.120}",
                code="OUTPUT_NOT_JSON",
            )
        answer = cast("dict[str, Any]", completion)
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices:
            raise StructuredOutputError(
                "the server's answer has no choices to parse.",
                code="OUTPUT_NOT_JSON",
                completion=answer,
            )
        parsed = [self._read_choice(c, answer) for c in cast("list[object]", choices)]
        return ParsedChatCompletion(cast("ChatCompletion", answer), parsed)

    def _read_choice(self, choice: Any, completion: dict[str, Any]) -> T:
        fields = as_object(choice)
        message = as_object(fields.get("message"))
        finish = fields.get("finish_reason")
        refusal = message.get("refusal")
        text = message.get("content")
        if not isinstance(text, str) and not (isinstance(refusal, str) and refusal):
            what = "tool calls" if message.get("tool_calls") else "no text"
            raise StructuredOutputError(
                f"the model answered with {what} where JSON was asked for "
                f"(finish_reason={finish!r}).",
                code="OUTPUT_NOT_JSON",
                raw=None,
                completion=completion,
            )
        return self.value_of(text, refusal, finish == "length", completion)

    def value_of(self, text: Any, refusal: Any, truncated: bool, completion: dict[str, Any]) -> T:
        """The answer's JSON text checked against the schema and built into ``T``."""
        if isinstance(refusal, str) and refusal:
            raise StructuredOutputError(
                f"the model refused to answer: {refusal!r:.200}",
                code="OUTPUT_REFUSED",
                raw=refusal,
                completion=completion,
            )
        assert isinstance(text, str)
        try:
            value = _loads(text)
        except ValueError as exc:
            raise _unparsable(text, truncated, completion, exc) from exc
        mismatch = first_mismatch(value, self.schema)
        if mismatch is not None:
            raise StructuredOutputError(
                f"the answer is JSON but does not fit the schema at {mismatch}; "
                "the model or server may not support guided decoding for this schema.",
                code="OUTPUT_SCHEMA_MISMATCH",
                raw=text,
                path=mismatch.path,
                completion=completion,
            )
        return self._convert(value, text, completion)

    def _convert(self, value: Any, text: str, completion: dict[str, Any]) -> T:
        try:
            return cast(T, self._convert_value(value))
        except Exception as exc:  # a pydantic validator or a dataclass __post_init__ said no
            raise StructuredOutputError(
                f"the answer fits the schema but {getattr(self.target, '__name__', self.target)} "
                f"rejected it: {type(exc).__name__}: {exc}",
                code="OUTPUT_SCHEMA_MISMATCH",
                raw=text,
                path="$",
                completion=completion,
                cause=exc,
            ) from exc


def _message_parts(output: list[Any]) -> tuple[list[str], list[str], int]:
    """The output_text and refusal texts of a response's messages, and how many calls it made."""
    texts: list[str] = []
    refusals: list[str] = []
    calls = 0
    for item in output:
        fields = as_object(item)
        calls += fields.get("type") == "function_call"
        content = fields.get("content") if fields.get("type") == "message" else None
        for part in cast("list[object]", content) if isinstance(content, list) else ():
            part_fields = as_object(part)
            if part_fields.get("type") == "output_text" and isinstance(
                part_fields.get("text"), str
            ):
                texts.append(part_fields["text"])
            elif part_fields.get("type") == "refusal" and isinstance(
                part_fields.get("refusal"), str
            ):
                refusals.append(part_fields["refusal"])
    return texts, refusals, calls


def _as_is(value: Any) -> Any:
    return value


def _wire_form(target: Any) -> Optional[dict[str, Any]]:
    """OpenAI's ``{"type": "json_schema", "json_schema": {...}}``: its inner part, else None."""
    if not isinstance(target, Mapping):
        return None
    given = cast("Mapping[str, Any]", target)
    if given.get("type") in ("text", "json_object"):
        raise InvalidArgumentError(
            f"parse() needs a schema, not response_format type {given.get('type')!r}: pass a "
            "TypedDict, a dataclass, a pydantic model or a JSON Schema dict.",
            code="INVALID_RESPONSE_FORMAT",
        )
    if given.get("type") != "json_schema":
        return None
    # Chat's form nests it under "json_schema"; the Responses API's text.format is flat.
    inner = {k: v for k, v in as_object(given.get("json_schema", given)).items() if k != "type"}
    if not isinstance(inner.get("schema"), dict):
        raise InvalidArgumentError(
            "response_format {'type': 'json_schema', ...} needs "
            "'json_schema': {'name': ..., 'schema': {...}} (text_format: "
            "{'type': 'json_schema', 'name': ..., 'schema': {...}}).",
            code="INVALID_RESPONSE_FORMAT",
        )
    # The caller's own settings (strict, description) go out as given.
    return {**inner, "name": _safe_name(str(inner.get("name", "response")))}


def _shape(target: Any) -> Shape:
    if not isinstance(target, type) and not hasattr(target, "__origin__"):
        raise InvalidArgumentTypeError(
            f"response_format must be a type (TypedDict, dataclass, pydantic model) or a JSON "
            f"Schema dict, got {type(target).__name__} {target!r:.60}.",
            code="INVALID_RESPONSE_FORMAT",
        )
    return shape_of(target)


def _safe_name(name: str) -> str:
    # OpenAI accepts names of letters, digits, '_' and '-', up to 64 characters.
    return _NAME_RE.sub("_", name)[:64] or "response"


def _loads(text: str) -> Any:
    fenced = _FENCE_RE.match(text.strip())
    return loads(fenced.group(1) if fenced else text)


def _unparsable(
    text: str, truncated: bool, completion: dict[str, Any], exc: ValueError
) -> StructuredOutputError:
    if truncated:
        return StructuredOutputError(
            "the answer was cut at max_tokens before its JSON was complete "
            f"({len(text)} characters arrived); raise max_tokens (max_output_tokens for "
            "responses) and try again.",
            code="OUTPUT_TRUNCATED",
            raw=text,
            completion=completion,
            cause=exc,
        )
    return StructuredOutputError(
        f"the answer is not JSON ({exc}); the server may ignore response_format: {text!r:.120}",
        code="OUTPUT_NOT_JSON",
        raw=text,
        completion=completion,
        cause=exc,
    )
