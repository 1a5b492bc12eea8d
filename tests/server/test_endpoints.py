"""The shape of every endpoint's answer, over real HTTP."""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any, Dict, List

import httpx
import pytest

Json = Dict[str, Any]


def chat(client: httpx.Client, **body: Any) -> Json:
    body.setdefault("model", "mistral")
    body.setdefault("messages", [{"role": "user", "content": "Give 3 calm API principles."}])
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def events(response: httpx.Response) -> List[str]:
    """The data payloads of an SSE body, in order."""
    return [
        line[len("data: ") :] for line in response.text.split("\n\n") if line.startswith("data: ")
    ]


def check_usage(usage: Json) -> None:
    assert usage["prompt_tokens"] > 0
    assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"]


def test_health_and_models(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    ids = {m["id"] for m in models["data"]}
    assert {
        "mistral",
        "mixtral",
        "pixtral",
        "qwen3-embedding",
        "qwen3-reranker",
        "babyapi-tiny",
    } <= ids
    assert all(m["object"] == "model" for m in models["data"])
    assert client.get("/v1/models/pixtral").json()["id"] == "pixtral"


def test_chat_completion_shape(client: httpx.Client) -> None:
    res = chat(
        client,
        model="mixtral",
        messages=[
            {"role": "system", "content": "You are concise."},
            {"role": "user", "content": "Give me 3 tagline ideas for a tiny LLM API."},
        ],
        temperature=0.7,
    )
    assert res["object"] == "chat.completion"
    assert res["id"].startswith("chatcmpl-")
    assert res["model"] == "mixtral"
    (choice,) = res["choices"]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    assert isinstance(content, str) and len(content.split()) >= 3
    assert choice["finish_reason"] in ("stop", "length")
    check_usage(res["usage"])


def test_chat_is_deterministic_at_temperature_zero_and_with_seed(client: httpx.Client) -> None:
    first = chat(client, temperature=0)["choices"][0]["message"]["content"]
    assert chat(client, temperature=0)["choices"][0]["message"]["content"] == first
    seeded = chat(client, temperature=1.0, seed=42)["choices"][0]["message"]["content"]
    assert chat(client, temperature=1.0, seed=42)["choices"][0]["message"]["content"] == seeded


def test_max_tokens_gives_length_and_usage_counts_tokens(client: httpx.Client) -> None:
    res = chat(client, max_tokens=5, temperature=0)
    assert res["choices"][0]["finish_reason"] == "length"
    assert res["usage"]["completion_tokens"] == 5
    assert len(res["choices"][0]["message"]["content"].split()) == 5


def test_stop_sequence_cuts_the_reply(client: httpx.Client) -> None:
    full = chat(client, temperature=0, max_tokens=30, ignore_eos=True)
    text = full["choices"][0]["message"]["content"]
    word = text.split()[3]
    res = chat(client, temperature=0, max_tokens=30, ignore_eos=True, stop=[word])
    choice = res["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == text[: text.index(word)]
    check_usage(res["usage"])


def test_n_choices(client: httpx.Client) -> None:
    res = chat(client, n=3, max_tokens=4, seed=7)
    assert [c["index"] for c in res["choices"]] == [0, 1, 2]
    assert res["usage"]["completion_tokens"] == 12


def test_vision_content_parts(client: httpx.Client) -> None:
    res = chat(
        client,
        model="pixtral",
        messages=[
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
    )
    assert res["choices"][0]["message"]["content"]
    check_usage(res["usage"])


def test_text_parts_work_on_text_models(client: httpx.Client) -> None:
    res = chat(client, messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    assert res["choices"][0]["message"]["content"]


def test_chat_stream(client: httpx.Client) -> None:
    body = {
        "model": "mistral",
        "messages": [{"role": "user", "content": "Write a short poem about servers."}],
        "stream": True,
        "max_tokens": 6,
        "stream_options": {"include_usage": True},
    }
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    payloads = events(response)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    contents = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert len(contents) == 6 and all(contents)  # one chunk per token
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 6
    check_usage(chunks[-1]["usage"])


def test_stream_matches_plain_reply(client: httpx.Client) -> None:
    body: Json = {"model": "mistral", "prompt": "Release notes", "temperature": 0, "max_tokens": 12}
    plain = client.post("/v1/completions", json=body).json()["choices"][0]["text"]
    streamed = client.post("/v1/completions", json={**body, "stream": True})
    chunks = [json.loads(p) for p in events(streamed)[:-1]]
    assert "usage" not in chunks[-1]  # no usage chunk unless asked
    assert "".join(c["choices"][0]["text"] for c in chunks) == plain


def test_completion_shape(client: httpx.Client) -> None:
    res = client.post(
        "/v1/completions",
        json={"model": "mistral", "prompt": "Write a friendly opener.", "max_tokens": 120},
    ).json()
    assert res["object"] == "text_completion"
    assert res["choices"][0]["text"]
    assert res["choices"][0]["finish_reason"] in ("stop", "length")
    check_usage(res["usage"])
    default = client.post("/v1/completions", json={"model": "mistral", "prompt": "Ping"}).json()
    assert default["usage"]["completion_tokens"] <= 16  # OpenAI's legacy default max_tokens


def test_completion_prompt_list_and_echo(client: httpx.Client) -> None:
    res = client.post(
        "/v1/completions",
        json={
            "model": "mistral",
            "prompt": ["One.", "Two."],
            "n": 2,
            "max_tokens": 3,
            "echo": True,
        },
    ).json()
    texts = [c["text"] for c in res["choices"]]
    assert [c["index"] for c in res["choices"]] == [0, 1, 2, 3]
    assert texts[0].startswith("One.") and texts[3].startswith("Two.")


def test_infer(client: httpx.Client) -> None:
    res = client.post(
        "/infer",
        json={
            "model": "mistral",
            "prompt": "Write a 1-line release note title for BabyAPI.",
            "max_tokens": 40,
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 20,
            "stop": ["\n"],
            "presence_penalty": 0.5,
            "frequency_penalty": 0.5,
        },
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) >= {"id", "model", "output", "usage"}
    assert body["model"] == "mistral" and isinstance(body["output"], str) and body["output"]
    check_usage(body["usage"])


def cosine(a: List[float], b: List[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def embed(client: httpx.Client, **body: Any) -> Json:
    body.setdefault("model", "qwen3-embedding")
    response = client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def test_embeddings_shape_and_determinism(client: httpx.Client) -> None:
    res = embed(client, input="BabyAPI makes LLMs easy.")
    assert res["object"] == "list" and res["model"] == "qwen3-embedding"
    (item,) = res["data"]
    assert item["object"] == "embedding" and item["index"] == 0
    vector = item["embedding"]
    assert len(vector) == 1024
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-9)
    assert res["usage"]["prompt_tokens"] == res["usage"]["total_tokens"] > 0
    assert embed(client, input="BabyAPI makes LLMs easy.")["data"][0]["embedding"] == vector


def test_embeddings_list_dimensions_and_similarity(client: httpx.Client) -> None:
    texts = [
        "The cat sat on the mat.",
        "A cat was sitting on the mat.",
        "Quarterly revenue grew by twelve percent.",
    ]
    res = embed(client, input=texts, dimensions=256)
    vectors = [item["embedding"] for item in res["data"]]
    assert [item["index"] for item in res["data"]] == [0, 1, 2]
    assert all(len(v) == 256 for v in vectors)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2


def test_embeddings_base64(client: httpx.Client) -> None:
    floats = embed(client, input="hello world", dimensions=8)["data"][0]["embedding"]
    encoded = embed(client, input="hello world", dimensions=8, encoding_format="base64")
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack("<8f", raw)
    assert decoded == pytest.approx(floats, rel=1e-6)


def test_rerank(client: httpx.Client) -> None:
    documents = [
        "The weather is nice today.",
        "BabyAPI is a tiny hosted LLM API.",
        "Bananas are rich in potassium.",
    ]
    res = client.post(
        "/v1/rerank",
        json={"model": "qwen3-reranker", "query": "What is BabyAPI?", "documents": documents},
    ).json()
    results = res["results"]
    assert results[0]["index"] == 1
    assert results[0]["document"] == {"text": documents[1]}
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > scores[-1]
    assert res["usage"]["total_tokens"] > 0


def test_rerank_top_n_and_return_documents(client: httpx.Client) -> None:
    res = client.post(
        "/v1/rerank",
        json={
            "model": "qwen3-reranker",
            "query": "potassium in bananas",
            "documents": ["Bananas are rich in potassium.", "Cars need fuel.", "Sky is blue."],
            "top_n": 2,
            "return_documents": False,
        },
    ).json()
    assert len(res["results"]) == 2
    assert res["results"][0]["index"] == 0
    assert "document" not in res["results"][0]
