"""vLLM's own endpoints on the local server, over real HTTP: shapes and error cases as vLLM's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi.server import LocalServer

Json = Dict[str, Any]
HELLO = [{"role": "user", "content": "Hello there, how are you?"}]


def post(client: httpx.Client, path: str, body: Json, status: int = 200) -> Json:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    answer: Json = response.json()
    return answer


def test_tokenize_counts_a_prompt_as_completions_usage_does(client: httpx.Client) -> None:
    prompt = "The small server woke before dawn."
    answer = post(client, "/tokenize", {"prompt": prompt, "return_token_strs": True})
    assert answer["count"] == len(answer["tokens"]) == 7
    assert answer["token_strs"] == ["The", "small", "server", "woke", "before", "dawn", "."]
    assert answer["max_model_len"] == 4096
    usage = post(
        client, "/v1/completions", {"model": "mistral", "prompt": prompt, "max_tokens": 1}
    )["usage"]
    assert usage["prompt_tokens"] == answer["count"]


def test_tokenize_counts_messages_as_chat_usage_does(client: httpx.Client) -> None:
    answer = post(client, "/tokenize", {"model": "mistral", "messages": HELLO})
    usage = post(
        client, "/v1/chat/completions", {"model": "mistral", "messages": HELLO, "max_tokens": 1}
    )["usage"]
    assert answer["count"] == usage["prompt_tokens"]
    without = post(client, "/tokenize", {"messages": HELLO, "add_generation_prompt": False})
    assert without["count"] == answer["count"] - 2


def test_tokenize_refuses_what_vllm_refuses(client: httpx.Client) -> None:
    both = {"messages": HELLO, "add_generation_prompt": True, "continue_final_message": True}
    assert post(client, "/tokenize", both, 400)["error"]["param"] == "continue_final_message"
    assert post(client, "/tokenize", {"model": "nope", "prompt": "x"}, 404)["error"]["code"] == (
        "model_not_found"
    )
    assert post(client, "/tokenize", {"prompt": 3}, 400)["error"]["param"] == "prompt"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True), min_size=1, max_size=8))
def test_detokenize_gives_back_the_words(client: httpx.Client, words: list[str]) -> None:
    text = " ".join(words)
    tokens = post(client, "/tokenize", {"prompt": text})["tokens"]
    assert post(client, "/detokenize", {"tokens": tokens}) == {"prompt": text}


def test_detokenize_refuses_ids_outside_the_vocabulary(client: httpx.Client) -> None:
    error = post(client, "/detokenize", {"tokens": [1, -1]}, 400)["error"]
    assert error["param"] == "tokens[1]"
    assert post(client, "/detokenize", {"tokens": [2**40]}, 400)["error"]["param"] == "tokens[0]"


def test_score_one_query_against_documents_and_pairs(client: httpx.Client) -> None:
    docs = ["The miller kept a notebook of every storm.", "A calm API is a kind promise."]
    one = post(client, "/score", {"queries": "storm notebook", "documents": docs})
    assert [d["index"] for d in one["data"]] == [0, 1]
    assert one["data"][0]["score"] > one["data"][1]["score"]
    assert one["object"] == "list" and one["data"][0]["object"] == "score"
    pairs = post(client, "/v1/score", {"text_1": ["storm", "API"], "text_2": docs})
    assert pairs["data"][0]["score"] > 0 and pairs["data"][1]["score"] > 0
    error = post(client, "/score", {"queries": ["a", "b"], "documents": ["x", "y", "z"]}, 400)
    assert "1:1, 1:N or N:N" in error["error"]["message"]


def test_classify_labels_each_input(client: httpx.Client) -> None:
    answer = post(
        client, "/classify", {"input": ["I love it, great work", "awful and slow", "a chair"]}
    )
    assert [d["label"] for d in answer["data"]] == ["positive", "negative", "neutral"]
    for item in answer["data"]:
        assert item["num_classes"] == len(item["probs"]) == 3
        assert sum(item["probs"]) == pytest.approx(1.0)
    wrong = post(client, "/classify", {"model": "qwen3-embedding", "input": "x"}, 400)
    assert wrong["error"]["code"] == "model_not_supported"


def test_pooling_tasks(client: httpx.Client) -> None:
    vector = post(client, "/pooling", {"input": "hello world", "dimensions": 8})["data"][0]
    assert vector["object"] == "pooling" and len(vector["data"]) == 8
    tokens = post(
        client, "/pooling", {"input": "hello world", "task": "token_embed", "dimensions": 4}
    )
    assert [len(row) for row in tokens["data"][0]["data"]] == [4, 4]
    error = post(client, "/pooling", {"input": "x", "task": "draw"}, 400)["error"]
    assert error["param"] == "task"


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "adapter_config.json").write_text('{"r": 8, "peft_type": "LORA"}')
    yield str(tmp_path)


def test_lora_adapter_lifecycle(client: httpx.Client, adapter: str) -> None:
    loaded = client.post("/v1/load_lora_adapter", json={"lora_name": "terse", "lora_path": adapter})
    assert loaded.status_code == 200, loaded.text
    assert loaded.headers["content-type"].startswith("text/plain")
    assert loaded.text == "Success: LoRA adapter 'terse' added successfully."
    again = post(client, "/v1/load_lora_adapter", {"lora_name": "terse", "lora_path": adapter}, 400)
    assert "already been loaded" in again["error"]["message"]
    listed = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert listed["terse"]["parent"] == "babyapi-tiny" and listed["terse"]["root"] == adapter
    chat = post(
        client, "/v1/chat/completions", {"model": "terse", "messages": HELLO, "max_tokens": 2}
    )
    assert chat["model"] == "terse"
    assert client.post("/v1/unload_lora_adapter", json={"lora_name": "terse"}).status_code == 200
    gone = post(client, "/v1/unload_lora_adapter", {"lora_name": "terse"}, 404)
    assert gone["error"]["message"] == "The lora adapter 'terse' cannot be found."
    post(client, "/v1/chat/completions", {"model": "terse", "messages": HELLO}, 404)


def test_lora_refusals(client: httpx.Client, tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing-here")
    error = post(client, "/v1/load_lora_adapter", {"lora_name": "x", "lora_path": missing}, 404)
    assert error["error"]["message"] == f"Loading lora x failed: No adapter found for {missing}"
    base = post(
        client, "/v1/load_lora_adapter", {"lora_name": "mistral", "lora_path": missing}, 400
    )
    assert "conflicts with a served base model" in base["error"]["message"]
    post(client, "/v1/load_lora_adapter", {"lora_name": "x"}, 400)


def test_status_routes(client: httpx.Client) -> None:
    assert client.get("/ping").status_code == 200
    assert client.get("/version").json()["version"]
    assert client.get("/load").json() == {"server_load": 0}
    text = client.get("/metrics").text
    assert 'vllm:num_requests_running{engine="0",model_name="babyapi-tiny"} 0.0' in text
    assert "# TYPE vllm:kv_cache_usage_perc gauge" in text


def test_load_counts_requests_in_flight(client: httpx.Client, server: LocalServer) -> None:
    body = {"model": "mistral", "messages": HELLO, "max_tokens": 50, "stream": True}
    slow = {"x-babyapi-fault": "chunk-delay=0.2", "authorization": client.headers["authorization"]}
    # A client of its own: the stream's connection stays apart from the /load calls.
    with (
        httpx.Client(base_url=server.base_url, headers=slow) as streaming,
        streaming.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        # Held, not dropped: a dropped line iterator closes the stream when it is collected.
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        assert _load(client) == 1
    # The server sees the client go at its next write; bounded wait for the count to drop.
    for _ in range(100):
        if _load(client) == 0:
            break
        time.sleep(0.05)
    assert _load(client) == 0


def _load(client: httpx.Client) -> int:
    value: int = client.get("/load").json()["server_load"]
    return value
