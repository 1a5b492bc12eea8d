"""Every example of the BabyAPI documentation, run in order against BABYAPI_BASE_URL.

Run it through `make demo`, which starts a local server and points this script at it,
or against any BabyAPI / OpenAI-compatible server:

    BABYAPI_API_KEY=... BABYAPI_BASE_URL=http://127.0.0.1:8000 python examples/quickstart.py
"""

from __future__ import annotations

import os

from babyapi import BabyAPI, BabyAPIError, RequestOptions


def section(title: str) -> None:
    print(f"\n=== {title} ===")


section("baby.infer with a dict")
client = BabyAPI(
    api_key=os.getenv("BABYAPI_API_KEY"),
    default_model="mistral",
)
out = client.baby.infer(
    {
        "prompt": "Write a 1-line release note title for BabyAPI.",
        "maxTokens": 40,
        "temperature": 0.5,
    }
)
print(out["output"])
print(out.get("usage"))

section("baby.infer with a plain string")
out = client.baby.infer("Explain BabyAPI in one sentence.")
print(out["output"])

section("baby.infer with aliases and nested options")
out = client.baby.infer(
    {
        "model": "mistral",
        "prompt": "Give 3 calm API principles.",
        "options": {"topP": 0.9, "max_tokens": 80},
    }
)
print(out["output"])

section("client.infer routes by payload")
chat_res = client.infer(
    {
        "model": "mistral",
        "messages": [{"role": "user", "content": "One-line slogan for BabyAPI?"}],
    }
)
print(chat_res["choices"][0]["message"]["content"])
comp_res = client.infer(
    model="mistral",
    prompt="Give 3 product names for a tiny LLM SDK.",
    max_tokens=60,
)
print(comp_res["choices"][0]["text"])

section("chat completions")
res = client.chat.completions.create(
    model="mixtral",
    messages=[
        {"role": "system", "content": "You are concise."},
        {"role": "user", "content": "Give me 3 tagline ideas for a tiny LLM API."},
    ],
    temperature=0.7,
)
print(res["choices"][0]["message"]["content"])

section("completions")
res = client.completions.create(
    model="mistral",
    prompt="Write a friendly release note opener for BabyAPI.",
    max_tokens=120,
    temperature=0.7,
)
print(res["choices"][0]["text"])

section("embeddings: one text")
res = client.embeddings.create(
    model="qwen3-embedding",
    input="BabyAPI makes LLMs easy.",
)
print(res["data"][0]["embedding"][:5])
print(res["usage"])

section("embeddings: several texts")
res = client.embeddings.create(
    model="qwen3-embedding",
    input=[
        "First document to embed.",
        "Second document to embed.",
    ],
)
for item in res["data"]:
    print(f"Index {item['index']}: {len(item['embedding'])} dimensions")

section("rerank")
res = client.rerank.create(
    model="qwen3-reranker",
    query="What is BabyAPI?",
    documents=[
        "BabyAPI is a tiny hosted LLM API.",
        "The weather is nice today.",
        "BabyAPI supports OpenAI-compatible endpoints.",
    ],
)
for result in res["results"]:
    print(f"Index {result['index']}: relevance_score={result['relevance_score']:.4f}")

section("streaming chat")
client = BabyAPI(api_key=os.getenv("BABYAPI_API_KEY"))
for event in client.chat.completions.stream(
    model="mistral",
    messages=[{"role": "user", "content": "Write a short poem about servers."}],
):
    if event.done:
        break
    delta = (event.data or {}).get("choices", [{}])[0].get("delta", {})
    chunk = delta.get("content")
    if chunk:
        print(chunk, end="", flush=True)
print()

section("streaming completions")
for event in client.completions.stream(
    model="mistral",
    prompt="List 5 calm API-building tips.",
):
    if event.done:
        break
    text = (event.data or {}).get("choices", [{}])[0].get("text")
    if text:
        print(text, end="", flush=True)
print()

section("vision")
res = client.chat.completions.create(
    model="pixtral",
    messages=[
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "Describe the image in 2 sentences. Then list 3 objects you see.",
                },
                {
                    "type": "image_url",
                    "image_url": {"url": "https://api.babyapi.org/images/banner.png"},
                },
            ],
        }
    ],
)
print(res["choices"][0]["message"]["content"])

section("vision, streamed")
for event in client.chat.completions.stream(
    model="pixtral",
    messages=[
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this image trying to communicate?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://api.babyapi.org/images/banner.png"},
                },
            ],
        }
    ],
):
    if event.done:
        break
    delta = (event.data or {}).get("choices", [{}])[0].get("delta", {})
    chunk = delta.get("content")
    if chunk:
        print(chunk, end="", flush=True)
print()

section("configuration")
client = BabyAPI(
    api_key=os.getenv("BABYAPI_API_KEY"),
    base_url=os.getenv("BABYAPI_BASE_URL"),
    timeout_s=60.0,
    max_retries=2,
    retry_base_delay_s=0.25,
    default_model="mistral",
    default_headers={"x-app": "my-sideproject"},
)
print(client)

section("per-call request options")
client = BabyAPI(api_key=os.getenv("BABYAPI_API_KEY"))
res = client.chat.completions.create(
    request_options=RequestOptions(
        timeout_s=30.0,
        max_retries=0,
        headers={"x-trace": "abc123"},
    ),
    model="mistral",
    messages=[{"role": "user", "content": "Hello."}],
)
print(res["choices"][0]["message"]["content"])
res = client.chat.completions.create(
    request_options={"timeout_s": 10.0, "headers": {"x-app": "demo"}},
    model="mistral",
    messages=[{"role": "user", "content": "Hi again."}],
)
print(res["choices"][0]["message"]["content"])

section("errors")
client = BabyAPI(api_key=os.getenv("BABYAPI_API_KEY"))
try:
    client.chat.completions.create(model="mistral", messages=[])
except BabyAPIError as err:
    print(
        {
            "message": err.message,
            "status": err.status,
            "code": err.code,
            "type": err.type,
            "request_id": err.request_id,
        }
    )

section("context manager")
with BabyAPI(api_key=os.getenv("BABYAPI_API_KEY")) as client:
    res = client.completions.create(model="mistral", prompt="Ping")
    print(res["choices"][0]["text"])
