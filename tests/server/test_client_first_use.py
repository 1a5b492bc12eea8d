"""The client against the real local server: what a new user meets on the first run."""

from __future__ import annotations

import re
from typing import Iterator

import pytest

from babyapi import BabyAPI, BabyAPIError, BadRequestError, NotFoundError
from babyapi.server import LocalServer

from .conftest import API_KEY


@pytest.fixture(scope="module")
def client(server: LocalServer) -> Iterator[BabyAPI]:
    with BabyAPI(api_key=API_KEY, base_url=server.base_url, max_retries=0) as c:
        yield c


def test_the_seed_errors_example_shows_the_servers_answer(client: BabyAPI) -> None:
    try:
        client.chat.completions.create(model="mistral", messages=[])
    except BabyAPIError as err:
        shown = {
            "message": err.message,
            "status": err.status,
            "code": err.code,
            "type": err.type,
            "request_id": err.request_id,
        }
    else:
        pytest.fail("an empty messages list must fail")
    assert shown["status"] == 400
    # The local server takes the x-request-id the client sent as its own.
    assert re.fullmatch(r"[0-9a-f]{32}", str(shown["request_id"]))
    assert shown["type"] == "invalid_request_error"
    assert "messages" in str(shown["message"])


def test_empty_input_and_documents_are_judged_by_the_server(client: BabyAPI) -> None:
    with pytest.raises(BadRequestError) as info:
        client.embeddings.create(model="qwen3-embedding", input=[])
    assert info.value.request_id
    # The local server answers an empty document list with no results; that is its call.
    assert client.rerank.create(model="qwen3-reranker", query="q", documents=[])["results"] == []


def test_models_retrieve(client: BabyAPI) -> None:
    assert client.models.retrieve("mistral")["id"] == "mistral"
    with pytest.raises(NotFoundError) as info:
        client.models.retrieve("org/no such model")
    assert "org/no such model" in info.value.message  # the escaped id arrived whole


def test_base64_embeddings_match_the_float_ones(client: BabyAPI) -> None:
    texts = ["BabyAPI makes LLMs easy.", "The weather is nice."]
    floats = client.embeddings.create(model="qwen3-embedding", input=texts)
    packed = client.embeddings.create(
        model="qwen3-embedding", input=texts, encoding_format="base64"
    )
    for plain, decoded in zip(floats["data"], packed["data"]):
        assert isinstance(decoded["embedding"], list)
        assert len(decoded["embedding"]) == len(plain["embedding"])
        assert decoded["embedding"] == pytest.approx(plain["embedding"], rel=1e-6, abs=1e-7)


def test_with_response_against_the_local_server(client: BabyAPI) -> None:
    res = client.chat.completions.with_response.create(
        model="mistral", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
    )
    assert res.status == 200
    assert re.fullmatch(r"[0-9a-f]{32}", str(res.request_id))
    assert res.headers["content-type"].startswith("application/json")
    assert res.data["choices"][0]["message"]["role"] == "assistant"
