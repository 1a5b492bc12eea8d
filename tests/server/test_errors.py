"""Error statuses and OpenAI-shaped error bodies; x-request-id on every response."""

from __future__ import annotations

from typing import Any, Dict, Iterator, Optional

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from babyapi.server import LocalServer

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "Hi"}]


def assert_error(
    response: httpx.Response, status: int, code: Optional[str] = None
) -> Dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: Dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code
    assert response.headers["x-request-id"]
    return error


def test_bad_json_is_400(client: httpx.Client) -> None:
    response = client.post(CHAT, content=b"{not json", headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid_json")
    assert_error(client.post("/infer", content=b""), 400, "invalid_json")


def test_missing_and_wrong_key_are_401(server: LocalServer) -> None:
    with httpx.Client(base_url=server.base_url) as anonymous:
        error = assert_error(anonymous.get("/v1/models"), 401, "missing_api_key")
        assert error["type"] == "authentication_error"
        wrong = anonymous.post(CHAT, json={}, headers={"Authorization": "Bearer nope"})
        assert_error(wrong, 401, "invalid_api_key")
        assert "nope" not in wrong.text and "test-key" not in wrong.text
        basic = anonymous.get("/v1/models", headers={"Authorization": "Basic test-key"})
        assert_error(basic, 401, "invalid_api_key")
        # Health checks (load balancers, readiness probes) need no key.
        assert anonymous.get("/health").status_code == 200


def test_no_key_configured_means_open() -> None:
    with LocalServer() as open_server, httpx.Client(base_url=open_server.base_url) as anonymous:
        assert anonymous.get("/v1/models").status_code == 200


def test_unknown_model_and_path_are_404(client: httpx.Client) -> None:
    error = assert_error(client.post(CHAT, json={"model": "gpt-9", "messages": USER}), 404)
    assert error == {**error, "code": "model_not_found", "param": "model"}
    assert_error(
        client.post("/infer", json={"model": "nope", "prompt": "x"}), 404, "model_not_found"
    )
    assert_error(client.get("/v1/models/nope"), 404, "model_not_found")
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405(client: httpx.Client) -> None:
    assert_error(client.get(CHAT), 405, "method_not_allowed")


def test_model_without_the_task_is_400(client: httpx.Client) -> None:
    body = {"model": "qwen3-embedding", "messages": USER}
    assert_error(client.post(CHAT, json=body), 400, "model_not_supported")
    image = [{"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}}]
    vision = {"model": "mistral", "messages": [{"role": "user", "content": image}]}
    assert_error(client.post(CHAT, json=vision), 400, "vision_not_supported")


def test_body_over_the_limit_is_413() -> None:
    with LocalServer(max_body_bytes=1000) as small, httpx.Client(base_url=small.base_url) as c:
        big = {"model": "mistral", "prompt": "x" * 2000}
        assert_error(c.post("/infer", json=big), 413, "request_too_large")

        def chunked() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
            yield b'{"model": "mistral", "prompt": "'
            yield b"y" * 2000
            yield b'"}'

        assert_error(c.post("/infer", content=chunked()), 413, "request_too_large")
        # The connection stays usable after a 413.
        assert c.post("/infer", json={"model": "mistral", "prompt": "ok"}).status_code == 200


def test_default_limit_is_one_mib(client: httpx.Client) -> None:
    big = {"model": "mistral", "prompt": "x" * 1_100_000}
    assert_error(client.post("/infer", json=big), 413, "request_too_large")


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (CHAT, {"messages": USER}, "model"),
        (CHAT, {"model": "mistral"}, "messages"),
        (CHAT, {"model": "mistral", "messages": []}, "messages"),
        (CHAT, {"model": "mistral", "messages": "hi"}, "messages"),
        (CHAT, {"model": 3, "messages": USER}, "model"),
        (CHAT, {"model": "mistral", "messages": [{"content": "x"}]}, "messages[0].role"),
        (
            CHAT,
            {"model": "mistral", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
        ),
        (
            CHAT,
            {"model": "mistral", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
            "messages[0].content[0]",
        ),
        (CHAT, {"model": "mistral", "messages": USER, "n": 0}, "n"),
        (CHAT, {"model": "mistral", "messages": USER, "n": 17}, "n"),
        (CHAT, {"model": "mistral", "messages": USER, "n": True}, "n"),
        (CHAT, {"model": "mistral", "messages": USER, "max_tokens": 0}, "max_tokens"),
        (CHAT, {"model": "mistral", "messages": USER, "max_tokens": "10"}, "max_tokens"),
        (CHAT, {"model": "mistral", "messages": USER, "temperature": 3}, "temperature"),
        (CHAT, {"model": "mistral", "messages": USER, "top_p": 0}, "top_p"),
        (CHAT, {"model": "mistral", "messages": USER, "stop": [1]}, "stop"),
        (CHAT, {"model": "mistral", "messages": USER, "stream": "yes"}, "stream"),
        (CHAT, {"model": "mistral", "messages": USER, "seed": 1.5}, "seed"),
        (CHAT, {"model": "mistral", "messages": USER, "stream_options": []}, "stream_options"),
        ("/v1/completions", {"model": "mistral"}, "prompt"),
        ("/v1/completions", {"model": "mistral", "prompt": [1, 2]}, "prompt"),
        ("/infer", {"model": "mistral"}, "prompt"),
        ("/infer", {"prompt": "hi"}, "model"),
        (
            "/infer",
            {"model": "mistral", "prompt": "hi", "frequency_penalty": 9},
            "frequency_penalty",
        ),
        ("/v1/embeddings", {"model": "qwen3-embedding"}, "input"),
        ("/v1/embeddings", {"model": "qwen3-embedding", "input": [1]}, "input"),
        (
            "/v1/embeddings",
            {"model": "qwen3-embedding", "input": "x", "dimensions": 0},
            "dimensions",
        ),
        (
            "/v1/embeddings",
            {"model": "qwen3-embedding", "input": "x", "encoding_format": "hex"},
            "encoding_format",
        ),
        ("/v1/rerank", {"model": "qwen3-reranker", "documents": ["a"]}, "query"),
        ("/v1/rerank", {"model": "qwen3-reranker", "query": "q"}, "documents"),
        ("/v1/rerank", {"model": "qwen3-reranker", "query": "q", "documents": [3]}, "documents[0]"),
        (
            "/v1/rerank",
            {"model": "qwen3-reranker", "query": "q", "documents": ["a"], "top_n": -1},
            "top_n",
        ),
    ],
)
def test_invalid_fields_are_400_as_on_vllm(
    client: httpx.Client, path: str, body: Dict[str, Any], param: str
) -> None:
    error = assert_error(client.post(path, json=body), 400)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_body_must_be_an_object(client: httpx.Client) -> None:
    assert_error(client.post(CHAT, json=[1, 2]), 400, "invalid_body")


def test_every_response_has_a_request_id(client: httpx.Client) -> None:
    ids = {client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3  # fresh per request
    echoed = client.get("/v1/models", headers={"x-request-id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    assert client.get("/nowhere").headers["x-request-id"]
    html = client.get("/health", headers={"x-babyapi-fault": "html-502"})
    assert html.headers["x-request-id"]


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_fields = st.sampled_from(
    [
        "model", "messages", "prompt", "input", "query", "documents", "n", "max_tokens",
        "temperature", "top_p", "top_k", "stop", "seed", "stream", "stream_options",
        "dimensions", "encoding_format", "top_n", "return_documents", "echo", "ignore_eos",
        "presence_penalty", "frequency_penalty", "max_completion_tokens",
    ]
)  # fmt: skip
_PATHS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/rerank", "/infer"]
_MODELS = ["mistral", "pixtral", "qwen3-embedding", "qwen3-reranker", "babyapi-tiny"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(_PATHS),
    model=st.sampled_from(_MODELS),
    fields=st.dictionaries(_fields, _json_values, max_size=6),
)
def test_no_body_makes_the_server_fail(
    client: httpx.Client, path: str, model: str, fields: Dict[str, Any]
) -> None:
    body = {"model": model, **fields}
    response = client.post(path, json=body)
    assert response.status_code in (200, 400, 404, 422), response.text
    if response.status_code != 200:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
