"""Type-checker sample for the client API: checked by mypy and basedpyright, never run."""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator, Optional

import httpx
from typing_extensions import assert_type

from babyapi import (
    APIConnectionError,
    APIResponse,
    AsyncBabyAPI,
    AsyncStream,
    BabyAPI,
    BabyAPIError,
    HTTPResponse,
    RateLimitError,
    RequestOptions,
    SSEEvent,
    Stream,
)
from babyapi.types import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    CompletionChunk,
    CreateEmbeddingResponse,
    InferResponse,
    Model,
    ModelList,
    RerankResponse,
)

MESSAGES: list[dict[str, str]] = []


def sync_client(client: BabyAPI) -> None:
    """Each method returns its response type."""
    chat = client.chat.completions.create(
        model="mistral",
        messages=[{"role": "user", "content": "Hi"}],
        temperature=0.7,
        extra_body={"guided_json": {"type": "object"}},
        request_options=RequestOptions(timeout_s=5.0),
    )
    assert_type(chat, ChatCompletion)
    assert_type(chat["choices"][0]["message"]["content"], Optional[str])

    comp = client.completions.create(model="mistral", prompt="Once", max_tokens=20)
    assert_type(comp, Completion)

    emb = client.embeddings.create(model="qwen3-embedding", input=["a", "b"], dimensions=256)
    assert_type(emb, CreateEmbeddingResponse)

    ranked = client.rerank.create(model="qwen3-reranker", query="q", documents=["a", "b"], top_n=1)
    assert_type(ranked, RerankResponse)

    assert_type(client.models.list(request_options={"timeout_s": 10.0}), ModelList)
    assert_type(client.baby.infer("Explain BabyAPI."), InferResponse)
    assert_type(
        client.baby.infer({"prompt": "Hi", "maxTokens": 40}, temperature=0.2), InferResponse
    )
    assert_type(client.with_options(timeout_s=5.0), BabyAPI)
    # client.infer: keyword arguments pick the endpoint, and so the type; a dict body is JSON.
    assert_type(
        client.infer(model="m", messages=[{"role": "user", "content": "x"}]), ChatCompletion
    )
    assert_type(client.infer(model="m", prompt="Give 3 names.", max_tokens=60), Completion)
    assert_type(client.infer({"model": "m", "prompt": "x"}), Any)


def sync_streams(client: BabyAPI) -> None:
    """Streams carry their chunk type and the type final() returns."""
    chat = client.chat.completions.stream(
        model="mistral", messages=[{"role": "user", "content": "Hi"}]
    )
    assert_type(chat, Stream[ChatCompletionChunk, ChatCompletion])
    for event in chat:
        assert_type(event, SSEEvent)
        assert_type(event.data, Any)
        assert_type(event.raw, str)
        assert_type(event.done, bool)
    assert_type(chat.text_deltas(), Iterator[str])
    assert_type(chat.final(), ChatCompletion)
    assert_type(chat.status, int)
    assert_type(chat.request_id, Optional[str])
    assert_type(chat.response, HTTPResponse)

    with client.completions.stream(model="mistral", prompt="Count:") as comp:
        assert_type(comp, Stream[CompletionChunk, Completion])
        assert_type(comp.final(), Completion)

    # A one-argument annotation still works: the final type defaults to Any.
    loose: Stream[ChatCompletionChunk] = chat
    assert_type(loose.final(), Any)


async def async_client(client: AsyncBabyAPI) -> None:
    """The async client: the same types, awaited."""
    chat = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    assert_type(chat, ChatCompletion)
    assert_type(await client.completions.create(model="m", prompt="x"), Completion)
    assert_type(await client.embeddings.create(model="m", input="x"), CreateEmbeddingResponse)
    assert_type(await client.rerank.create(model="m", query="q", documents=["a"]), RerankResponse)
    assert_type(await client.models.list(), ModelList)
    assert_type(await client.baby.infer("x"), InferResponse)
    assert_type(await client.infer(model="m", prompt="x"), Completion)

    stream = client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}])
    assert_type(stream, AsyncStream[ChatCompletionChunk, ChatCompletion])
    async with stream as opened:
        assert_type(opened, AsyncStream[ChatCompletionChunk, ChatCompletion])
        async for event in opened:
            assert_type(event, SSEEvent)
    assert_type(stream.text_deltas(), AsyncIterator[str])
    assert_type(await stream.final(), ChatCompletion)
    assert_type(await stream, AsyncStream[ChatCompletionChunk, ChatCompletion])

    comp = client.completions.stream(model="m", prompt="x")
    assert_type(await comp.final(), Completion)


