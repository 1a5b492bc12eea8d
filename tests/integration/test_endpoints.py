"""Each endpoint, checked on the wire: method, path, headers and the exact JSON body."""

from __future__ import annotations

import uuid

from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

CHAT = {
    "id": "c1",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}}],
}
COMPLETION = {"id": "c2", "object": "text_completion", "choices": [{"index": 0, "text": "Once"}]}
MESSAGES = [{"role": "user", "content": "Hello."}]


def test_chat_create_sends_the_body_unchanged_with_auth_and_idempotency(driver: Driver) -> None:
    driver.server.script(Reply.json(CHAT, headers={"x-request-id": "req-1"}))
    res = driver.call(
        lambda c: c.chat.completions.create(
            model="mixtral",
            messages=MESSAGES,
            temperature=0.7,
            top_k=5,
            chat_template_kwargs={"x": 1},
        )
    )
    assert res["choices"][0]["message"]["content"] == "Hi!"
    (req,) = driver.server.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.json() == {
        "model": "mixtral",
        "messages": MESSAGES,
        "temperature": 0.7,
        "top_k": 5,
        "chat_template_kwargs": {"x": 1},
    }
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["accept"] == "application/json"
    assert uuid.UUID(req.headers["idempotency-key"]).version == 4
    assert req.headers["x-babyapi-retry-count"] == "0"


def test_each_call_gets_a_fresh_idempotency_key(driver: Driver) -> None:
    driver.server.script(Reply.json(CHAT))
    for _ in range(2):
        driver.call(lambda c: c.chat.completions.create(model="m", messages=MESSAGES))
    first, second = driver.server.requests
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


def test_completions_create(driver: Driver) -> None:
    driver.server.script(Reply.json(COMPLETION))
    res = driver.call(
        lambda c: c.completions.create(model="mistral", prompt="Write", max_tokens=120)
    )
    assert res["choices"][0]["text"] == "Once"
    (req,) = driver.server.requests
    assert req.path == "/v1/completions"
    assert req.json() == {"model": "mistral", "prompt": "Write", "max_tokens": 120}


def test_embeddings_single_and_batch(driver: Driver) -> None:
    vectors = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }
    driver.server.script(Reply.json(vectors))
    res = driver.call(
        lambda c: c.embeddings.create(model="qwen3-embedding", input="BabyAPI", dimensions=2)
    )
    assert res["data"][0]["embedding"] == [0.1, 0.2]
    driver.call(
        lambda c: c.embeddings.create(
            model="qwen3-embedding", input=["a", "b"], encoding_format="base64"
        )
    )
    single, batch = driver.server.requests
    assert single.path == "/v1/embeddings"
    assert single.json() == {"model": "qwen3-embedding", "input": "BabyAPI", "dimensions": 2}
    assert batch.json() == {
        "model": "qwen3-embedding",
        "input": ["a", "b"],
        "encoding_format": "base64",
    }


def test_rerank(driver: Driver) -> None:
    ranked = {
        "results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}]
    }
    driver.server.script(Reply.json(ranked))
    res = driver.call(
        lambda c: c.rerank.create(
            model="qwen3-reranker",
            query="q",
            documents=["a", "b", "c"],
            top_n=2,
            return_documents=True,
        )
    )
    assert [r["index"] for r in res["results"]] == [2, 0]
    (req,) = driver.server.requests
    assert req.path == "/v1/rerank"
    assert req.json() == {
        "model": "qwen3-reranker",
        "query": "q",
        "documents": ["a", "b", "c"],
        "top_n": 2,
        "return_documents": True,
    }


def test_models_list_is_a_get_without_body_or_idempotency_key(driver: Driver) -> None:
    driver.server.script(
        Reply.json({"object": "list", "data": [{"id": "mistral", "object": "model"}]})
    )
    res = driver.call(lambda c: c.models.list())
    assert [m["id"] for m in res["data"]] == ["mistral"]
    (req,) = driver.server.requests
    assert (req.method, req.path, req.body) == ("GET", "/v1/models", b"")
    assert "idempotency-key" not in req.headers
    assert req.headers["authorization"] == f"Bearer {API_KEY}"


def test_baby_infer_with_a_string_uses_the_default_model(driver: Driver) -> None:
    driver.server.script(Reply.json({"output": "BabyAPI is tiny.", "usage": {"total_tokens": 4}}))
    client = driver.make(default_model="mistral")
    out = driver.call(lambda c: c.baby.infer("Explain BabyAPI in one sentence."), client)
    assert out["output"] == "BabyAPI is tiny."
    (req,) = driver.server.requests
    assert (req.method, req.path) == ("POST", "/infer")
    assert req.json() == {"model": "mistral", "prompt": "Explain BabyAPI in one sentence."}


def test_default_model_fills_generation_calls_only(driver: Driver) -> None:
    client = driver.make(default_model="mistral")
    driver.server.script(*[Reply.json({"object": "list"})] * 5)
    driver.call(
        lambda c: c.chat.completions.create(messages=[{"role": "user", "content": "Hi"}]), client
    )
    driver.call(lambda c: c.completions.create(prompt="Hi"), client)
    driver.call(lambda c: c.infer(prompt="Hi"), client)
    driver.call(lambda c: c.embeddings.create(input="Hi"), client)
    driver.call(lambda c: c.rerank.create(query="q", documents=["a"]), client)
    models = [req.json().get("model") for req in driver.server.requests]
    # A chat model is never right for embeddings or rerank: there the server picks (or refuses).
    assert models == ["mistral", "mistral", "mistral", None, None]


