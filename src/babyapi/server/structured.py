"""JSON answers that fit a schema, and tool calls, generated deterministically from the prompt.

A ``json_schema`` response format gets JSON that fits the schema, with strings drawn from
the prompt's words; ``tools`` get a tool call (``tool_choice`` "required", a named function,
or "auto" when the last user message names a tool). A schema keyword the generator cannot
honour is a 400, as a real server's grammar compiler would answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, cast

from babyapi.server.errors import APIError, invalid
from babyapi.server.words import STOPWORDS

JSON = Dict[str, Any]
_TYPES = frozenset({"string", "integer", "number", "boolean", "null", "object", "array"})
# Keywords that shape values and that the generator honours; the rest only annotate.
_SHAPING = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "$ref",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "format",
    }
)
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$schema", "$id", "$defs", "definitions"}
)
_FORMATS: Dict[str, str] = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 24
_WORD_RE = re.compile(r"[A-Za-z][\w'-]*")
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")
# One streamed piece: leading space, then a word or one punctuation mark.
_PIECE_RE = re.compile(r"\s*(?:\w+|[^\w\s])")


@dataclass(frozen=True)
class JsonAnswer:
    """Answer with JSON fitting ``schema``."""

    schema: JSON


@dataclass(frozen=True)
class ToolAnswer:
    """Answer with calls to these tools: (name, parameters schema, text to draw values from)."""

    tools: Tuple[Tuple[str, JSON, str], ...]


Structured = Union[JsonAnswer, ToolAnswer]


# --- checking what the request asks for ----------------------------------------------------------


def check_schema(schema: object, param: str, root: Optional[JSON] = None, depth: int = 0) -> None:
    """Refuse a schema the generator cannot honour: 400 naming the keyword and where it sits."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise invalid(param, f"`{param}` must be a JSON Schema object.")
    node = cast(JSON, schema)
    root = node if root is None else root
    if depth > _MAX_DEPTH:
        raise _unsupported(param, "nesting deeper than 24 levels")
    for key, value in node.items():
        where = f"{param}.{key}"
        if key not in _SHAPING and key not in _ANNOTATIONS:
            raise _unsupported(where, f"the keyword `{key}`")
        if key == "type":
            kinds = cast(List[object], value) if isinstance(value, list) else [value]
            if not kinds or any(k not in _TYPES for k in kinds):
                raise invalid(where, f'`{where}` must name JSON types such as "string".')
        elif key in ("properties", "$defs", "definitions"):
            if not isinstance(value, dict):
                raise invalid(where, f"`{where}` must be an object of schemas.")
            for name, sub in cast(JSON, value).items():
                check_schema(sub, f"{where}.{name}", root, depth + 1)
        elif key in ("items", "additionalProperties"):
            if isinstance(value, list):
                raise _unsupported(where, "a list of item schemas (use prefixItems-free arrays)")
            check_schema(value, where, root, depth + 1)
        elif key in ("anyOf", "oneOf"):
            if not isinstance(value, list) or not value:
                raise invalid(where, f"`{where}` must be a non-empty list of schemas.")
            for i, sub in enumerate(cast(List[object], value)):
                check_schema(sub, f"{where}[{i}]", root, depth + 1)
        elif key == "enum" and (not isinstance(value, list) or not value):
            raise invalid(where, f"`{where}` must be a non-empty list.")
        elif key == "format" and value not in _FORMATS:
            raise _unsupported(where, f"the string format {value!r}")
        elif key == "$ref" and _resolve(cast(object, value), root) is None:
            raise _unsupported(where, f"the reference {value!r} (only local #/$defs/... refs)")


def _unsupported(where: str, what: str) -> APIError:
    return APIError(
        400,
        f"{what} at `{where}` is not supported by the local server's JSON generator; "
        "it honours type, properties, required, additionalProperties, items, enum, const, "
        "anyOf, oneOf, $ref, min/max bounds and lengths, and common string formats.",
        param=where,
        code="unsupported_schema",
    )


def _object(value: object) -> Optional[JSON]:
    return cast(JSON, value) if isinstance(value, dict) else None


