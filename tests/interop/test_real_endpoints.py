"""Every endpoint each real server has, through the public API, sync and async."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from real_servers import Record, ServerDriver, Target, require_servers  # pyright: ignore[reportImplicitRelativeImport]

from babyapi import BadRequestError, NotFoundError

require_servers()

HELLO = [{"role": "user", "content": "Say hello to the world."}]


@pytest.mark.feature("models")
def test_models_list_names_every_served_model(target: Target, driver: ServerDriver) -> None:
    for endpoint in (target.chat, target.embed, target.rerank):
        client = driver.client_for(endpoint)
        listed = driver.call(lambda c: c.models.list(), client)
        assert listed["object"] == "list"
        assert endpoint.model in [m["id"] for m in listed["data"]]


@pytest.mark.feature("chat")
def test_chat_is_deterministic_and_infer_routes_to_it(target: Target, driver: ServerDriver) -> None:
    model = target.chat.model
    first = driver.call(
        lambda c: c.chat.completions.create(
            model=model, messages=HELLO, max_tokens=8, temperature=0
        )
    )
    choice = first["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str) and choice["message"]["content"].strip()
    # The tiny models never emit EOS: max_tokens ends every answer.
    assert choice["finish_reason"] == "length"
    usage = first["usage"]
    assert usage["completion_tokens"] == 8
    assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"]
    routed = driver.call(
        lambda c: c.infer({"model": model, "messages": HELLO, "max_tokens": 8, "temperature": 0})
    )
    assert routed["object"] == "chat.completion"
    assert routed["choices"][0]["message"]["content"] == choice["message"]["content"]


@pytest.mark.feature("completions")
def test_completions_and_infer_with_a_prompt(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    model = target.chat.model
    first = driver.call(
        lambda c: c.completions.create(
            model=model, prompt="The world is", max_tokens=6, temperature=0
        )
    )
    assert first["object"] == "text_completion"
    assert first["choices"][0]["text"].strip()
    assert first["choices"][0]["finish_reason"] == "length"
    assert first["usage"]["completion_tokens"] == 6
    if target.name == "llama.cpp":
        assert first["id"].startswith("chatcmpl-")
        record.note("text completions carry a `chatcmpl-` id, not `cmpl-`")
    routed = driver.call(
        lambda c: c.infer(model=model, prompt="The world is", max_tokens=6, temperature=0)
    )
    assert routed["choices"][0]["text"] == first["choices"][0]["text"]


@pytest.mark.feature("n")
def test_n_choices(target: Target, driver: ServerDriver, record: Record) -> None:
    def ask(c: Any) -> Any:
        return c.chat.completions.create(
            model=target.chat.model, messages=HELLO, max_tokens=4, n=2, temperature=1.0, seed=7
        )

    if target.name == "llama.cpp":
        with pytest.raises(BadRequestError) as info:
            driver.call(ask)
        assert info.value.status == 400
        assert "'n'" in info.value.message
        record.lacks_it(info.value)
        return
    res = driver.call(ask)
    assert [c["index"] for c in res["choices"]] == [0, 1]
    assert all(c["message"]["content"] for c in res["choices"])
    assert res["usage"]["completion_tokens"] == 8


@pytest.mark.feature("embeddings-float")
def test_embeddings_as_floats(target: Target, driver: ServerDriver) -> None:
    client = driver.client_for(target.embed)
    texts = ["hello world", "the panda is a bear", "hello world"]
    res = driver.call(lambda c: c.embeddings.create(model=target.embed.model, input=texts), client)
    vectors = [item["embedding"] for item in sorted(res["data"], key=lambda i: i["index"])]
    assert [item["index"] for item in res["data"]] == [0, 1, 2]
    assert len({len(v) for v in vectors}) == 1 and len(vectors[0]) >= 64
    assert all(isinstance(x, float) for x in vectors[0])
    assert vectors[0] == pytest.approx(vectors[2], abs=1e-5)
    assert vectors[0] != pytest.approx(vectors[1], abs=1e-3)
    # Both servers L2-normalise; OpenAI's embeddings are unit vectors too.
    assert sum(x * x for x in vectors[1]) == pytest.approx(1.0, abs=1e-3)
    assert res["usage"]["prompt_tokens"] > 0


@pytest.mark.feature("embeddings-base64")
def test_embeddings_as_base64_match_the_floats(target: Target, driver: ServerDriver) -> None:
    client = driver.client_for(target.embed)
    model = target.embed.model
    floats = driver.call(lambda c: c.embeddings.create(model=model, input="hello world"), client)
    packed = driver.call(
        lambda c: c.embeddings.create(model=model, input="hello world", encoding_format="base64"),
        client,
    )
    # The server really sends base64 (some ignore the option and send floats) ...
    wire = httpx.post(
        f"{target.embed.base_url}/embeddings",
        json={"model": model, "input": "hello world", "encoding_format": "base64"},
        timeout=30,
    ).json()
    assert isinstance(wire["data"][0]["embedding"], str)
    # ... and the SDK decodes it (little-endian float32) into floats.
    decoded = packed["data"][0]["embedding"]
    assert isinstance(decoded, list) and all(isinstance(x, float) for x in decoded)
    assert decoded == pytest.approx(floats["data"][0]["embedding"], abs=1e-6)


@pytest.mark.feature("rerank")
def test_rerank_sorts_by_score(target: Target, driver: ServerDriver, record: Record) -> None:
    client = driver.client_for(target.rerank)
    docs = ["hello there", "The giant panda is a bear", "paris is a city"]

    def ask(c: Any) -> Any:
        return c.rerank.create(
            model=target.rerank.model,
            query="what is a panda?",
            documents=docs,
            top_n=2,
            return_documents=True,
        )

    res = driver.call(ask, client)
    results = res["results"]
    assert len(results) == 2
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert len({r["index"] for r in results}) == 2 and {r["index"] for r in results} <= {0, 1, 2}
    assert driver.call(ask, client)["results"] == results  # same weights, same scores
    if target.name == "llama.cpp":
        assert all("document" not in r for r in results)
        record.note("rerank ignores `return_documents`: results carry no `document`")
    else:
        assert all(r["document"]["text"] == docs[r["index"]] for r in results)


@pytest.mark.feature("infer")
def test_baby_infer_is_a_clear_not_found(
    target: Target, driver: ServerDriver, record: Record
) -> None:
    # /infer is BabyAPI's own endpoint; neither open-source server has it.
    with pytest.raises(NotFoundError) as info:
        driver.call(
            lambda c: c.baby.infer({"model": target.chat.model, "prompt": "hi", "max_tokens": 4})
        )
    error = info.value
    assert error.status == 404
    if target.name == "llama.cpp":
        assert (error.message, error.type, error.code) == (
            "File Not Found",
            "not_found_error",
            "404",
        )
    else:
        # FastAPI's own shape, not OpenAI's: the SDK still gives a message, and no code or type.
        assert error.details == {"detail": "Not Found"}
        assert (error.message, error.type, error.code) == ("Not Found", None, None)
        record.note(
            'an unknown path is FastAPI\'s `{"detail": "Not Found"}`, not OpenAI\'s error shape'
        )
    record.lacks_it(error)
