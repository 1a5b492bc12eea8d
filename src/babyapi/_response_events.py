"""Folding a Responses API stream (``response.*`` events) into the response object.

The server's ``response.completed`` (or ``.incomplete``, ``.failed``) carries the whole
response and wins; a stream that ends without one is assembled from the items and deltas
that did arrive. Loaded by the stream reader on the first ``response.*`` event only.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, cast

from babyapi._text import Text

__all__ = ["TERMINAL_EVENTS", "ResponseFold", "failure_of", "output_text", "with_output_text"]

# The events that carry the finished response; ``response.failed`` also ends in an error.
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_HEAD_EVENTS = frozenset({"response.created", "response.in_progress", "response.queued"})


def output_text(response: Any) -> str:
    """The text of every ``output_text`` part of every output message, joined."""
    if not isinstance(response, dict):
        return ""
    output = cast("dict[str, Any]", response).get("output")
    if not isinstance(output, list):
        return ""
    texts: list[str] = []
    for item in cast("list[object]", output):
        if not isinstance(item, dict) or cast("dict[str, Any]", item).get("type") != "message":
            continue
        content = cast("dict[str, Any]", item).get("content")
        for part in cast("list[object]", content) if isinstance(content, list) else ():
            if isinstance(part, dict):
                fields = cast("dict[str, Any]", part)
                text = fields.get("text")
                if fields.get("type") == "output_text" and isinstance(text, str):
                    texts.append(text)
    return "".join(texts)


def failure_of(event: dict[str, Any]) -> dict[str, Any]:
    """A ``response.failed`` event as an error body: the response's ``error``, or a stand-in."""
    response = event.get("response")
    error = cast("dict[str, Any]", response).get("error") if isinstance(response, dict) else None
    if not isinstance(error, dict):
        error = {"message": "the server reported response.failed without saying why"}
    fields = dict(cast("dict[str, Any]", error))
    message = fields.get("message") or "the response failed"
    fields["message"] = (
        f"the response failed mid-stream: {message}; what arrived is in error.partial"
    )
    return {"error": fields}


def with_output_text(response: Any) -> Any:
    """The response with babyapi's ``output_text`` added (a server's own string is kept)."""
    if isinstance(response, dict):
        fields = cast("dict[str, Any]", response)
        if not isinstance(fields.get("output_text"), str):
            fields["output_text"] = output_text(fields)
        return fields
    return response