def _resolve(ref: object, root: JSON) -> Optional[JSON]:
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    node: Optional[JSON] = root
    for part in [p for p in ref[1:].split("/") if p]:
        node = _object(node.get(part)) if node is not None else None
    return node


def response_schema(body: JSON) -> Optional[JSON]:
    """The schema a ``response_format`` asks the answer to fit, or None for free text."""
    value = body.get("response_format")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("response_format", "`response_format` must be an object.")
    fmt = cast(JSON, value)
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object", "properties": {"answer": {"type": "string"}}}
    if kind != "json_schema":
        raise invalid(
            "response_format.type",
            "`response_format.type` must be text, json_object or json_schema.",
        )
    inner = fmt.get("json_schema")
    schema = cast(JSON, inner).get("schema") if isinstance(inner, dict) else None
    if not isinstance(schema, dict):
        raise invalid(
            "response_format.json_schema",
            '`response_format.json_schema` must be {"name": ..., "schema": {...}}.',
        )
    checked = cast(JSON, schema)
    check_schema(checked, "response_format.json_schema.schema")
    return checked


def _tool_table(body: JSON) -> List[Tuple[str, JSON]]:
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid("tools", '`tools` must be a list of {"type": "function", ...} objects.')
    table: List[Tuple[str, JSON]] = []
    for i, item in enumerate(cast(List[object], tools)):
        where = f"tools[{i}]"
        entry = _object(item) or {}
        function = _object(entry.get("function")) or {}
        name = function.get("name")
        if entry.get("type") != "function" or not isinstance(name, str) or not name:
            raise invalid(
                where, f'`{where}` must be {{"type": "function", "function": {{"name": ...}}}}.'
            )
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        check_schema(parameters, f"{where}.function.parameters")
        table.append((name, cast(JSON, parameters)))
    return table


def _named_in(text: str, table: Sequence[Tuple[str, JSON]]) -> List[Tuple[str, JSON, str]]:
    """The tools a text mentions by name, in order, each with the words that follow its name."""
    lowered = text.lower()
    found: List[Tuple[int, int, int, Tuple[str, JSON]]] = []
    for order, entry in enumerate(table):
        spellings = {entry[0].lower(), entry[0].lower().replace("_", " ")}
        hits = [
            (m.start(), m.end())
            for s in spellings
            for m in re.finditer(rf"(?<!\w){re.escape(s)}(?!\w)", lowered)
        ]
        if hits:
            start, end = min(hits)
            found.append((start, end, order, entry))
    found.sort()
    # "Use get_weather for Rome and get_time in Tokyo": Rome is for the first, Tokyo the second.
    bounds = [start for start, _, _, _ in found[1:]] + [len(text)]
    return [
        (name, schema, text[end:bound]) for (_, end, _, (name, schema)), bound in zip(found, bounds)
    ]


def plan(body: JSON, last_role: str, last_user: str) -> Optional[Structured]:
    """What shape the answer takes: JSON, tool calls, or None for free text."""
    table = _tool_table(body)
    choice = body.get("tool_choice", "auto" if table else "none")
    calls: List[Tuple[str, JSON, str]] = []
    if isinstance(choice, dict):
        function = cast(JSON, choice).get("function")
        name = cast(JSON, function).get("name") if isinstance(function, dict) else None
        calls = [(n, schema, last_user) for n, schema in table if n == name]
        if not calls:
            raise APIError(
                400,
                f"tool_choice names the function {name!r}, which is not among `tools`.",
                param="tool_choice",
            )
    elif choice == "required":
        if not table:
            raise APIError(400, 'tool_choice "required" needs `tools`.', param="tool_choice")
        calls = _named_in(last_user, table) or [(*table[0], last_user)]
    elif choice == "auto":
        # A tool answer (role "tool") comes after the call: the model now answers in text.
        calls = _named_in(last_user, table) if last_role == "user" else []
    elif choice != "none":
        raise invalid(
            "tool_choice",
            '`tool_choice` must be none, auto, required or {"type": "function", ...}.',
        )
    if calls:
        if body.get("parallel_tool_calls") is False:
            calls = calls[:1]
        return ToolAnswer(tuple(calls))
    schema = response_schema(body)
    return JsonAnswer(schema) if schema is not None else None


# --- generating values ------------------------------------------------------------------------


