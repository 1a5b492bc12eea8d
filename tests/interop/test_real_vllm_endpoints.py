"""vLLM's own endpoints (tokens, scores, classes, pooling, LoRA, status) on the real servers.

llama-server has some of them under other field names (/tokenize, /detokenize, /health,
/metrics); the rest it lacks, and the matrix quotes its answer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from real_servers import Record, ServerDriver, Target, require_servers  # pyright: ignore[reportImplicitRelativeImport]

from babyapi import BabyAPIError, BadRequestError, NotFoundError

require_servers()

HELLO = [{"role": "user", "content": "Say hello to the world."}]
TEXT = "hello world the panda is a bear"


def _lacks(driver: ServerDriver, record: Record, call: Any, client: Any = None) -> None:
    """The server has no such route (or answers with no such shape): keep its answer."""
    with pytest.raises(BabyAPIError) as info:
        driver.call(call, client)
    record.lacks_it(info.value if info.value.status else f"{info.value.message}")


@pytest.mark.feature("tokenize-prompt")
def test_tokenize_a_prompt_and_back(target: Target, driver: ServerDriver) -> None:
    model = target.chat.model
    counted = driver.call(lambda c: c.tokenizer.tokenize(TEXT, model=model))
    assert counted["count"] == len(counted["tokens"]) > 0
    assert all(isinstance(t, int) and t >= 0 for t in counted["tokens"])
    if target.name == "vllm":
        assert counted["max_model_len"] == 2048
        strings = driver.call(
            lambda c: c.tokenizer.tokenize(TEXT, model=model, return_token_strs=True)
        )["token_strs"]
        assert len(strings) == counted["count"]
    plain = driver.call(
        lambda c: c.tokenizer.tokenize(TEXT, model=model, add_special_tokens=False)
    )["tokens"]
    back = driver.call(lambda c: c.tokenizer.detokenize(plain, model=model))
    assert back["prompt"].strip() == TEXT


@pytest.mark.feature("tokenize-messages")
def test_tokenize_messages_counts_what_chat_counts(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    model = target.chat.model
    if target.name == "llama.cpp":
        _lacks(driver, record, lambda c: c.tokenizer.tokenize(messages=HELLO, model=model))
        return
    counted = driver.call(lambda c: c.tokenizer.tokenize(messages=HELLO, model=model))
    chat = driver.call(
        lambda c: c.chat.completions.create(model=model, messages=HELLO, max_tokens=1)
    )
    assert counted["count"] == chat["usage"]["prompt_tokens"]


@pytest.mark.feature("prompt-fit")
def test_does_the_prompt_fit(target: Target, driver: ServerDriver, record: Record) -> None:
    model = target.chat.model
    if target.name == "llama.cpp":
        _lacks(driver, record, lambda c: c.tokenizer.fit(TEXT, model=model))
        fit = driver.call(lambda c: c.tokenizer.fit(TEXT, model=model, max_model_len=2048))
        assert fit["tokens_left"] == 2048 - fit["count"]
        return
    fit = driver.call(lambda c: c.tokenizer.fit(messages=HELLO, model=model, max_tokens=100))
    assert fit["max_model_len"] == 2048 and fit["fits"] is True
    assert fit["tokens_left"] == 2048 - fit["count"]
    assert (
        driver.call(lambda c: c.tokenizer.fit(TEXT, model=model, max_tokens=2048))["fits"] is False
    )


@pytest.mark.feature("score")
def test_score_pairs(target: Target, driver: ServerDriver, record: Record) -> None:
    client = driver.client_for(target.rerank)
    model = target.rerank.model
    docs = ["The giant panda is a bear", "paris is a city", "hello there"]
    if target.name == "llama.cpp":
        _lacks(
            driver,
            record,
            lambda c: c.score.create(model=model, queries="panda", documents=docs),
            client,
        )
        return
    res = driver.call(
        lambda c: c.score.create(model=model, queries="panda", documents=docs), client
    )
    assert [item["index"] for item in res["data"]] == [0, 1, 2]
    assert all(isinstance(item["score"], float) for item in res["data"])
    pairs = driver.call(
        lambda c: c.score.create(model=model, queries=["a", "b"], documents=["c", "d"]), client
    )
    assert len(pairs["data"]) == 2
    with pytest.raises(BadRequestError) as info:
        driver.call(
            lambda c: c.score.create(model=model, queries=["a", "b"], documents=["x", "y", "z"]),
            client,
        )
    assert "1:1, 1:N or N:N" in info.value.message


@pytest.mark.feature("classify")
def test_classify(target: Target, driver: ServerDriver, record: Record) -> None:
    client = driver.client_for(target.rerank)
    model = target.rerank.model
    if target.name == "llama.cpp":
        _lacks(driver, record, lambda c: c.classify.create(model=model, input="x"), client)
        return
    res = driver.call(lambda c: c.classify.create(model=model, input=["a panda", "a city"]), client)
    assert [item["index"] for item in res["data"]] == [0, 1]
    for item in res["data"]:
        assert item["num_classes"] == len(item["probs"]) == 1
        assert 0.0 <= item["probs"][0] <= 1.0
    record.note(f"classify on the one-label ranker gives label {res['data'][0]['label']!r}")


@pytest.mark.feature("pooling")
def test_pooling(target: Target, driver: ServerDriver, record: Record) -> None:
    client = driver.client_for(target.embed)
    model = target.embed.model
    if target.name == "llama.cpp":
        _lacks(
            driver, record, lambda c: c.pooling.create(model=model, input="x", task="embed"), client
        )
        return
    res = driver.call(
        lambda c: c.pooling.create(model=model, input=["a panda", "a city"], task="embed"), client
    )
    vectors = [item["data"] for item in res["data"]]
    assert len(vectors) == 2 and all(isinstance(x, float) for x in vectors[0])
    embedded = driver.call(lambda c: c.embeddings.create(model=model, input="a panda"), client)
    assert vectors[0] == pytest.approx(embedded["data"][0]["embedding"], abs=1e-4)


@pytest.mark.feature("lora")
def test_lora_load_chat_unload(target: Target, driver: ServerDriver, record: Record) -> None:
    if target.lora_path is None:
        _lacks(driver, record, lambda c: c.lora.load("tiny-lora", "/nonexistent/adapter"))
        return
    name = f"tiny-lora-{driver.kind}"
    path = target.lora_path
    said = driver.call(lambda c: c.lora.load(name, path))
    assert said == f"Success: LoRA adapter '{name}' added successfully."
    try:
        listed = driver.call(lambda c: c.lora.list())
        assert (name, target.chat.model) in [(m["id"], m["parent"]) for m in listed]
        reply = driver.call(
            lambda c: c.chat.completions.create(model=name, messages=HELLO, max_tokens=4)
        )
        assert reply["model"] == name and reply["usage"]["completion_tokens"] == 4
        with pytest.raises(BadRequestError, match="already been loaded"):
            driver.call(lambda c: c.lora.load(name, path))
    finally:
        driver.call(lambda c: c.lora.unload(name))
    with pytest.raises(NotFoundError, match="cannot be found"):
        driver.call(lambda c: c.lora.unload(name))
    with pytest.raises(NotFoundError, match="No adapter found"):
        driver.call(lambda c: c.lora.load(name, path + "-missing"))


@pytest.mark.feature("health")
def test_health(target: Target, driver: ServerDriver) -> None:
    for endpoint in (target.chat, target.embed, target.rerank):
        assert driver.call(lambda c: c.server.health(), driver.client_for(endpoint)) is True


@pytest.mark.feature("version")
def test_version(target: Target, driver: ServerDriver, record: Record) -> None:
    if target.name == "llama.cpp":
        _lacks(driver, record, lambda c: c.server.version())
        return
    assert driver.call(lambda c: c.server.version())["version"] in target.version


@pytest.mark.feature("load")
def test_load_counts_a_stream_in_flight(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    if target.name == "llama.cpp":
        _lacks(driver, record, lambda c: c.server.load())
        return
    watcher = driver.make(base_url=target.chat.base_url)
    assert _load_settles_at_zero(driver, watcher)
    if driver.is_async:
        return  # the sync run holds a stream open and watches the count
    body: Any = {"model": target.chat.model, "messages": HELLO, "max_tokens": 1500}
    with driver.client.chat.completions.stream(**body) as stream:
        next(iter(stream))
        assert driver.call(lambda c: c.server.load(), watcher) == {"server_load": 1}
    assert _load_settles_at_zero(driver, watcher)


def _load_settles_at_zero(driver: ServerDriver, watcher: Any) -> bool:
    """The count drops once the server notices a closed stream: wait for it, boundedly."""
    for _ in range(100):
        if driver.call(lambda c: c.server.load(), watcher) == {"server_load": 0}:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.feature("metrics")
def test_metrics(target: Target, driver: ServerDriver) -> None:
    model = target.chat.model if target.name == "llama.cpp" else None
    driver.call(
        lambda c: c.chat.completions.create(model=target.chat.model, messages=HELLO, max_tokens=2)
    )
    metrics = driver.call(lambda c: c.server.metrics(model=model))
    assert metrics["requests_running"] is not None and metrics["requests_running"] >= 0
    assert metrics["requests_waiting"] == 0
    if target.name == "vllm":
        assert metrics["kv_cache_usage"] is not None and 0.0 <= metrics["kv_cache_usage"] <= 1.0
        assert "vllm:time_to_first_token_seconds" in metrics["text"]
    else:
        assert metrics["kv_cache_usage"] is None
        assert "llamacpp:" in metrics["text"]
