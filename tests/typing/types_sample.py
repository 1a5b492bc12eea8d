"""Type-checker sample for babyapi.types: checked by mypy and basedpyright, never run."""

from __future__ import annotations

from typing import Optional, Union

from typing_extensions import assert_type

from babyapi.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionCreateParams,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCall,
    ChatCompletionToolParam,
    Completion,
    CompletionCreateParams,
    CreateEmbeddingResponse,
    EmbeddingCreateParams,
    ErrorResponse,
    InferInput,
    InferOptions,
    InferResponse,
    ModelList,
    RerankCreateParams,
    RerankDocument,
    RerankResponse,
    Usage,
)

# --- request bodies: the seed's examples, written as typed dicts -------------------

chat_params: ChatCompletionCreateParams = {
    "model": "mixtral",
    "messages": [
        {"role": "system", "content": "You are concise."},
        {"role": "user", "content": "Give me 3 tagline ideas for a tiny LLM API."},
    ],
    "temperature": 0.7,
    "top_k": 40,
    "guided_json": {"type": "object"},
    "stream_options": {"include_usage": True},
}

vision: ChatCompletionCreateParams = {
    "model": "pixtral",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Describe the image in 2 sentences."},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://api.babyapi.org/images/banner.png"},
                },
            ],
        }
    ],
}

weather_tool: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
tool_params: ChatCompletionCreateParams = {
    "model": "mistral",
    "messages": [{"role": "user", "content": "Weather in Paris?"}],
    "tools": [weather_tool],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {}}},
}

completion_params: CompletionCreateParams = {
    "model": "mistral",
    "prompt": "Write a friendly release note opener for BabyAPI.",
    "max_tokens": 120,
    "stop": ["\n\n"],
}
token_prompt: CompletionCreateParams = {"model": "mistral", "prompt": [[1, 2, 3], [4, 5]]}

embedding_params: EmbeddingCreateParams = {
    "model": "qwen3-embedding",
    "input": ["First document to embed.", "Second document to embed."],
    "encoding_format": "base64",
    "truncate_prompt_tokens": 512,
}

rerank_params: RerankCreateParams = {
    "model": "qwen3-reranker",
    "query": "What is BabyAPI?",
    "documents": ("BabyAPI is a tiny hosted LLM API.", "The weather is nice today."),
    "top_n": 1,
    "return_documents": True,
}

infer_options: InferOptions = {
    "model": "mistral",
    "prompt": "Give 3 calm API principles.",
    "maxTokens": 40,
    "temperature": None,
    "options": {"topP": 0.9, "max_tokens": 80},
}
infer_inputs: list[InferInput] = ["Explain BabyAPI.", infer_options, {"anything": 1}]


# --- responses ---------------------------------------------------------------------


def read_chat(res: ChatCompletion) -> None:
    """Read a chat completion the way the seed does."""
    message = res["choices"][0]["message"]
    assert_type(message["content"], Optional[str])
    assert_type(res["choices"][0]["finish_reason"], Optional[str])
    assert_type(res.get("usage"), Optional[Usage])
    for call in message.get("tool_calls") or []:
        assert_type(call, ChatCompletionMessageToolCall)
        assert_type(call["function"]["arguments"], str)
    # A response message goes back into the conversation as is.
    history: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]
    history.append(message)
    history.append({"role": "tool", "tool_call_id": "call_1", "content": "18C"})
    history.append({"role": "assistant", "tool_calls": []})


def read_chunk(chunk: ChatCompletionChunk) -> str:
    """Collect the text of one stream chunk."""
    assert_type(chunk.get("usage"), Optional[Usage])
    text = ""
    for choice in chunk["choices"]:
        assert_type(choice.get("index"), Optional[int])
        text += choice["delta"].get("content") or ""
        for call in choice["delta"].get("tool_calls") or []:
            assert_type(call["index"], int)
            assert_type(call.get("id"), Optional[str])
    return text


def read_others(
    comp: Completion,
    emb: CreateEmbeddingResponse,
    rr: RerankResponse,
    out: InferResponse,
    models: ModelList,
) -> None:
    """Read the other responses the way the seed does."""
    assert_type(comp["choices"][0]["text"], str)
    assert_type(emb["data"][0]["embedding"], list[float])
    assert_type(emb["usage"]["prompt_tokens"], int)
    assert_type(emb["usage"].get("completion_tokens"), Optional[int])
    for result in rr["results"]:
        assert_type(result["relevance_score"], float)
        assert_type(result.get("document"), Optional[RerankDocument])
    assert_type(out["output"], str)
    assert_type(out.get("usage"), Optional[Usage])
    assert_type(models["data"][0]["id"], str)
    assert_type(models["data"][0].get("created"), Optional[int])


def read_error(body: ErrorResponse) -> None:
    """Error codes come as null, int or string."""
    assert_type(body["error"]["message"], str)
    assert_type(body["error"].get("code"), Union[str, int, None])


# --- mistakes the types catch: each line must fail in both checkers -----------------

Params = ChatCompletionCreateParams
no_messages: Params = {"model": "m"}  # type: ignore[typeddict-item]  # pyright: ignore[reportAssignmentType]
typo: Params = {"model": "m", "messages": [], "temprature": 1}  # type: ignore[typeddict-unknown-key]  # pyright: ignore[reportAssignmentType]
bad_role: list[ChatCompletionMessageParam] = [{"role": "bot", "content": "x"}]  # type: ignore[misc, list-item]  # pyright: ignore[reportAssignmentType]
bad_part: ChatCompletionMessageParam = {"role": "user", "content": [{"type": "image"}]}  # type: ignore[misc, assignment]  # pyright: ignore[reportAssignmentType]
bad_format: EmbeddingCreateParams = {"model": "m", "input": "x", "encoding_format": "int8"}  # type: ignore[typeddict-item]  # pyright: ignore[reportAssignmentType]


def strict_access(comp: Completion, chunk: ChatCompletionChunk) -> None:
    """Keys servers may omit: pyright insists on .get(), mypy allows indexing."""
    print(comp["usage"])  # pyright: ignore[reportTypedDictNotRequiredAccess]
    print(chunk["choices"][0]["index"])  # pyright: ignore[reportTypedDictNotRequiredAccess]
