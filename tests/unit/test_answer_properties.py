"""Properties of what the SDK makes of server output, whatever the server sends (sans-IO).

- Folding: any chunks fold without a raw exception, and the chunks of an answer fold into
  exactly the answer the non-streaming endpoint returns.
- Redaction: a key of any length is gone from every place a transport or server quotes it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from answer_strategies import chat_answers, completion_answers  # pyright: ignore[reportImplicitRelativeImport]
from babyapi._accumulate import Accumulator
from babyapi._redact import REDACTED, redact, redact_value

# JSON values, with keys a chat or completion chunk uses so the shapes are often nearly right.
CHUNK_KEYS = st.sampled_from(
    [
        "id", "object", "created", "model", "choices", "index", "delta", "message", "role",
        "content", "text", "finish_reason", "logprobs", "tool_calls", "function", "name",
        "arguments", "type", "usage", "reasoning_content", "error", "output", "response",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "a", "assistant", "stop", "function", "response.output_text.delta"]),
    st.text(max_size=8),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(CHUNK_KEYS, st.text(max_size=4)), inner, max_size=5),
    ),
    max_leaves=20,
)


SMALL = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2), max_leaves=3)
FUNCTION = st.fixed_dictionaries({}, optional={"name": SMALL, "arguments": SMALL})
TOOL_CALL = st.fixed_dictionaries(
    {},
    optional={"index": SMALL, "id": SMALL, "type": SMALL, "function": st.one_of(SMALL, FUNCTION)},
)
DELTA = st.fixed_dictionaries(
    {},
    optional={
        "role": SMALL,
        "content": SMALL,
        "reasoning_content": SMALL,
        "tool_calls": st.one_of(SMALL, st.lists(st.one_of(TOOL_CALL, SMALL), max_size=3)),
    },
)
CHOICE = st.fixed_dictionaries(
    {},
    optional={
        "index": SMALL,
        "delta": st.one_of(DELTA, SMALL),
        "text": SMALL,
        "finish_reason": SMALL,
        "logprobs": st.one_of(SMALL, st.dictionaries(st.text(max_size=3), SMALL, max_size=2)),
        "message": SMALL,
    },
)
RESPONSE_TYPES = st.sampled_from(
    [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.output_item.done", "response.content_part.added",
        "response.output_text.delta", "response.output_text.done",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.completed", "response.incomplete", "response.failed", "error",
    ]
)  # fmt: skip
RESPONSE_EVENT = st.fixed_dictionaries(
    {"type": RESPONSE_TYPES},
    optional={
        "output_index": SMALL,
        "content_index": SMALL,
        "item_id": SMALL,
        "delta": SMALL,
        "text": SMALL,
        "arguments": SMALL,
        "item": st.one_of(SMALL, st.dictionaries(CHUNK_KEYS, SMALL, max_size=4)),
        "part": st.one_of(SMALL, st.dictionaries(CHUNK_KEYS, SMALL, max_size=3)),
        "response": st.one_of(SMALL, st.dictionaries(CHUNK_KEYS, JSON, max_size=4)),
    },
)
CHUNK = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {},
        optional={
            "id": SMALL,
            "model": SMALL,
            "object": SMALL,
            "choices": st.one_of(SMALL, st.lists(st.one_of(CHOICE, SMALL), max_size=3)),
            "usage": st.one_of(SMALL, st.dictionaries(st.text(max_size=3), SMALL, max_size=2)),
        },
    ),
    RESPONSE_EVENT,
)


@settings(max_examples=600)
@given(st.lists(CHUNK, max_size=8))
# Found by this test: tool_calls that is true, not a list, escaped as a raw TypeError.
@example([{"choices": [{"delta": {"content": None, "tool_calls": True}}]}])
def test_any_chunks_fold_without_a_raw_exception(chunks: list[Any]) -> None:
    accumulator = Accumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    answer = accumulator.result()
    assert isinstance(answer, dict)


@settings(max_examples=300)
@given(chat_answers())
def test_chunks_of_a_chat_answer_fold_into_that_answer(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    answer, chunks = case
    accumulator = Accumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    assert accumulator.result() == answer


@settings(max_examples=200)
@given(completion_answers())
def test_chunks_of_a_completion_fold_into_that_answer(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    answer, chunks = case
    accumulator = Accumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    assert accumulator.result() == answer


# -- redaction ---------------------------------------------------------------------------------

# Keys as a header carries them: visible ASCII, any length (a local server takes "k").
KEYS = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80)
# Where transports and servers quote a key: the header, a repr of headers, a URL, JSON.
QUOTES = [
    "Authorization: Bearer {}",
    "{{'authorization': 'Bearer {}'}}",
    'Headers({{"authorization": "Bearer {}"}})',
    "https://host/v1/models?api_key={}&x=1",
    '{{"error": {{"message": "Incorrect API key provided: {}."}}}}',
    "{}",
]


def _surviving(text: str, key: str) -> list[int]:
    """Where the key still stands in ``text``: anywhere for a long key; as a whole token (no
    letter or digit glued to its ends) for a short one, which may be part of a word."""
    found, start = [], text.find(key)
    while start >= 0:
        end = start + len(key)
        glued_before = start > 0 and text[start - 1].isalnum() and key[0].isalnum()
        glued_after = end < len(text) and text[end].isalnum() and key[-1].isalnum()
        if len(key) >= 12 or not (glued_before or glued_after):
            found.append(start)
        start = text.find(key, start + 1)
    return found


@settings(max_examples=400)
@given(
    key=KEYS,
    quotes=st.lists(st.sampled_from(QUOTES), min_size=1, max_size=4),
    filler=st.lists(st.text(max_size=12), min_size=4, max_size=4),
)
def test_no_key_of_any_length_survives_where_it_is_quoted(
    key: str, quotes: list[str], filler: list[str]
) -> None:
    text = "".join(f"{f} {q.format(key)}\n" for f, q in zip(filler, quotes))
    redacted = redact(text, key)
    assert _surviving(redacted.replace(REDACTED, "\x00"), key) == []
    assert redacted.count(REDACTED) >= len(quotes)  # every quote of it is marked
    body = {"error": {"message": text, key: [text, {"detail": text}]}, "n": 1}
    for string in _strings(redact_value(body, key)):
        assert _surviving(string.replace(REDACTED, "\x00"), key) == []


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value, the keys of objects included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
