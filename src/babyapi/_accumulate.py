"""Folding stream chunks into the answer the non-streaming endpoint would have returned."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, cast

from babyapi._text import PIECES_PER_BLOCK, Text

if TYPE_CHECKING:
    from babyapi._response_events import ResponseFold

__all__ = ["Accumulator", "text_of_chunk"]

_CHOICE_KEYS_HANDLED = frozenset({"index", "delta", "text", "logprobs", "finish_reason", "message"})
# The shape of nearly every chunk after the first: one choice that adds text and nothing else.
_PLAIN_CHOICE_KEYS = frozenset({"index", "delta", "logprobs", "finish_reason"})


def text_of_chunk(data: Any) -> Optional[str]:
    """The new text of choice 0 in a chat or completion chunk, or a Responses text delta."""
    if not isinstance(data, dict):
        return None
    chunk = cast("dict[str, Any]", data)
    choices = chunk.get("choices")
    if not choices or not isinstance(choices, list):
        if chunk.get("type") == "response.output_text.delta":
            delta = chunk.get("delta")
            return delta if isinstance(delta, str) and delta else None
        return None
    # With n > 1 the choices' chunks interleave: the text is choice 0's, wherever listed.
    first = next(
        (
            cast("dict[str, Any]", c)
            for c in cast("list[object]", choices)
            if isinstance(c, dict) and cast("dict[str, Any]", c).get("index", 0) == 0
        ),
        None,
    )
    if first is None:
        return None
    choice = first
    delta = choice.get("delta")
    if isinstance(delta, dict):
        text = cast("dict[str, Any]", delta).get("content")
    else:
        text = choice.get("text")
    return text if isinstance(text, str) and text else None


class _Choice:
    """What has arrived so far for one choice index."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.role: Optional[str] = None
        self.content = Text()
        self.saw_content = False
        self.reasoning = Text()
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: Optional[str] = None
        self.logprobs: Optional[dict[str, Any]] = None
        self.extra: dict[str, Any] = {}

    def add_delta(self, delta: dict[str, Any]) -> None:
        role = delta.get("role")
        if role:
            self.role = role
        content = delta.get("content")
        if isinstance(content, str):
            self.saw_content = True
            self.content.add(content)
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str):
            self.reasoning.add(reasoning)
        calls: object = delta.get("tool_calls")
        if isinstance(calls, list):  # a server's true, number or object is no list of parts
            for call in cast("list[object]", calls):
                if isinstance(call, dict):
                    self._add_tool_call(cast("dict[str, Any]", call))

    def _add_tool_call(self, part: dict[str, Any]) -> None:
        index = _position(part.get("index"), len(self.tool_calls))
        call = self.tool_calls.setdefault(index, {"function": {"arguments": Text()}})
        for key in ("id", "type"):
            if part.get(key):
                call[key] = part[key]
        function = part.get("function")
        if isinstance(function, dict):
            fields = cast("dict[str, Any]", function)
            if fields.get("name"):
                call["function"]["name"] = fields["name"]
            arguments = fields.get("arguments")
            if isinstance(arguments, str):
                call["function"]["arguments"].add(arguments)

    def add_logprobs(self, logprobs: Any) -> None:
        if not isinstance(logprobs, dict):
            return
        if self.logprobs is None:
            self.logprobs = {}
        fields = cast("dict[str, Any]", logprobs)
        for key, value in fields.items():
            if isinstance(value, list):
                self.logprobs.setdefault(key, []).extend(cast("list[object]", value))
            else:
                self.logprobs[key] = value

    def as_chat(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": str(self.content) if self.saw_content else None,
        }
        if self.reasoning:
            message["reasoning_content"] = str(self.reasoning)
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "type": "function",
                    **call,
                    "function": {
                        **call["function"],
                        "arguments": str(call["function"]["arguments"]),
                    },
                }
                for _, call in sorted(self.tool_calls.items())
            ]
        return {
            "index": self.index,
            "message": message,
            "finish_reason": self.finish_reason,
            "logprobs": self.logprobs,
            **self.extra,
        }

    def as_completion(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "text": str(self.content),
            "finish_reason": self.finish_reason,
            "logprobs": self.logprobs,
            **self.extra,
        }