def test_embedding_and_rerank_defaults_are_separate_settings(driver: Driver) -> None:
    client = driver.make(
        default_model="mistral",
        default_embedding_model="qwen3-embedding",
        default_rerank_model="qwen3-reranker",
    )
    driver.server.script(*[Reply.json({"object": "list"})] * 4)
    driver.call(lambda c: c.embeddings.create(input="Hi"), client)
    driver.call(lambda c: c.rerank.create(query="q", documents=["a"]), client)
    driver.call(lambda c: c.embeddings.create(model="other", input="Hi"), client)
    driver.call(lambda c: c.chat.completions.create(messages=[]), client)
    models = [req.json().get("model") for req in driver.server.requests]
    assert models == ["qwen3-embedding", "qwen3-reranker", "other", "mistral"]


def test_baby_infer_maps_camel_case_and_nested_options_to_snake_case(driver: Driver) -> None:
    driver.server.script(Reply.json({"output": "ok"}))
    driver.call(
        lambda c: c.baby.infer(
            {
                "model": "mistral",
                "prompt": "Give 3 calm API principles.",
                "maxTokens": 40,
                "temperature": None,
                "topP": 0.5,
                "options": {"topP": 0.9, "max_tokens": 80, "presencePenalty": 0.1},
            }
        )
    )
    assert driver.server.requests[0].json() == {
        "model": "mistral",
        "prompt": "Give 3 calm API principles.",
        "max_tokens": 80,
        "top_p": 0.9,
        "presence_penalty": 0.1,
    }


def test_client_infer_routes_messages_to_chat_and_prompt_to_completions(driver: Driver) -> None:
    driver.server.script(Reply.json(CHAT), Reply.json(COMPLETION))
    chat = driver.call(lambda c: c.infer({"model": "mistral", "messages": MESSAGES}))
    comp = driver.call(
        lambda c: c.infer({"model": "x"}, model="mistral", prompt="Give 3 names.", max_tokens=60)
    )
    assert chat["choices"][0]["message"]["content"] == "Hi!"
    assert comp["choices"][0]["text"] == "Once"
    first, second = driver.server.requests
    assert first.path == "/v1/chat/completions"
    assert second.path == "/v1/completions"
    assert second.json() == {"model": "mistral", "prompt": "Give 3 names.", "max_tokens": 60}


def test_vision_content_parts_pass_through(driver: Driver) -> None:
    driver.server.script(Reply.json(CHAT))
    content = [
        {"type": "text", "text": "Describe the image."},
        {"type": "image_url", "image_url": {"url": "https://api.babyapi.org/images/banner.png"}},
    ]
    driver.call(
        lambda c: c.chat.completions.create(
            model="pixtral", messages=[{"role": "user", "content": content}]
        )
    )
    assert driver.server.requests[0].json()["messages"][0]["content"] == content


def test_headers_default_then_per_call_then_authorization(driver: Driver) -> None:
    driver.server.script(Reply.json(CHAT))
    client = driver.make(default_headers={"x-app": "side", "x-keep": "1"})
    driver.call(
        lambda c: c.chat.completions.create(
            request_options={"headers": {"x-app": "demo", "Authorization": "Bearer stolen"}},
            model="m",
            messages=MESSAGES,
        ),
        client,
    )
    headers = driver.server.requests[0].headers
    assert headers["x-app"] == "demo"
    assert headers["x-keep"] == "1"
    assert headers["authorization"] == f"Bearer {API_KEY}"


def test_request_options_api_key_overrides_the_clients(driver: Driver) -> None:
    from babyapi import RequestOptions

    driver.server.script(Reply.json(CHAT))
    driver.call(
        lambda c: c.chat.completions.create(
            request_options=RequestOptions(
                api_key="sk-other", timeout_s=30.0, max_retries=0, headers={"x-trace": "abc123"}
            ),
            model="m",
            messages=MESSAGES,
        )
    )
    headers = driver.server.requests[0].headers
    assert headers["authorization"] == "Bearer sk-other"
    assert headers["x-trace"] == "abc123"


def test_extra_body_is_merged_into_the_json(driver: Driver) -> None:
    driver.server.script(Reply.json(CHAT))
    driver.call(
        lambda c: c.chat.completions.create(
            model="m", messages=MESSAGES, extra_body={"guided_choice": ["a", "b"]}
        )
    )
    assert driver.server.requests[0].json()["guided_choice"] == ["a", "b"]


def test_base_url_with_v1_suffix_still_reaches_v1_paths(driver: Driver) -> None:
    driver.server.script(Reply.json(CHAT))
    client = driver.make(base_url=driver.server.base_url + "/v1/")
    driver.call(lambda c: c.chat.completions.create(model="m", messages=MESSAGES), client)
    assert driver.server.requests[0].path == "/v1/chat/completions"


def test_environment_configures_the_client(driver: Driver, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("BABY_API_KEY", "sk-from-env")
    monkeypatch.delenv("BABYAPI_API_KEY", raising=False)
    monkeypatch.setenv("BABYAPI_BASE_URL", driver.server.base_url + "/")
    monkeypatch.setenv("BABYAPI_DEFAULT_MODEL", "mistral")
    driver.server.script(Reply.json({"output": "ok"}))
    client = driver.make(api_key=None, base_url=None)
    assert client.base_url == driver.server.base_url
    driver.call(lambda c: c.baby.infer("hi"), client)
    req = driver.server.requests[0]
    assert req.headers["authorization"] == "Bearer sk-from-env"
    assert req.json()["model"] == "mistral"
