"""Tests for the sans-IO SSE decoder: a table of cases fed whole, split at every
index and byte by byte, plus hypothesis properties against a literal reading of
the WHATWG rules."""

from __future__ import annotations

import json
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi._sse import SSEDecoder, SSEEvent

E = SSEEvent


def decode(chunks: Iterable[bytes]) -> List[SSEEvent]:
    decoder = SSEDecoder()
    events: List[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.end())
    return events


# (name, stream bytes, expected events)
CASES: List[Tuple[str, bytes, List[SSEEvent]]] = [
    ("empty stream", b"", []),
    ("only blank lines", b"\n\n\r\n\r\r", []),
    ("one event", b"data: hello\n\n", [E("hello")]),
    ("two events", b"data: a\n\ndata: b\n\n", [E("a"), E("b")]),
    ("LF line ends", b"data: a\ndata: b\n\n", [E("a\nb")]),
    ("CRLF line ends", b"data: a\r\ndata: b\r\n\r\n", [E("a\nb")]),
    ("lone CR line ends", b"data: a\rdata: b\r\r", [E("a\nb")]),
    ("mixed line ends", b"data: a\r\ndata: b\rdata: c\n\r\n", [E("a\nb\nc")]),
    ("CR then LF then CR is two ends", b"data: a\r\n\rdata: b\n\n", [E("a"), E("b")]),
    ("LF then CR is two ends", b"data: a\n\rdata: b\n\n", [E("a"), E("b")]),
    ("several data lines joined", b"data: 1\ndata: 2\ndata: 3\n\n", [E("1\n2\n3")]),
    ("empty data lines kept", b"data:\ndata:\n\n", [E("\n")]),
    ("data without colon is an empty line", b"data\n\n", [E("")]),
    ("data with colon and nothing", b"data:\n\n", [E("")]),
    ("data without space after colon", b"data:x\n\n", [E("x")]),
    ("data:  two spaces keeps one", b"data:  two spaces\n\n", [E(" two spaces")]),
    ("trailing whitespace kept", b"data: x \t\n\n", [E("x \t")]),
    ("colon inside value", b"data: a: b:c\n\n", [E("a: b:c")]),
    ("tab after colon is not stripped", b"data:\tx\n\n", [E("\tx")]),
    ("comment line", b": keep-alive\ndata: x\n\n", [E("x")]),
    ("bare colon comment", b":\n\n", []),
    ("comment only block", b": hello\n\n: again\n\n", []),
    ("event type", b"event: add\ndata: 1\n\n", [E("1", event="add")]),
    ("event alone dispatches nothing", b"event: ping\n\n", []),
    ("event: empty alone", b"event:\n\n", []),
    ("event without colon alone", b"event\n\n", []),
    ("empty event type is message", b"event:\ndata: x\n\n", [E("x")]),
    ("last event field wins", b"event: a\nevent: b\ndata: x\n\n", [E("x", event="b")]),
    (
        "event type resets after dispatch",
        b"event: a\ndata: 1\n\ndata: 2\n\n",
        [E("1", event="a"), E("2")],
    ),
    ("event type resets with no dispatch", b"event: a\n\ndata: 2\n\n", [E("2")]),
    ("id", b"id: 7\ndata: a\n\n", [E("a", id="7")]),
    ("id persists", b"id: 7\ndata: a\n\ndata: b\n\n", [E("a", id="7"), E("b", id="7")]),
    ("id without data still persists", b"id: 7\n\ndata: b\n\n", [E("b", id="7")]),
    ("id with NUL ignored", b"id: 1\n\nid: 2\x00x\ndata: a\n\n", [E("a", id="1")]),
    ("empty id resets", b"id: 1\ndata: a\n\nid\ndata: b\n\n", [E("a", id="1"), E("b")]),
    ("id keeps one space", b"id:  5\ndata: a\n\n", [E("a", id=" 5")]),
    ("retry", b"retry: 1000\ndata: a\n\ndata: b\n\n", [E("a", retry=1000), E("b")]),
    ("retry: 12a ignored", b"retry: 12a\ndata: a\n\n", [E("a")]),
    ("retry negative ignored", b"retry: -1\ndata: a\n\n", [E("a")]),
    ("retry empty ignored", b"retry:\ndata: a\n\n", [E("a")]),
    ("retry with extra space ignored", b"retry:  5\ndata: a\n\n", [E("a")]),
    ("retry non-ASCII digit ignored", "retry: 1\u00b2\ndata: a\n\n".encode(), [E("a")]),
    ("retry fullwidth digit ignored", "retry: \uff11\ndata: a\n\n".encode(), [E("a")]),
    ("retry huge ignored", b"retry: " + b"9" * 5000 + b"\ndata: a\n\n", [E("a")]),
    ("retry zero", b"retry: 0\ndata: a\n\n", [E("a", retry=0)]),
    ("unknown field ignored", b"foo: bar\ndata: a\n\n", [E("a")]),
    ("field names are case sensitive", b"Data: a\n\n", []),
    ("space before colon makes another field", b"data : a\n\n", []),
    ("leading space makes another field", b" data: a\n\n", []),
    ("unterminated final event discarded", b"data: a\n\ndata: b\n", [E("a")]),
    ("unterminated final line discarded", b"data: a\n\ndata: b", [E("a")]),
    ("final CR completes the event", b"data: a\r\r", [E("a")]),
    ("[DONE]", b"data: {}\n\ndata: [DONE]\n\n", [E("{}"), E("[DONE]")]),
    ("BOM stripped", b"\xef\xbb\xbfdata: a\n\n", [E("a")]),
    ("only one BOM stripped", b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", []),
    ("BOM in a value kept", b"data: \xef\xbb\xbfa\n\n", [E("\ufeffa")]),
    ("BOM-only stream", b"\xef\xbb\xbf", []),
    (
        "UTF-8 multibyte characters",
        "data: héllo € 😀 日本\n\n".encode(),
        [E("héllo € 😀 日本")],
    ),
    ("invalid bytes replaced", b"data: \xff\xfe a\n\n", [E("\ufffd\ufffd a")]),
    # Python replaces the maximal incomplete subpart with a single U+FFFD.
    ("truncated sequence replaced", b"data: \xe2\x82\n\n", [E("\ufffd")]),
    ("stray continuation byte", b"data: a\x80b\n\n", [E("a\ufffdb")]),
    ("NUL in data kept", b"data: a\x00b\n\n", [E("a\x00b")]),
    (
        "only CR and LF end lines",
        "data: a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\n\n".encode(),
        [E("a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i")],
    ),
    (
        "simple and complex blocks mixed",
        b"data: a\n\nevent: e\ndata: b\n\ndata: c\n\nid: 1\n\ndata: d\n\n",
        [E("a"), E("b", event="e"), E("c"), E("d", id="1")],
    ),
    (
        "extra blank lines between events",
        b"data: a\n\n\ndata: b\n\n\n\ndata: c\n\n",
        [E("a"), E("b"), E("c")],
    ),
    (
        "payload line followed by a second data line",
        b"data: a\n\ndata: b\ndata: c\n\ndata: d\n\n",
        [E("a"), E("b\nc"), E("d")],
    ),
    ("keep-alive comments between events", b"data: a\n\n: ping\n\ndata: b\n\n", [E("a"), E("b")]),
    (
        "chat stream",
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"!"}}]}\n\n'
        b"data: [DONE]\n\n",
        [
            E('{"choices":[{"delta":{"content":"Hi"}}]}'),
            E('{"choices":[{"delta":{"content":"!"}}]}'),
            E("[DONE]"),
        ],
    ),
]


