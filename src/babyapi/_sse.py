"""Server-Sent Events: a sans-IO incremental decoder, bytes in, events out.

Implements the WHATWG "interpreting an event stream" rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
The decoder never does I/O: the stream layer feeds it the bytes it reads and
gets back the events those bytes completed, so sync and async share it.
"""

from __future__ import annotations

import codecs
import json
from typing import Any, Callable, Final, List, Optional, Tuple, cast

__all__ = ["SSEDecoder", "SSEEvent"]

_DONE: Final = "[DONE]"
_BOM: Final = "\ufeff"
_UNPARSED: Final = object()
# The C primitive behind the incremental UTF-8 decoder. Calling it directly and
# keeping the undecoded tail ourselves skips a Python-level wrapper per chunk.
_utf8_decode: Final = codecs.utf_8_decode
_new_event: Final = object.__new__
# json.loads without its two Python-level layers: the C scanner reads one value at offset 0.
# (Read through vars(): typeshed does not declare the attribute JSONDecoder sets in __init__.)
_scan_json: Final[Callable[[str, int], Tuple[Any, int]]] = vars(json.JSONDecoder())["scan_once"]


def _parse_json(raw: str) -> Any:
    """``json.loads(raw)``, faster for the usual payload, which has no surrounding whitespace."""
    try:
        value, end = _scan_json(raw, 0)
    except StopIteration:  # leading whitespace, or no JSON value at all
        return json.loads(raw)
    return value if end == len(raw) else json.loads(raw)


class SSEEvent:
    """One dispatched server-sent event.

    ``done`` is True for OpenAI's ``[DONE]`` end-of-stream sentinel; ``data``
    is the payload parsed as JSON (None when it is not JSON, or for ``[DONE]``).
    ``id`` is the last event ID in effect (it persists across events; None when
    the server never sent one or reset it with an empty ``id``); ``retry`` is
    set only on the event whose block carried a valid ``retry`` field.
    Treat instances as immutable: they are hashable and compare by value.
    """

    # `_parsed` holds _UNPARSED until `data` is first read. (Leaving the slot unset
    # and catching AttributeError costs more on that first read than the store saves.)
    __slots__ = ("_parsed", "event", "id", "raw", "retry")

    event: str
    raw: str
    id: Optional[str]
    retry: Optional[int]
    _parsed: Any

    def __init__(
        self,
        raw: str,
        event: str = "message",
        id: Optional[str] = None,
        retry: Optional[int] = None,
    ) -> None:
        self.raw = raw
        self.event = event
        self.id = id
        self.retry = retry
        self._parsed = _UNPARSED

    @property
    def done(self) -> bool:
        """True iff the payload is the ``[DONE]`` end-of-stream sentinel."""
        return self.raw == _DONE

    @property
    def data(self) -> Any:
        """The payload parsed as JSON, or None (not JSON, or ``[DONE]``); parsed once."""
        parsed = self._parsed
        if parsed is not _UNPARSED:
            return parsed
        parsed = None
        if self.raw != _DONE:
            try:
                parsed = _parse_json(self.raw)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                parsed = None
        self._parsed = parsed
        return parsed

    @property
    def type(self) -> str:
        """The event's name: the ``event:`` field, else the payload's ``"type"``, else "message".

        Responses API streams name every event (``response.output_text.delta``, ...).
        """
        if self.event != "message":
            return self.event
        data = self.data
        kind: object = cast("dict[str, Any]", data).get("type") if type(data) is dict else None
        return kind if isinstance(kind, str) else "message"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SSEEvent):
            return NotImplemented
        return (self.event, self.raw, self.id, self.retry) == (
            other.event,
            other.raw,
            other.id,
            other.retry,
        )

    def __hash__(self) -> int:
        return hash((self.event, self.raw, self.id, self.retry))

    def __repr__(self) -> str:
        parts = [f"raw={self.raw!r}"]
        if self.event != "message":
            parts.append(f"event={self.event!r}")
        if self.id is not None:
            parts.append(f"id={self.id!r}")
        if self.retry is not None:
            parts.append(f"retry={self.retry!r}")
        if self.done:
            parts.append("done=True")
        return f"SSEEvent({', '.join(parts)})"


