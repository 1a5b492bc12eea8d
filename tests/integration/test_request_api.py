"""The declared request API (``client._api``) that resources and capabilities build on, on the wire."""

from __future__ import annotations

import httpx
import pytest

from babyapi import APIResponse, BabyAPI, BabyAPIError, InvalidArgumentError, RateLimitError
from babyapi._api_response import async_with_response, with_response
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

METRICS = '# HELP vllm:num_requests_running Running.\nvllm:num_requests_running{model="m"} 2.0\n'


def test_a_get_at_the_server_root_sends_no_body_and_reads_an_empty_200(driver: Driver) -> None:
    driver.server.script(Reply(status=200, body=b""))
    api = driver.client._api
    answer = driver.run(api.send_raw(api.prepare("/health", method="GET")))
    assert (answer.status, answer.content, answer.text) == (200, b"", "")
    (req,) = driver.server.requests
    assert (req.method, req.path, req.body) == ("GET", "/health", b"")
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert "idempotency-key" not in req.headers  # only POSTs carry one


def test_a_plain_text_answer_comes_back_as_text_with_its_headers(driver: Driver) -> None:
    driver.server.script(Reply.text(METRICS, headers={"x-request-id": "m-1"}))
    api = driver.client._api
    answer = driver.run(api.send_raw(api.prepare("/metrics", method="GET")))
    assert answer.text == METRICS
    assert answer.headers["X-Request-Id"] == "m-1"  # case-insensitive
    assert answer.headers["content-type"].startswith("text/plain")


def test_a_raw_answer_decodes_the_charset_the_server_names(driver: Driver) -> None:
    driver.server.script(
        Reply(
            body="café".encode("latin-1"), headers={"content-type": "text/plain; charset=latin-1"}
        )
    )
    api = driver.client._api
    assert driver.run(api.send_raw(api.prepare("/version", method="GET"))).text == "café"


def test_a_raw_call_is_retried_like_any_other(driver: Driver) -> None:
    driver.server.script(Reply.api_error(503, "busy"), Reply.text("Success: LoRA adapter loaded"))
    api = driver.client._api
    call = api.prepare("/v1/load_lora_adapter", {"lora_name": "sql", "lora_path": "/a"})
    answer = driver.run(api.send_raw(call))
    assert answer.text == "Success: LoRA adapter loaded"
    assert [r.path for r in driver.server.requests] == ["/v1/load_lora_adapter"] * 2
    assert driver.time.sleeps  # it waited before the retry, on the client's clock


def test_a_raw_call_fails_with_the_servers_error(driver: Driver) -> None:
    driver.server.script(Reply.api_error(429, "slow down"))
    api = driver.client.with_options(max_retries=0)._api
    with pytest.raises(RateLimitError, match="slow down"):
        driver.run(api.send_raw(api.prepare("/metrics", method="GET")))


def test_fill_model_false_leaves_a_body_without_a_model(driver: Driver) -> None:
    client = driver.make(default_model="mistral")
    driver.server.script(Reply.text("ok"), Reply.json({"tokens": [1, 2]}))
    api = client._api
    driver.run(
        api.send_raw(api.prepare("/v1/unload_lora_adapter", {"lora_name": "sql"}, fill_model=False))
    )
    answer = driver.run(api.send(api.prepare("/tokenize", {"prompt": "hi"})))
    assert answer == {"tokens": [1, 2]}
    unload, tokenize = driver.server.requests
    assert unload.json() == {"lora_name": "sql"}
    assert tokenize.json() == {"prompt": "hi", "model": "mistral"}


def test_with_response_sees_a_raw_answer(driver: Driver) -> None:
    driver.server.script(Reply.text("up", headers={"x-request-id": "h-1"}))
    api = driver.client._api

    def health() -> object:
        return api.send_raw(api.prepare("/health", method="GET"))

    async def ahealth() -> object:
        return await api.send_raw(api.prepare("/health", method="GET"))

    wrapped = async_with_response(ahealth) if driver.is_async else with_response(health)
    got = driver.run(wrapped())
    assert isinstance(got, APIResponse)
    assert (got.status, got.request_id) == (200, "h-1")


def test_a_get_with_a_body_is_refused_before_any_request(driver: Driver) -> None:
    api = driver.client._api
    with pytest.raises(InvalidArgumentError, match="GET"):
        api.prepare("/v1/models", {"x": 1}, method="GET")
    assert driver.server.requests == []


def test_a_sync_client_with_its_own_http_client_has_no_async_twin(
    scripted_server: ScriptedServer,
) -> None:
    with (
        httpx.Client() as http,
        BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, http_client=http) as client,
    ):
        with pytest.raises(BabyAPIError) as caught:
            client._api.async_twin()
        assert caught.value.code == "HTTP_CLIENT_NOT_ASYNC"
        assert "AsyncBabyAPI(http_client=httpx.AsyncClient" in caught.value.message
        # The batch job, built on the twin, says the same before sending anything.
        with pytest.raises(BabyAPIError) as caught:
            client.batch.embed(["a"], model="e5").results()
        assert caught.value.code == "HTTP_CLIENT_NOT_ASYNC"
    assert scripted_server.requests == []
