"""Whatever a server answers, each call returns a result or raises a BabyAPIError: real HTTP.

Hypothesis makes the server's answers: any JSON value (most of them shaped like the right
answer, with any values inside), any bytes, any SSE stream. Every response path takes them:
each endpoint's JSON answer, parse() into a dataclass, and the streams with their folding.
A server that quotes the key back never gets it into an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answer_strategies import chat_answers, completion_answers  # pyright: ignore[reportImplicitRelativeImport]
from babyapi import BabyAPI, BabyAPIError
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

KEY = "sk-property-test-key-0123456789"
MESSAGES = [{"role": "user", "content": "Hi"}]
# Fixtures live for the whole module: each example is one request to the same server.
ONCE = settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # fmt: skip

ANSWER_KEYS = st.sampled_from(
    [
        "id", "object", "model", "choices", "index", "message", "role", "content", "text",
        "finish_reason", "tool_calls", "function", "arguments", "data", "embedding",
        "results", "relevance_score", "document", "usage", "output", "output_text", "type",
        "error", "detail", "refusal", "parsed",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "AAAA", "AAAAAA==", "message", "output_text", '{"city": "Porto"}']),
    st.text(max_size=6),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(ANSWER_KEYS, inner, max_size=5)
    ),
    max_leaves=25,
)
ANSWERS = st.one_of(
    st.dictionaries(ANSWER_KEYS, JSON, max_size=6).map(lambda d: Reply.json(d)),
    JSON.map(lambda value: Reply.json(value)),
    st.binary(max_size=40).map(
        lambda raw: Reply(body=raw, headers={"content-type": "application/json"})
    ),
)


@dataclasses.dataclass
class City:
    city: str


CALLS: dict[str, Callable[[BabyAPI], Any]] = {
    "chat": lambda c: c.chat.completions.create(model="m", messages=MESSAGES),
    "chat.parse": lambda c: c.chat.completions.parse(
        model="m", messages=MESSAGES, response_format=City
    ),
    "completions": lambda c: c.completions.create(model="m", prompt="Hi"),
    "embeddings": lambda c: c.embeddings.create(model="m", input=["a", "b"]),
    "embeddings base64": lambda c: c.embeddings.create(
        model="m", input="a", encoding_format="base64"
    ),
    "rerank": lambda c: c.rerank.create(model="m", query="q", documents=["a", "b"]),
    "models.list": lambda c: c.models.list(),
    "models.retrieve": lambda c: c.models.retrieve("m"),
    "baby.infer": lambda c: c.baby.infer("Hi", model="m"),
    "client.infer": lambda c: c.infer(model="m", messages=MESSAGES),
    "responses": lambda c: c.responses.create(model="m", input="Hi"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ScriptedServer) -> Iterator[BabyAPI]:
    with BabyAPI(api_key=KEY, base_url=server.base_url, max_retries=0) as made:
        yield made


def answered(server: ScriptedServer, reply: Reply) -> None:
    server.reset()
    server.script(reply)


@pytest.mark.parametrize("name", list(CALLS))
@ONCE
@given(reply=ANSWERS)
def test_any_json_answer_is_a_result_or_a_babyapi_error(
    server: ScriptedServer, client: BabyAPI, name: str, reply: Reply
) -> None:
    answered(server, reply)
    with contextlib.suppress(BabyAPIError):  # the only exception a user may see
        CALLS[name](client)


SMALL = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2), max_leaves=3)
CHUNKS = st.fixed_dictionaries(
    {
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": SMALL,
                    "delta": st.one_of(SMALL, st.dictionaries(ANSWER_KEYS, SMALL, max_size=3)),
                    "text": SMALL,
                    "finish_reason": SMALL,
                },
            ),
            max_size=3,
        )
    },
    optional={"usage": SMALL, "type": SMALL},
)
STREAM_EVENTS = st.lists(
    st.one_of(
        CHUNKS,  # shaped like chat and completion chunks, any values inside
        st.dictionaries(ANSWER_KEYS, JSON, max_size=5),
        JSON.map(lambda v: v if not isinstance(v, str) else v or "x"),
        st.binary(max_size=30),  # raw bytes on the wire: broken frames, comments, junk
        st.sampled_from([b"event: error\ndata: {}\n\n", b": ping\n\n", b"data: [DONE]\n\n"]),
    ),
    max_size=6,
)
STREAMS: dict[str, Callable[[BabyAPI], Any]] = {
    "chat.stream": lambda c: c.chat.completions.stream(model="m", messages=MESSAGES),
    "chat.stream parse": lambda c: c.chat.completions.stream(
        model="m", messages=MESSAGES, response_format=City
    ),
    "completions.stream": lambda c: c.completions.stream(model="m", prompt="Hi"),
    "responses.stream": lambda c: c.responses.stream(model="m", input="Hi"),
}


@pytest.mark.parametrize("name", list(STREAMS))
@ONCE
@given(events=STREAM_EVENTS, done=st.booleans())
def test_any_sse_stream_gives_events_and_a_final_answer_or_a_babyapi_error(
    server: ScriptedServer, client: BabyAPI, name: str, events: list[Any], done: bool
) -> None:
    answered(server, Reply.sse(events, done=done))
    try:
        with STREAMS[name](client) as stream:
            for _ in stream:
                pass
            stream.final()
    except BabyAPIError:
        pass


@ONCE
@given(secret=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=12, max_size=60))
def test_a_server_quoting_the_key_back_never_gets_it_into_an_error(
    server: ScriptedServer, secret: str
) -> None:
    # The prefix keeps a drawn key from being a word the SDK writes itself ("Authenticati" is
    # part of the class name in repr(AuthenticationError)), which is no leak.
    key = f"sk-{secret}"

    def echo(request: Any) -> Reply:
        said = f"Incorrect API key provided: {request.headers['authorization']}"
        if request.url_path.endswith("/completions"):
            return Reply.sse([{"error": {"message": said, "param": said}}])
        return Reply.json({"error": {"message": said, "detail": [said]}}, status=401)

    server.reset()
    server.set_handler(echo)
    with BabyAPI(api_key=key, base_url=server.base_url, max_retries=0) as keyed:
        for call in (
            lambda: keyed.models.list(),
            lambda: list(keyed.completions.stream(model="m", prompt="Hi")),
        ):
            with pytest.raises(BabyAPIError) as info:
                call()
            error = info.value
            seen = [str(error), repr(error), error.message, repr(error.details)]
            assert not [text for text in seen if key in text]


@pytest.mark.parametrize("kind", ["chat", "completions"])
@ONCE
@given(data=st.data())
def test_a_streamed_answer_folds_into_the_answer_create_returns(
    server: ScriptedServer, client: BabyAPI, kind: str, data: st.DataObject
) -> None:
    answer, chunks = data.draw(chat_answers() if kind == "chat" else completion_answers())
    answered(server, Reply.json(answer))
    created = (
        client.chat.completions.create(model="m", messages=MESSAGES)
        if kind == "chat"
        else client.completions.create(model="m", prompt="Hi")
    )
    answered(server, Reply.sse(chunks))
    with (
        client.chat.completions.stream(model="m", messages=MESSAGES)
        if kind == "chat"
        else client.completions.stream(model="m", prompt="Hi")
    ) as stream:
        texts = list(stream.text_deltas())
        folded = stream.final()
    assert folded == created == answer
    first = answer["choices"][0]
    assert "".join(texts) == (
        (first["message"]["content"] or "") if kind == "chat" else first["text"]
    )