class Accumulator:
    """Feed it every event's data; ``result()`` is a ``chat.completion`` or ``text_completion``,
    or for a Responses API stream the ``response``."""

    def __init__(self) -> None:
        self._events: Optional[ResponseFold] = None
        self._head: dict[str, Any] = {}
        self._choices: dict[int, _Choice] = {}
        self._usage: Optional[dict[str, Any]] = None
        self._chat: Optional[bool] = None
        self._whole: Optional[dict[str, Any]] = None

    def add(self, data: Any) -> None:
        """Fold in one chunk; the usual one, a choice that only adds text, takes a short path."""
        try:
            (raw,) = data["choices"]
            delta = raw["delta"]
            if (
                len(delta) == 1
                and raw.get("finish_reason") is None
                and raw.keys() <= _PLAIN_CHOICE_KEYS
                and raw.get("logprobs") is None
                and data.get("usage") is None
                and self._chat
            ):
                text = delta["content"]
                if type(text) is str:
                    choice = self._choices[raw["index"]]
                    choice.saw_content = True
                    pieces = choice.content.pieces
                    pieces.append(text)
                    if len(pieces) >= PIECES_PER_BLOCK:
                        choice.content.compact()
                    return
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # not the usual shape: the full path below sorts it out
        self._add(data)

    def _add(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        chunk = cast("dict[str, Any]", data)
        if self._events is not None or _is_response_event(chunk):
            self._fold_event(chunk)
            return
        if not self._head:
            self._head = {
                k: chunk[k] for k in ("id", "created", "model", "system_fingerprint") if k in chunk
            }
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = cast("dict[str, Any]", usage)
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return
        for raw in cast("list[object]", choices):
            if isinstance(raw, dict):
                self._add_choice(cast("dict[str, Any]", raw), chunk)

    def _add_choice(self, raw: dict[str, Any], data: dict[str, Any]) -> None:
        if "message" in raw:
            # The server ignored "stream": true and sent the whole answer.
            self._whole = data
            return
        index = _position(raw.get("index"), 0)
        choice = self._choices.get(index)
        if choice is None:
            choice = self._choices[index] = _Choice(index)
        delta = raw.get("delta")
        if isinstance(delta, dict):
            self._chat = True
            choice.add_delta(cast("dict[str, Any]", delta))
        elif isinstance(raw.get("text"), str):
            self._chat = False if self._chat is None else self._chat
            choice.saw_content = True
            choice.content.add(raw["text"])
        if raw.get("finish_reason"):
            choice.finish_reason = raw["finish_reason"]
        choice.add_logprobs(raw.get("logprobs"))
        for key, value in raw.items():
            if key not in _CHOICE_KEYS_HANDLED and value is not None:
                choice.extra[key] = value

    def _fold_event(self, chunk: dict[str, Any]) -> None:
        if self._events is None:
            from babyapi._response_events import ResponseFold  # Responses streams only

            self._events = ResponseFold()
        self._events.add(chunk)

    def result(self) -> dict[str, Any]:
        """The accumulated answer so far, shaped like the non-streaming response."""
        if self._events is not None:
            return self._events.result()
        if self._whole is not None:
            return self._whole
        chat = self._chat is not False
        choices = [
            c.as_chat() if chat else c.as_completion() for _, c in sorted(self._choices.items())
        ]
        answer: dict[str, Any] = {
            "id": self._head.get("id"),
            "object": "chat.completion" if chat else "text_completion",
        }
        answer.update({k: v for k, v in self._head.items() if k != "id"})
        answer["choices"] = choices
        if self._usage is not None:
            answer["usage"] = self._usage
        return answer


def _position(value: Any, missing: int) -> int:
    """A choice's or tool call's index; a server's non-integer one counts as absent.

    Keys must be ints: a list cannot key a dict, and "1" and 1 could not be sorted together.
    """
    return value if type(value) is int else missing


def _is_response_event(chunk: dict[str, Any]) -> bool:
    """A Responses API event (``{"type": "response.created", ...}``) or a whole response."""
    kind = chunk.get("type")
    if isinstance(kind, str):
        return kind.startswith("response.")
    return chunk.get("object") == "response"
