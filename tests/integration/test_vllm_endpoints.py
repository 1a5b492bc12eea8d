"""vLLM's own endpoints through the public API, sync and async, on the local server and scripted answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from babyapi import (
    APIStatusError,
    BabyAPIError,
    BadRequestError,
    NotFoundError,
)
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply  # pyright: ignore[reportImplicitRelativeImport]

HELLO = [{"role": "user", "content": "Hello there, how are you?"}]
CHAT_MODEL = "mistral"


# --------------------------------------------------------------------------- local server


def test_tokenize_counts_what_chat_counts(local: Driver) -> None:
    counted = local.call(lambda c: c.tokenizer.tokenize(messages=HELLO, model=CHAT_MODEL))
    chat = local.call(
        lambda c: c.chat.completions.create(model=CHAT_MODEL, messages=HELLO, max_tokens=1)
    )
    assert counted["count"] == chat["usage"]["prompt_tokens"] == len(counted["tokens"])
    assert counted["max_model_len"] == 4096
    prompt = local.call(
        lambda c: c.tokenizer.tokenize("Hi, world.", model=CHAT_MODEL, return_token_strs=True)
    )
    assert prompt["token_strs"] == ["Hi", ",", "world", "."]


def test_detokenize_gives_the_text_back(local: Driver) -> None:
    tokens = local.call(lambda c: c.tokenizer.tokenize("Good tools stay out of the way."))["tokens"]
    back = local.call(lambda c: c.tokenizer.detokenize(tokens))
    assert back == {"prompt": "Good tools stay out of the way."}


def test_fit_tells_the_room_left_for_the_answer(local: Driver) -> None:
    fit = local.call(lambda c: c.tokenizer.fit(messages=HELLO, model=CHAT_MODEL, max_tokens=100))
    assert fit["max_model_len"] == 4096
    assert fit["tokens_left"] == 4096 - fit["count"]
    assert fit["fits"] is True
    too_long = local.call(lambda c: c.tokenizer.fit(messages=HELLO, max_tokens=4096))
    assert too_long["fits"] is False


def test_score_one_query_against_documents(local: Driver) -> None:
    docs = ["The miller kept a notebook of every storm.", "A calm API is a kind promise."]
    res = local.call(
        lambda c: c.score.create(model="qwen3-reranker", queries="storm notebook", documents=docs)
    )
    assert [item["index"] for item in res["data"]] == [0, 1]
    assert res["data"][0]["score"] > res["data"][1]["score"]


def test_score_lengths_are_the_servers_to_judge(local: Driver) -> None:
    with pytest.raises(BadRequestError) as info:
        local.call(
            lambda c: c.score.create(
                model="qwen3-reranker", queries=["a", "b"], documents=["x", "y", "z"]
            )
        )
    assert "1:1, 1:N or N:N" in info.value.message


def test_classify_and_pooling(local: Driver) -> None:
    res = local.call(
        lambda c: c.classify.create(model="babyapi-tiny", input=["I love it", "awful, broken"])
    )
    assert [item["label"] for item in res["data"]] == ["positive", "negative"]
    pooled = local.call(
        lambda c: c.pooling.create(
            model="babyapi-tiny", input="hello world", task="token_embed", dimensions=3
        )
    )
    assert [len(row) for row in pooled["data"][0]["data"]] == [3, 3]


def test_lora_adapter_lifecycle(local: Driver, tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 8}')
    name = f"terse-{local.kind}"
    said = local.call(lambda c: c.lora.load(name, str(tmp_path)))
    assert said == f"Success: LoRA adapter '{name}' added successfully."
    listed = local.call(lambda c: c.lora.list())
    assert [(a["id"], a["parent"]) for a in listed] == [(name, "babyapi-tiny")]
    reply = local.call(
        lambda c: c.chat.completions.create(model=name, messages=HELLO, max_tokens=2)
    )
    assert reply["model"] == name
    with pytest.raises(BadRequestError, match="already been loaded"):
        local.call(lambda c: c.lora.load(name, str(tmp_path)))
    assert "removed" in local.call(lambda c: c.lora.unload(name))
    with pytest.raises(NotFoundError, match="cannot be found"):
        local.call(lambda c: c.lora.unload(name))
    with pytest.raises(NotFoundError, match="No adapter found"):
        local.call(lambda c: c.lora.load(name, str(tmp_path / "missing")))
    assert local.call(lambda c: c.lora.list()) == []


def test_server_status(local: Driver) -> None:
    assert local.call(lambda c: c.server.health()) is True
    assert local.call(lambda c: c.server.version())["version"]
    assert local.call(lambda c: c.server.load()) == {"server_load": 0}
    metrics = local.call(lambda c: c.server.metrics())
    assert metrics["requests_running"] == 0.0
    assert metrics["requests_waiting"] == 0.0
    assert metrics["kv_cache_usage"] == 0.0
    assert "vllm:num_requests_running" in metrics["text"]


def test_root_routes_from_a_base_url_ending_in_v1(local: Driver) -> None:
    client = local.make(base_url=local.server.base_url + "/v1")
    assert local.call(lambda c: c.tokenizer.tokenize("two words"), client)["count"] == 2
    assert local.call(lambda c: c.server.health(), client) is True


# --------------------------------------------------------------------------- scripted answers

REFUSED: list[tuple[str, Callable[[Any], Any]]] = [
    ("negative token id", lambda c: c.tokenizer.detokenize([5, -1])),
    ("token id not an int", lambda c: c.tokenizer.detokenize([5, "6"])),
    ("token id a bool", lambda c: c.tokenizer.detokenize([True])),
    ("tokens a string", lambda c: c.tokenizer.detokenize("1 2 3")),
    ("prompt and messages", lambda c: c.tokenizer.tokenize("hi", messages=HELLO)),
    ("neither prompt nor messages", lambda c: c.tokenizer.tokenize()),
    ("prompt not a string", lambda c: c.tokenizer.tokenize(["hi"])),
    ("messages a string", lambda c: c.tokenizer.tokenize(messages="hi")),
    ("negative max_tokens", lambda c: c.tokenizer.fit("hi", max_tokens=-1)),
    ("score without documents", lambda c: c.score.create(model="m", queries="q")),
    ("score documents a number", lambda c: c.score.create(model="m", queries="q", documents=3)),
    ("classify without input", lambda c: c.classify.create(model="m")),
    ("pooling input a number", lambda c: c.pooling.create(model="m", input=7)),
    ("lora without a name", lambda c: c.lora.load("", "/adapters/a")),
    ("lora path not text", lambda c: c.lora.load("a", None)),
    ("unload without a name", lambda c: c.lora.unload(" ")),
]


@pytest.mark.parametrize(("name", "call"), REFUSED, ids=[c[0] for c in REFUSED])
def test_what_cannot_be_meant_is_refused_before_sending(
    driver: Driver, name: str, call: Callable[[Any], Any]
) -> None:
    with pytest.raises(BabyAPIError) as info:
        driver.run(call(driver.client))
    assert info.value.code == "INVALID_REQUEST_BODY"
    assert info.value.status is None
    assert API_KEY not in str(info.value)
    assert driver.server.requests == []


def test_llama_server_tokenize_and_detokenize_read_the_same(driver: Driver) -> None:
    driver.server.script(Reply.json({"tokens": [9, 8, 7]}), Reply.json({"content": "a b c"}))
    counted = driver.call(lambda c: c.tokenizer.tokenize("a b c", model="tiny"))
    assert counted == {"tokens": [9, 8, 7], "count": 3}
    sent = driver.server.requests[0]
    assert sent.url_path == "/tokenize"
    assert sent.json() == {"model": "tiny", "prompt": "a b c", "content": "a b c"}
    assert driver.call(lambda c: c.tokenizer.detokenize([9, 8, 7]))["prompt"] == "a b c"


def test_messages_on_a_server_that_cannot_count_them_raise(driver: Driver) -> None:
    driver.server.script(Reply.json({"tokens": []}))
    with pytest.raises(BabyAPIError, match="takes a prompt, not messages") as info:
        driver.call(lambda c: c.tokenizer.tokenize(messages=HELLO))
    assert info.value.code == "INVALID_RESPONSE"


def test_fit_without_a_context_length_asks_for_one(driver: Driver) -> None:
    driver.server.script(Reply.json({"tokens": [1, 2]}), Reply.json({"tokens": [1, 2]}))
    with pytest.raises(BabyAPIError, match="max_model_len"):
        driver.call(lambda c: c.tokenizer.fit("hi"))
    fit = driver.call(lambda c: c.tokenizer.fit("hi", max_model_len=3, max_tokens=2))
    assert fit == {"count": 2, "max_model_len": 3, "tokens_left": 1, "fits": False}


@pytest.mark.parametrize(
    "answer",
    [Reply.json({"tokens": "1 2"}), Reply.json([1, 2]), Reply.text("tokens: 1 2")],
    ids=["tokens not a list", "a list", "text"],
)
def test_a_malformed_tokenize_answer_is_an_sdk_error(driver: Driver, answer: Reply) -> None:
    driver.server.script(answer)
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.tokenizer.tokenize("hi"))
    assert type(info.value.__cause__) is not KeyError


def test_health_is_false_for_a_refused_connection_and_a_503(driver: Driver) -> None:
    gone = driver.make(base_url="http://127.0.0.1:9")
    assert driver.call(lambda c: c.server.health(), gone) is False
    driver.server.script(Reply.json({"error": "loading"}, status=503))
    assert driver.call(lambda c: c.server.health()) is False
    assert len(driver.server.requests) == 1  # a probe is never retried
    driver.server.script(Reply.json({"error": "loading"}, status=503))
    with pytest.raises(APIStatusError) as info:
        driver.call(lambda c: c.server.health(raise_errors=True))
    assert info.value.status == 503


def test_health_reads_an_empty_200(driver: Driver) -> None:
    driver.server.script(Reply.text("", content_type="text/plain"))
    assert driver.call(lambda c: c.server.health()) is True
    assert driver.server.requests[0].url_path == "/health"


def test_lora_plain_text_and_vllm_error_bodies(driver: Driver) -> None:
    vllm_404 = {
        "error": {
            "message": "The lora adapter 'a' cannot be found.",
            "type": "NotFoundError",
            "param": None,
            "code": 404,
        }
    }
    driver.server.script(
        Reply.text("Success: LoRA adapter 'a' added successfully.", content_type=""),
        Reply.json(vllm_404, status=404),
    )
    assert driver.call(lambda c: c.lora.load("a", "/adapters/a")) == (
        "Success: LoRA adapter 'a' added successfully."
    )
    assert driver.server.requests[0].json() == {"lora_name": "a", "lora_path": "/adapters/a"}
    with pytest.raises(NotFoundError) as info:
        driver.call(lambda c: c.lora.unload("a"))
    assert info.value.message == "The lora adapter 'a' cannot be found."


def test_lora_bodies_carry_no_default_model(driver: Driver) -> None:
    client = driver.make(default_model="chat-model")
    driver.server.script(Reply.text("ok"))
    driver.call(lambda c: c.lora.load("a", "/adapters/a", load_inplace=True), client)
    assert driver.server.requests[0].json() == {
        "lora_name": "a",
        "lora_path": "/adapters/a",
        "load_inplace": True,
    }


def test_llama_server_metrics_and_the_model_query(driver: Driver) -> None:
    text = (
        "# HELP llamacpp:requests_processing Number of requests processing\n"
        "# TYPE llamacpp:requests_processing gauge\n"
        "llamacpp:requests_processing 2\n"
        "# TYPE llamacpp:requests_deferred gauge\n"
        "llamacpp:requests_deferred 1\n"
    )
    driver.server.script(Reply.text(text, content_type="text/plain; version=0.0.4"))
    metrics = driver.call(lambda c: c.server.metrics(model="tiny-chat"))
    assert metrics["requests_running"] == 2.0
    assert metrics["requests_waiting"] == 1.0
    assert metrics["kv_cache_usage"] is None
    assert driver.server.requests[0].query == {"model": ["tiny-chat"]}


def test_metrics_that_are_not_prometheus_text_are_an_sdk_error(driver: Driver) -> None:
    driver.server.script(Reply.text("vllm:num_requests_running{engine=0 oops"))
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.server.metrics())
    assert info.value.code == "INVALID_RESPONSE"


def test_scoring_defaults_come_from_the_rerank_model(driver: Driver) -> None:
    client = driver.make(default_model="chat", default_rerank_model="ranker")
    driver.server.script(Reply.json({"model": "ranker", "data": []}), Reply.json({"data": []}))
    driver.call(lambda c: c.score.create(queries="q", documents=["d"]), client)
    driver.call(lambda c: c.classify.create(input="x"), client)
    first, second = driver.server.requests
    assert first.url_path == "/score" and first.json()["model"] == "ranker"
    assert second.url_path == "/classify" and "model" not in second.json()


def test_with_response_on_every_vllm_resource(local: Driver, tmp_path: Path) -> None:
    """Each method also comes with its HTTP response, on the resource and on the client."""
    (tmp_path / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 8}')
    name = f"answered-{local.kind}"
    calls: list[tuple[str, Callable[[Any], Any]]] = [
        ("/tokenize", lambda c: c.tokenizer.with_response.tokenize("Hi.")),
        ("/tokenize", lambda c: c.with_response.tokenizer.fit("Hi.", max_model_len=64)),
        ("/detokenize", lambda c: c.tokenizer.with_response.detokenize([1, 2])),
        ("/score", lambda c: c.score.with_response.create(queries="q", documents=["d"])),
        ("/classify", lambda c: c.with_response.classify.create(input="I love it")),
        ("/pooling", lambda c: c.pooling.with_response.create(input="hello")),
        ("/v1/load_lora_adapter", lambda c: c.lora.with_response.load(name, str(tmp_path))),
        ("/v1/models", lambda c: c.with_response.lora.list()),
        ("/v1/unload_lora_adapter", lambda c: c.lora.with_response.unload(name)),
        ("/version", lambda c: c.server.with_response.version()),
        ("/load", lambda c: c.with_response.server.load()),
        ("/metrics", lambda c: c.server.with_response.metrics()),
    ]
    for path, call in calls:
        res = local.call(call)
        assert res.status == 200, path
        assert res.response.request.url.path == path
        assert res.request_id is not None
    # data is what the plain method returns: here the server's plain-text message.
    said = local.call(lambda c: c.lora.with_response.load(name + "-2", str(tmp_path)))
    assert said.data == f"Success: LoRA adapter '{name}-2' added successfully."
    local.call(lambda c: c.lora.unload(name + "-2"))