def everyday(client: BabyAPI) -> None:
    """Response metadata, models.retrieve, extra headers and query: all typed."""
    res = client.chat.completions.with_response.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    assert_type(res, APIResponse[ChatCompletion])
    assert_type(res.data, ChatCompletion)
    assert_type(res.status, int)
    assert_type(res.headers, httpx.Headers)
    assert_type(res.request_id, Optional[str])
    assert_type(res.response, HTTPResponse)
    assert_type(
        client.with_response.chat.completions.create(model="m", messages=[]),
        APIResponse[ChatCompletion],
    )
    assert_type(
        client.completions.with_response.create(model="m", prompt="x"), APIResponse[Completion]
    )
    assert_type(
        client.embeddings.with_response.create(model="m", input="x"),
        APIResponse[CreateEmbeddingResponse],
    )
    assert_type(
        client.rerank.with_response.create(model="m", query="q", documents=["a"]),
        APIResponse[RerankResponse],
    )
    assert_type(client.models.with_response.list(), APIResponse[ModelList])
    assert_type(client.with_response.models.retrieve("m"), APIResponse[Model])
    assert_type(client.baby.with_response.infer("x"), APIResponse[InferResponse])
    assert_type(client.with_response.infer(model="m", prompt="x"), APIResponse[Completion])
    assert_type(client.with_response.infer(model="m", messages=[]), APIResponse[ChatCompletion])
    assert_type(client.models.retrieve("mistral"), Model)
    emb = client.embeddings.create(model="m", input="x", encoding_format="base64")
    assert_type(emb["data"][0]["embedding"], list[float])
    client.chat.completions.create(
        model="m",
        messages=[],
        extra_headers={"x-trace": "1"},
        extra_query={"api-version": "2024-06-01"},
    )
    client.chat.completions.with_response.create(model="m", messages=[], temprature=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    client.models.retrieve()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


async def async_everyday(client: AsyncBabyAPI) -> None:
    """The async twins, awaited."""
    res = await client.chat.completions.with_response.create(model="m", messages=[])
    assert_type(res, APIResponse[ChatCompletion])
    assert_type(await client.with_response.models.list(), APIResponse[ModelList])
    assert_type(await client.models.retrieve("m", extra_query={"a": 1}), Model)
    assert_type(await client.with_response.infer(model="m", prompt="x"), APIResponse[Completion])
    assert_type(await client.baby.with_response.infer("x"), APIResponse[InferResponse])


def errors(client: BabyAPI) -> None:
    """Error attributes are typed."""
    try:
        client.models.list()
    except RateLimitError as err:
        assert_type(err.retry_after, Optional[float])
        assert_type(err.status, Optional[int])
    except APIConnectionError as err:
        assert_type(err.code, Optional[str])
    except BabyAPIError as err:
        assert_type(err.message, str)
        assert_type(err.type, Optional[str])
        assert_type(err.request_id, Optional[str])
        assert_type(err.details, Any)
        assert_type(err.response, Optional[HTTPResponse])
        assert_type(err.partial, Optional[dict[str, Any]])
        assert_type(err.attempts, Optional[int])
        assert_type(err.cause, Optional[BaseException])


# --- mistakes the types catch: each line must fail in both checkers -----------------


def mistakes(client: BabyAPI) -> None:
    """A misspelled field, a wrong type, create(stream=True), a missing field, a bad option."""
    msgs: list[Any] = [{"role": "user", "content": "Hi"}]
    client.chat.completions.create(model="m", messages=msgs, temprature=0.7)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    client.chat.completions.create(model="m", messages=msgs, temperature="hot")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    client.chat.completions.create(model="m", messages=msgs, stream=True)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    client.completions.create(model="m")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    client.embeddings.create(model="m", input="x", encoding_format="int8")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    client.baby.infer(42)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    client.models.list(request_options=5.0)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    client.chat.completions.create(model="m", messages=msgs)["choices"][0]["text"]  # type: ignore[typeddict-item]  # pyright: ignore[reportGeneralTypeIssues]
    client.chat.completions.stream(model="m", messages=msgs).final()["choices"][0]["text"]  # type: ignore[typeddict-item]  # pyright: ignore[reportGeneralTypeIssues]
    BabyAPI(timeout=5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    AsyncBabyAPI(organization="org")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def separate_defaults() -> None:
    """Embeddings and rerank have default models of their own."""
    BabyAPI(default_model="m", default_embedding_model="e", default_rerank_model="r")
