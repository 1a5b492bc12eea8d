"""Each x-babyapi-fault drill, over real HTTP."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Dict, List

import httpx
import pytest

FAULT = "x-babyapi-fault"
CHAT = "/v1/chat/completions"
STREAM_BODY: Dict[str, Any] = {
    "model": "mistral",
    "messages": [{"role": "user", "content": "Hello."}],
    "stream": True,
    "max_tokens": 6,
}
PLAIN_BODY: Dict[str, Any] = {"model": "mistral", "prompt": "Ping", "max_tokens": 4}


def fault(spec: str, **extra: str) -> Dict[str, str]:
    return {FAULT: spec, **extra}


@pytest.mark.parametrize("status", [429, 500, 503, 418, 504])
def test_status_fault(client: httpx.Client, status: int) -> None:
    response = client.post("/infer", json=PLAIN_BODY, headers=fault(str(status)))
    assert response.status_code == status
    error = response.json()["error"]
    assert FAULT in error["message"] and set(error) == {"message", "type", "param", "code"}
    assert "retry-after" not in response.headers
    assert response.headers["x-request-id"]


def test_429_with_retry_after(client: httpx.Client) -> None:
    response = client.post(CHAT, json=STREAM_BODY, headers=fault("429;retry-after=1"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["type"] == "rate_limit_error"
    same = client.get("/v1/models", headers=fault("status=503, retry-after=2"))
    assert (same.status_code, same.headers["retry-after"]) == (503, "2")


def test_hang_delays_headers_then_serves(client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.post("/infer", json=PLAIN_BODY, headers=fault("hang=0.3"))
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_hang_trips_a_client_read_timeout(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post("/infer", json=PLAIN_BODY, headers=fault("hang=0.5"), timeout=0.1)


def test_hang_then_status(client: httpx.Client) -> None:
    response = client.post("/infer", json=PLAIN_BODY, headers=fault("hang=0.05;500"))
    assert response.status_code == 500


def test_reset_drops_the_connection(client: httpx.Client) -> None:
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/infer", json=PLAIN_BODY, headers=fault("reset"))
    assert client.get("/health").status_code == 200  # the server itself is fine


def test_html_502(client: httpx.Client) -> None:
    response = client.post(CHAT, json=STREAM_BODY, headers=fault("html-502"))
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in response.text


def sse_payloads(text: str) -> List[str]:
    return [b[len("data: ") :] for b in text.split("\n\n") if b.startswith("data: ")]


def test_stream_error_after(client: httpx.Client) -> None:
    response = client.post(CHAT, json=STREAM_BODY, headers=fault("stream-error-after=3"))
    assert response.status_code == 200
    payloads = sse_payloads(response.text)
    assert len(payloads) == 4 and "[DONE]" not in payloads
    assert all("choices" in json.loads(p) for p in payloads[:3])
    error = json.loads(payloads[3])["error"]
    assert set(error) == {"message", "type", "param", "code"}


def test_stream_error_past_the_end_still_fires(client: httpx.Client) -> None:
    response = client.post(CHAT, json=STREAM_BODY, headers=fault("stream-error-after=1000"))
    payloads = sse_payloads(response.text)
    assert "error" in json.loads(payloads[-1]) and "[DONE]" not in payloads


def test_stream_cut_after(client: httpx.Client) -> None:
    received = []
    headers = fault("stream-cut-after=2")
    # Nested rather than one parenthesised `with`: that syntax needs Python 3.10.
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):  # noqa: SIM117
        with client.stream("POST", CHAT, json=STREAM_BODY, headers=headers) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("data: "):
                    received.append(line)
    assert len(received) == 2
    assert client.get("/health").status_code == 200


def test_chunk_delay(client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.post(CHAT, json=STREAM_BODY, headers=fault("chunk-delay=0.02"))
    assert time.monotonic() - started >= 0.02 * 8  # role + 6 tokens + finish
    assert sse_payloads(response.text)[-1] == "[DONE]"


def test_stream_faults_ignore_plain_requests(client: httpx.Client) -> None:
    response = client.post("/infer", json=PLAIN_BODY, headers=fault("stream-cut-after=0"))
    assert response.status_code == 200


def test_fail_first_counts_per_idempotency_key(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    headers = fault("fail-first=2", **{"Idempotency-Key": key})
    statuses = [
        client.post("/infer", json=PLAIN_BODY, headers=headers).status_code for _ in range(4)
    ]
    assert statuses == [503, 503, 200, 200]
    other = fault("fail-first=2", **{"Idempotency-Key": str(uuid.uuid4())})
    assert client.post("/infer", json=PLAIN_BODY, headers=other).status_code == 503


def test_fail_first_with_status_and_retry_after(client: httpx.Client) -> None:
    headers = fault(
        "fail-first=1;status=429;retry-after=0", **{"Idempotency-Key": str(uuid.uuid4())}
    )
    first = client.post("/infer", json=PLAIN_BODY, headers=headers)
    assert (first.status_code, first.headers["retry-after"]) == (429, "0")
    assert client.post("/infer", json=PLAIN_BODY, headers=headers).status_code == 200


def test_fail_first_with_reset_and_stream_cut(client: httpx.Client) -> None:
    headers = fault("fail-first=1;reset", **{"Idempotency-Key": str(uuid.uuid4())})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/infer", json=PLAIN_BODY, headers=headers)
    assert client.post("/infer", json=PLAIN_BODY, headers=headers).status_code == 200
    cut = fault("fail-first=1;stream-cut-after=1", **{"Idempotency-Key": str(uuid.uuid4())})
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=STREAM_BODY, headers=cut)
    assert sse_payloads(client.post(CHAT, json=STREAM_BODY, headers=cut).text)[-1] == "[DONE]"


@pytest.mark.parametrize(
    "spec", ["teapot", "200", "hang=abc", "hang=-1", "fail-first=x", "status=99"]
)
def test_malformed_fault_is_400(client: httpx.Client, spec: str) -> None:
    response = client.get("/health", headers=fault(spec))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == FAULT


def test_faults_do_not_bypass_auth(server: Any) -> None:
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert anonymous.post("/infer", json=PLAIN_BODY, headers=fault("500")).status_code == 401