@pytest.mark.parametrize(("stream", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_whole(stream: bytes, expected: List[SSEEvent]) -> None:
    assert decode([stream]) == expected


@pytest.mark.parametrize(("stream", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_split_point(stream: bytes, expected: List[SSEEvent]) -> None:
    for i in range(len(stream) + 1):
        assert decode([stream[:i], stream[i:]]) == expected, f"split at {i}"


@pytest.mark.parametrize(("stream", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_byte_by_byte(stream: bytes, expected: List[SSEEvent]) -> None:
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == expected


@pytest.mark.parametrize(("stream", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_reference(stream: bytes, expected: List[SSEEvent]) -> None:
    # Guards the table itself: the literal spec reading below must agree.
    assert reference_decode(stream) == expected


# --- explicit chunk-boundary cases ---------------------------------------------


def test_bom_alone_in_first_chunk() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb\xbf") == []
    assert decoder.feed(b"data: a\n\n") == [E("a")]


def test_bom_split_across_chunks() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb\xbfdata: a\n\n") == [E("a")]


def test_bom_split_three_ways() -> None:
    assert decode([b"\xef", b"\xbb", b"\xbf", b"data: a\n\n"]) == [E("a")]


def test_cr_at_chunk_end_and_lf_at_next_start_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # Were CR and LF counted separately, the LF would be a blank line and
    # dispatch "a" on its own.
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n\r") == [E("a\nb")]
    assert decoder.feed(b"\n") == []


def test_cr_pending_survives_a_chunk_with_no_text() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: \xc3\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\ndata: b\n\n") == [E("\ufffd\nb")]


def test_multibyte_character_split_at_every_byte() -> None:
    for char in ("é", "€", "😀"):
        raw = f"data: {char}\n\n".encode()
        for i in range(len(raw) + 1):
            for j in range(i, len(raw) + 1):
                assert decode([raw[:i], raw[i:j], raw[j:]]) == [E(char)]


def test_events_returned_by_the_chunk_that_completes_them() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\ndata: b\n\ndata: c\n\nda") == [E("a"), E("b"), E("c")]
    assert decoder.feed(b"ta: d\n\n") == [E("d")]


# --- decoder attributes and end() ----------------------------------------------------


def test_end_discards_unterminated_event_and_resets() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: x\ndata: partial\nid: 9\ndata: mo") == []
    assert decoder.end() == []
    # A fresh stream on the same decoder (a reconnection) starts clean,
    # a leading BOM included.
    assert decoder.feed(b"\xef\xbb\xbfdata: new\n\n") == [E("new")]


def test_end_flushes_pending_cr() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\r")
    decoder.end()
    # The LF now starts a new stream: it is a blank line, not half a CRLF.
    assert decoder.feed(b"\ndata: b\n\n") == [E("b")]


def test_end_flushes_partial_utf8() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\ndata: \xe2\x82")
    assert decoder.end() == []
    assert decoder.feed(b"\xacdata: b\n\n") == []  # "\ufffddata" is an unknown field


def test_last_event_id_set_at_dispatch() -> None:
    decoder = SSEDecoder()
    assert decoder.last_event_id == ""
    decoder.feed(b"id: 1\n")
    assert decoder.last_event_id == ""  # only a blank line commits it
    decoder.feed(b"\n")
    assert decoder.last_event_id == "1"
    decoder.feed(b"id: 2\ndata: x\n")
    decoder.end()  # the unterminated block's id is discarded
    assert decoder.last_event_id == "1"
    assert decoder.feed(b"data: y\n\n") == [E("y", id="1")]


def test_retry_attribute_persists() -> None:
    decoder = SSEDecoder()
    assert decoder.retry is None
    decoder.feed(b"retry: 3000\n\n")
    assert decoder.retry == 3000
    assert decoder.feed(b"data: a\n\n") == [E("a")]
    assert decoder.retry == 3000


def test_bytes_received() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a")
    decoder.feed(b"\xe2")
    decoder.feed(b"")
    decoder.feed(b"\n\n")
    assert decoder.bytes_received == 10


def test_huge_event_in_small_chunks() -> None:
    payload = b"x" * (8 * 1024 * 1024)
    stream = b"data: " + payload + b"\n\n"
    decoder = SSEDecoder()
    events: List[SSEEvent] = []
    for i in range(0, len(stream), 1024):
        events.extend(decoder.feed(stream[i : i + 1024]))
    assert len(events) == 1
    assert len(events[0].raw) == len(payload)


# --- SSEEvent -------------------------------------------------------------------


def test_event_defaults() -> None:
    event = SSEEvent("x")
    assert (event.event, event.raw, event.id, event.retry) == ("message", "x", None, None)
    assert event.done is False


def test_event_data_parses_json_lazily_once() -> None:
    event = SSEEvent('{"a": [1, 2]}')
    first = event.data
    assert first == {"a": [1, 2]}
    assert event.data is first


def test_event_data_none_when_not_json() -> None:
    assert SSEEvent("not json").data is None
    assert SSEEvent("").data is None


def test_event_done() -> None:
    event = SSEEvent("[DONE]")
    assert event.done is True
    assert event.data is None
    assert SSEEvent(" [DONE]").done is False


def test_event_json_scalars() -> None:
    assert SSEEvent("3").data == 3
    assert SSEEvent('"s"').data == "s"
    assert SSEEvent("null").data is None


def test_event_equality_and_hash() -> None:
    a = SSEEvent("x", event="e", id="1", retry=5)
    b = SSEEvent("x", "e", "1", 5)
    assert a == b
    assert hash(a) == hash(b)
    assert a != SSEEvent("x", event="e", id="1")
    assert a != SSEEvent("x", event="e", retry=5)
    assert a != "x"
    assert len({a, b}) == 1
    _ = a.data  # the parse cache does not affect equality
    assert a == b


def test_event_repr() -> None:
    assert repr(SSEEvent("x")) == "SSEEvent(raw='x')"
    assert repr(SSEEvent("[DONE]")) == "SSEEvent(raw='[DONE]', done=True)"
    assert (
        repr(SSEEvent("x", event="e", id="1", retry=5))
        == "SSEEvent(raw='x', event='e', id='1', retry=5)"
    )


def test_event_has_no_dict() -> None:
    with pytest.raises(AttributeError):
        SSEEvent("x").other = 1  # type: ignore[attr-defined]


# --- hypothesis -------------------------------------------------------------------


def reference_decode(stream: bytes) -> List[SSEEvent]:
    return reference_state(stream)[0]


def reference_state(stream: bytes) -> Tuple[List[SSEEvent], str, Optional[int]]:
    """A literal, deliberately naive reading of the WHATWG parsing rules.

    Returns the events, the last event ID string (committed at each blank
    line) and the last reconnection time set.
    """
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    pieces = re.split(r"\r\n|\r|\n", text)
    lines = pieces[:-1]  # the last piece has no line end: never processed
    events: List[SSEEvent] = []
    data_buffer = ""
    event_type = ""
    id_buffer = ""
    last_event_id = ""
    retry: Optional[int] = None
    reconnection_time: Optional[int] = None
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data_buffer == "":
                data_buffer = event_type = ""
                retry = None
                continue
            if data_buffer.endswith("\n"):
                data_buffer = data_buffer[:-1]
            events.append(SSEEvent(data_buffer, event_type or "message", id_buffer or None, retry))
            data_buffer = event_type = ""
            retry = None
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "event":
            event_type = value
        elif field == "data":
            data_buffer += value + "\n"
        elif field == "id":
            if "\x00" not in value:
                id_buffer = value
        elif (
            field == "retry"
            and value
            and all(c in "0123456789" for c in value)
            and len(value) < 4300
        ):
            retry = reconnection_time = int(value)
    return events, last_event_id, reconnection_time


TOKENS = st.sampled_from(
    [
        b"data",
        b"event",
        b"id",
        b"retry",
        b":",
        b" ",
        b"  ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\n",
        b"1",
        b"42",
        b"x",
        b"[DONE]",
        b"\x00",
        b"\xef\xbb\xbf",
        b"\xc3",
        b"\xa9",
        b"\xe2\x82\xac",
        b"\xf0\x9f",
        b"\x98\x80",
        b"\xff",
        b'{"a": 1}',
        b"data: x\n\n",
        b"id: 5\n",
        b"retry: 7\n",
        b"event: e\n",
    ]
)
SSE_LIKE = st.lists(TOKENS, max_size=60).map(b"".join)
STREAMS = st.one_of(SSE_LIKE, st.binary(max_size=200))


@st.composite
def split(draw: st.DrawFn, data: bytes) -> List[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


@given(st.data())
@settings(max_examples=200)
def test_any_split_gives_the_same_events(data: st.DataObject) -> None:
    stream = data.draw(STREAMS)
    chunks = data.draw(split(stream))
    assert decode(chunks) == decode([stream])


@given(STREAMS)
@settings(max_examples=200)
def test_agrees_with_reference(stream: bytes) -> None:
    assert decode([stream]) == reference_decode(stream)
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == reference_decode(stream)


@given(st.data())
@settings(max_examples=200)
def test_decoder_state_agrees_with_reference(data: st.DataObject) -> None:
    stream = data.draw(STREAMS)
    decoder = SSEDecoder()
    events: List[SSEEvent] = []
    for chunk in data.draw(split(stream)):
        events.extend(decoder.feed(chunk))
    assert (events, decoder.last_event_id, decoder.retry) == reference_state(stream)
    assert decoder.bytes_received == len(stream)


LINE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"),
    max_size=20,
)
FIELD_ENDS = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def event_streams(draw: st.DrawFn) -> Tuple[bytes, List[SSEEvent]]:
    """A random valid event stream and the events it must decode to."""
    out: List[bytes] = []
    expected: List[SSEEvent] = []
    current_id: Optional[str] = None
    if draw(st.booleans()):
        out.append(b"\xef\xbb\xbf")
    for _ in range(draw(st.integers(0, 4))):
        lines: List[str] = []
        if draw(st.booleans()):
            lines.append(": " + draw(LINE_TEXT))
        event_type = draw(st.one_of(st.none(), LINE_TEXT))
        if event_type is not None:
            lines.append("event: " + event_type)
        new_id = draw(st.one_of(st.none(), LINE_TEXT.filter(lambda s: "\x00" not in s)))
        if new_id is not None:
            lines.append("id: " + new_id)
            current_id = new_id or None
        retry = draw(st.one_of(st.none(), st.integers(0, 10**9)))
        if retry is not None:
            lines.append(f"retry: {retry}")
        data_lines: Sequence[str] = draw(st.lists(LINE_TEXT, min_size=1, max_size=4))
        # Field order within a block does not matter, except among data lines.
        lines = list(draw(st.permutations(lines)))
        at = 0
        for d in data_lines:
            at = draw(st.integers(at, len(lines)))
            lines.insert(at, "data: " + d)
            at += 1
        for line in [*lines, ""]:
            end = draw(FIELD_ENDS)
            if line == "" and out and out[-1].endswith(b"\r") and end.startswith(b"\n"):
                # CR then LF would be one CRLF line end, not the blank line.
                end = b"\r"
            out.append(line.encode() + end)
        expected.append(SSEEvent("\n".join(data_lines), event_type or "message", current_id, retry))
    if draw(st.booleans()):
        out.append(b"data: unterminated\n")
    return b"".join(out), expected


@given(st.data())
@settings(max_examples=150)
def test_valid_streams_round_trip(data: st.DataObject) -> None:
    stream, expected = data.draw(event_streams())
    chunks = data.draw(split(stream))
    assert decode(chunks) == expected


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), max_size=5))
def test_json_payloads_round_trip(payloads: List[Dict[str, int]]) -> None:
    stream = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)
    stream += b"data: [DONE]\n\n"
    events = decode([stream])
    assert [e.data for e in events[:-1]] == payloads
    assert events[-1].done


@given(STREAMS)
@settings(max_examples=200)
def test_one_event_per_chunk_agrees_with_reference(stream: bytes) -> None:
    # Servers usually write one event per chunk, which the decoder takes on a short path.
    pieces = stream.split(b"\n\n")
    chunks = [piece + b"\n\n" for piece in pieces[:-1]] + [pieces[-1]]
    decoder = SSEDecoder()
    events: List[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    assert (events, decoder.last_event_id, decoder.retry) == reference_state(stream)


@pytest.mark.parametrize(
    "raw", ['{"a": 1}', ' {"a": 1}', '{"a": 1} ', '{"a": 1} x', "[1, 2]", "1e400", "NaN", "", "{"]
)
def test_event_data_reads_json_as_json_loads_does(raw: str) -> None:
    try:
        expected = json.loads(raw)
    except ValueError:
        expected = None
    got = SSEEvent(raw).data
    assert got == expected or (got != got and expected != expected)  # NaN is not NaN