class ResponseFold:
    """Feed it every event's data; ``result()`` is the response as far as it arrived."""

    def __init__(self) -> None:
        self._head: dict[str, Any] = {}
        self._final: Optional[dict[str, Any]] = None
        self._items: dict[int, dict[str, Any]] = {}
        # Text still arriving in deltas, by (output index, content index) or output index.
        self._texts: dict[tuple[int, int], Text] = {}
        self._arguments: dict[int, Text] = {}

    def add(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, data)
        elif data.get("object") == "response":
            # The server ignored "stream": true and sent the whole response.
            self._final = data

    def result(self) -> dict[str, Any]:
        if self._final is not None:
            return cast("dict[str, Any]", with_output_text(dict(self._final)))
        response: dict[str, Any] = {"object": "response", **self._head}
        response["output"] = [self._item(i) for i in sorted(self._items)]
        return cast("dict[str, Any]", with_output_text(response))

    def _item(self, index: int) -> dict[str, Any]:
        item = dict(self._items[index])
        arguments = self._arguments.get(index)
        if arguments is not None:
            item["arguments"] = str(arguments)
        content = item.get("content")
        if isinstance(content, list):
            given = cast("list[object]", content)
            parts = [dict(cast("dict[str, Any]", p)) for p in given if isinstance(p, dict)]
            for (at, part_index), text in self._texts.items():
                if at == index and part_index < len(parts):
                    parts[part_index]["text"] = str(text)
            item["content"] = parts
        return item

    # --- one method per event kind ----------------------------------------------------

    def _head_event(self, data: dict[str, Any]) -> None:
        response = data.get("response")
        if isinstance(response, dict):
            self._head = dict(cast("dict[str, Any]", response))
            self._head.pop("output", None)

    def _terminal(self, data: dict[str, Any]) -> None:
        response = data.get("response")
        if isinstance(response, dict):
            self._final = cast("dict[str, Any]", response)

    def _item_added(self, data: dict[str, Any]) -> None:
        item, index = data.get("item"), _index(data, "output_index")
        if isinstance(item, dict) and index is not None:
            self._items[index] = dict(cast("dict[str, Any]", item))

    def _item_done(self, data: dict[str, Any]) -> None:
        item, index = data.get("item"), _index(data, "output_index")
        if isinstance(item, dict) and index is not None:
            # The finished item is whole: the deltas that built it are no longer needed.
            self._items[index] = dict(cast("dict[str, Any]", item))
            self._arguments.pop(index, None)
            for key in [k for k in self._texts if k[0] == index]:
                del self._texts[key]

    def _part_added(self, data: dict[str, Any]) -> None:
        index, part_index = _index(data, "output_index"), _index(data, "content_index")
        part = data.get("part")
        if index is None or part_index is None or not isinstance(part, dict):
            return
        content = self._content(index)
        while len(content) <= part_index:
            content.append({})
        content[part_index] = dict(cast("dict[str, Any]", part))

    def _text_delta(self, data: dict[str, Any]) -> None:
        index, part_index = _index(data, "output_index"), _index(data, "content_index")
        delta = data.get("delta")
        if index is None or not isinstance(delta, str):
            return
        part_index = part_index or 0
        content = self._content(index)
        kind = "reasoning_text" if data.get("type") == "response.reasoning_text.delta" else None
        while len(content) <= part_index:
            content.append({"type": kind or "output_text", "text": "", "annotations": []})
        text = self._texts.get((index, part_index))
        if text is None:
            text = self._texts[(index, part_index)] = Text()
        text.add(delta)

    def _text_done(self, data: dict[str, Any]) -> None:
        index, part_index = _index(data, "output_index"), _index(data, "content_index")
        text = data.get("text")
        if index is not None and isinstance(text, str):
            whole = self._texts[(index, part_index or 0)] = Text()
            whole.add(text)

    def _arguments_delta(self, data: dict[str, Any]) -> None:
        index, delta = _index(data, "output_index"), data.get("delta")
        if index is None or not isinstance(delta, str):
            return
        self._items.setdefault(index, {"type": "function_call", "arguments": ""})
        arguments = self._arguments.get(index)
        if arguments is None:
            arguments = self._arguments[index] = Text()
        arguments.add(delta)

    def _arguments_done(self, data: dict[str, Any]) -> None:
        index, arguments = _index(data, "output_index"), data.get("arguments")
        if index is not None and isinstance(arguments, str):
            whole = self._arguments[index] = Text()
            whole.add(arguments)

    def _content(self, index: int) -> list[Any]:
        item = self._items.setdefault(
            index, {"type": "message", "role": "assistant", "content": []}
        )
        content = item.get("content")
        if isinstance(content, list):
            return content  # pyright: ignore[reportUnknownVariableType]
        fresh: list[Any] = []
        item["content"] = fresh
        return fresh


def _index(data: dict[str, Any], key: str) -> Optional[int]:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


_Handler = Callable[[ResponseFold, "dict[str, Any]"], None]
_HANDLERS: dict[str, _Handler] = {
    **{kind: ResponseFold._head_event for kind in _HEAD_EVENTS},
    **{kind: ResponseFold._terminal for kind in TERMINAL_EVENTS},
    "response.output_item.added": ResponseFold._item_added,
    "response.output_item.done": ResponseFold._item_done,
    "response.content_part.added": ResponseFold._part_added,
    "response.content_part.done": ResponseFold._part_added,
    "response.output_text.delta": ResponseFold._text_delta,
    "response.output_text.done": ResponseFold._text_done,
    "response.reasoning_text.delta": ResponseFold._text_delta,
    "response.reasoning_text.done": ResponseFold._text_done,
    "response.function_call_arguments.delta": ResponseFold._arguments_delta,
    "response.function_call_arguments.done": ResponseFold._arguments_done,
}