def _message(raw: str, event_id: Optional[str]) -> SSEEvent:
    """A "message" event with this payload, the common kind, made on the decoder's fast paths."""
    # Built without calling __init__: on CPython < 3.13 a class call costs more than the
    # five slot stores it performs.
    event = _new_event(SSEEvent)
    event.raw = raw
    event.event = "message"
    event.id = event_id
    event.retry = None
    event._parsed = _UNPARSED
    return event


class SSEDecoder:
    """Incremental event-stream decoder: ``feed()`` bytes, get completed events.

    Attributes useful to the stream layer:

    - ``last_event_id``: the event source's last event ID string (set at each
      blank line from the ID buffer, as the spec's dispatch step 1 says); send
      it as ``Last-Event-ID`` when reconnecting.
    - ``retry``: the last reconnection time (ms) the server set, or None.
    - ``bytes_received``: total bytes fed.
    """

    __slots__ = (
        "_block_retry",
        "_cr_pending",
        "_data",
        "_event",
        "_id_buffer",
        "_partial",
        "_started",
        "_undecoded",
        "bytes_received",
        "last_event_id",
        "retry",
    )

    def __init__(self) -> None:
        self.last_event_id: str = ""
        self.retry: Optional[int] = None
        self.bytes_received: int = 0
        self._reset_stream()

    def _reset_stream(self) -> None:
        # Per-connection parse state; `last_event_id` and `retry` outlive it
        # because a reconnecting caller needs them.
        self._undecoded: bytes = b""
        # False until the first decoded character: only there may a BOM sit.
        self._started: bool = False
        # A CR ended the previous text, so an LF starting the next one is the
        # second half of the same CRLF line end, not an empty line.
        self._cr_pending: bool = False
        # Pieces of the current unterminated line. Kept as a list and joined
        # once the line ends so a huge line fed in small chunks stays linear.
        self._partial: List[str] = []
        self._data: List[str] = []
        self._event: str = ""
        self._block_retry: Optional[int] = None
        # The spec's "last event ID buffer": it persists across events, and a
        # new connection resumes from the last ID actually dispatched.
        self._id_buffer: str = self.last_event_id

    def feed(self, chunk: bytes) -> List[SSEEvent]:
        """Decode ``chunk``; return every event it completed (often none)."""
        self.bytes_received += len(chunk)
        if self._undecoded:
            chunk = self._undecoded + chunk
        # errors="replace" never raises; final=False holds back an incomplete
        # multibyte sequence at the end until the next chunk completes it.
        text, consumed = _utf8_decode(chunk, "replace", False)
        self._undecoded = chunk[consumed:] if consumed != len(chunk) else b""
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == _BOM:
                text = text[1:]
                if not text:
                    return []
        if self._cr_pending:
            self._cr_pending = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []

        if (
            text[-2:] == "\n\n"
            and text[:6] == "data: "
            and text.find("\n") == len(text) - 2
            and "\r" not in text
            and not self._partial
            and not self._data
            and not self._event
            and self._block_retry is None
        ):
            # The usual chunk from an LLM server: exactly one event of one data line.
            self.last_event_id = self._id_buffer
            return [_message(text[6:-2], self._id_buffer or None)]
        if "\r" in text:
            # Rare: CR or CRLF line ends. Normalise to LF; a trailing CR is a
            # complete line end already, but remember it in case an LF follows.
            self._cr_pending = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            # No line end in this chunk: just remember the piece.
            self._partial.append(text)
            return []
        events: List[SSEEvent] = []
        # Offsets into `text` rather than slices: a slice would copy the chunk.
        start = 0
        if self._partial:
            # This chunk ends a line begun earlier. Finish that line on its own
            # so a huge line (an 8 MiB data event) is copied once, by one join,
            # rather than joined with the chunk and then split and sliced again.
            end = text.index("\n")
            pieces = self._partial
            pieces.append(text[:end])
            self._partial = []
            start = end + 1
            head = pieces[0]
            if head[:6] == "data: ":
                pieces[0] = head[6:]
                value = "".join(pieces)
                if (
                    text.startswith("\n", start)
                    and not self._data
                    and not self._event
                    and self._block_retry is None
                ):
                    # The usual case: the event's only line, and a blank line
                    # right after it dispatches it.
                    self.last_event_id = self._id_buffer
                    events.append(_message(value, self._id_buffer or None))
                    start += 1
                else:
                    self._data.append(value)
            else:
                self._process(["".join(pieces)], events)
        # Everything up to the last blank line is whole events; what follows
        # is lines of an event still in progress, the last one unterminated.
        cut = text.rfind("\n\n", start)
        if cut >= 0:
            self._blocks(text, start, cut, events)
            start = cut + 2
        lines = text[start:].split("\n")
        tail = lines.pop()
        if tail:
            self._partial.append(tail)
        if lines:
            self._process(lines, events)
        return events

    def _blocks(self, text: str, start: int, cut: int, events: List[SSEEvent]) -> None:
        """Interpret ``text[start:cut]``: whole events, each ended by a blank line.

        (The blank line ending the last of them is ``text[cut:cut + 2]``.)
        """
        # Each block ends with a dispatch, and fast-path blocks never change
        # the ID buffer, so the dispatched ID can be committed up front.
        self.last_event_id = self._id_buffer
        event_id = self._id_buffer or None
        # The fast paths need no fields pending from an earlier line. That
        # holds after any dispatch, so for every block after the first.
        clean = not self._data and not self._event and self._block_retry is None
        if clean and text.startswith("data: ", start, cut):
            # An LLM stream is nearly always "data: X\n\ndata: Y\n\n...". Then
            # one C-level split yields every payload, with no Python loop per
            # line or block, provided no payload holds an LF (a second line).
            raws = text[start + 6 : cut].split("\n\ndata: ")
            if "\n" not in "".join(raws):
                events.extend([_message(raw, event_id) for raw in raws])
                return
        # Splitting on "\n\n" and then on "\n" yields exactly the lines of
        # text.split("\n"), with the blank lines at the block boundaries.
        for block in text[start:cut].split("\n\n"):
            if clean and block[:6] == "data: " and "\n" not in block:
                events.append(_message(block[6:], event_id))
            else:
                lines = block.split("\n")
                lines.append("")
                self._process(lines, events)
                event_id = self._id_buffer or None
                clean = True

    def end(self) -> List[SSEEvent]:
        """Signal end of stream; returns [] because an unterminated event is discarded.

        The spec discards a final event that no blank line completed, so this
        never returns events; it resets the parse state so the decoder can be
        reused on a reconnection (keeping ``last_event_id`` and ``retry``).
        """
        self._reset_stream()
        return []

    def _process(self, lines: List[str], events: List[SSEEvent]) -> None:
        """Interpret complete lines, appending dispatched events to ``events``."""
        # State lives in locals for the loop, written back at the end.
        data = self._data
        event = self._event
        id_buffer = self._id_buffer
        block_retry = self._block_retry
        for line in lines:
            if not line:
                # Blank line: dispatch.
                self.last_event_id = id_buffer
                if data:
                    events.append(
                        SSEEvent(
                            data[0] if len(data) == 1 else "\n".join(data),
                            event or "message",
                            id_buffer or None,
                            block_retry,
                        )
                    )
                    data = []
                event = ""
                block_retry = None
                continue
            # The overwhelmingly common line in an LLM stream, checked first.
            if line[:6] == "data: ":
                data.append(line[6:])
                continue
            colon = line.find(":")
            if colon == 0:
                continue  # comment
            if colon < 0:
                name = line
                value = ""
            else:
                name = line[:colon]
                value = line[colon + 1 :]
                if value[:1] == " ":
                    value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                if "\0" not in value:
                    id_buffer = value
            elif name == "retry" and value.isascii() and value.isdigit() and len(value) < 4300:
                # ASCII digits only: str.isdigit alone accepts "²" and friends.
                # A value too long for int() (Python's digit limit) is ignored too.
                block_retry = self.retry = int(value)
            # Any other field name is ignored, as the spec says.
        self._data = data
        self._event = event
        self._id_buffer = id_buffer
        self._block_retry = block_retry