class Words:
    """The prompt's words and numbers, handed out in turn to fill strings and numbers."""

    def __init__(self, text: str, skip: Sequence[str] = (), offset: int = 0) -> None:
        skipped = {s.lower() for s in skip} | STOPWORDS
        words = [w for w in _WORD_RE.findall(text) if w.lower() not in skipped]
        # Names and places are usually capitalised: offer those first.
        capital = [w for i, w in enumerate(words) if w[0].isupper() and i > 0]
        self.words: List[str] = capital + [w for w in words if w not in capital] or ["value"]
        self.numbers = [float(n) for n in _NUMBER_RE.findall(text)]
        self._next_word = offset
        self._next_number = 0
        self.text_lower = text.lower()
        self.empty = not words

    def word(self) -> str:
        word = self.words[self._next_word % len(self.words)]
        self._next_word += 1
        return word

    def number(self) -> float:
        if not self.numbers:
            return 1.0
        value = self.numbers[self._next_number % len(self.numbers)]
        self._next_number += 1
        return value

    def pick(self, options: List[Any]) -> Any:
        """The first option the prompt mentions, else the first option."""
        for option in options:
            if isinstance(option, str) and re.search(
                rf"(?<!\w){re.escape(option.lower())}(?!\w)", self.text_lower
            ):
                return option
        return options[0]


def value_for(schema: object, words: Words, root: JSON, depth: int = 0) -> Any:
    """A value that fits ``schema`` (already checked by ``check_schema``)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return words.word()
    node = cast(JSON, schema)
    if "$ref" in node:
        return value_for(_resolve(node["$ref"], root), words, root, depth + 1)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return words.pick(cast(List[Any], node["enum"]))
    for key in ("anyOf", "oneOf"):
        if key in node:
            arms = cast(List[object], node[key])
            useful = [a for a in arms if (_object(a) or {}).get("type") != "null"]
            return value_for((useful or arms)[0], words, root, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = cast(List[str], kind)
        kind = next((k for k in kinds if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in node else "array" if "items" in node else "string"
    if kind == "object":
        return _object_for(node, words, root, depth)
    if kind == "array":
        count = max(int(node.get("minItems", 1)), 1)
        if isinstance(node.get("maxItems"), int):
            count = min(count, node["maxItems"])
        return [value_for(node.get("items", {}), words, root, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number_for(node, words, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_for(node, words)


def _object_for(node: JSON, words: Words, root: JSON, depth: int) -> JSON:
    properties = cast(JSON, node.get("properties") or {})
    out: JSON = {name: value_for(sub, words, root, depth + 1) for name, sub in properties.items()}
    extra = _object(node.get("additionalProperties"))
    if not properties and extra is not None:
        out[words.word().lower()] = value_for(extra, words, root, depth + 1)
    return out


def _number_for(node: JSON, words: Words, *, integer: bool) -> Union[int, float]:
    value = words.number()
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    step = 1 if integer else 0.5
    if isinstance(low, (int, float)) and (
        value < low or ("exclusiveMinimum" in node and value <= low)
    ):
        value = low + (step if "exclusiveMinimum" in node else 0)
    if isinstance(high, (int, float)) and (
        value > high or ("exclusiveMaximum" in node and value >= high)
    ):
        value = high - (step if "exclusiveMaximum" in node else 0)
    if integer:
        whole = int(value)
        return whole + 1 if isinstance(low, (int, float)) and whole < low else whole
    return float(value)


def _string_for(node: JSON, words: Words) -> str:
    fmt = node.get("format")
    text = _FORMATS[fmt] if isinstance(fmt, str) and fmt in _FORMATS else words.word()
    low, high = node.get("minLength"), node.get("maxLength")
    while isinstance(low, int) and len(text) < low:
        text = f"{text} {words.word()}"
    if isinstance(high, int):
        text = text[:high]
    return text


def json_text(schema: JSON, words: Words) -> str:
    """The JSON answer for a schema, compact as guided decoding emits it."""
    return json.dumps(value_for(schema, words, schema), ensure_ascii=False)


def pieces_of(text: str) -> Tuple[str, ...]:
    """Split JSON text into streamed pieces, one token each; joined they give the text back."""
    return tuple(_PIECE_RE.findall(text))
