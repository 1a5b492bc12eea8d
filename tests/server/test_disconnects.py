"""What the server prints when a client gives up: one line at most, never a traceback."""

from __future__ import annotations

import httpx
import pytest

from server_process import ServerProcess  # pyright: ignore[reportImplicitRelativeImport]

API_KEY = "disconnect-key"
BODY = {"model": "mistral", "messages": [{"role": "user", "content": "Hello."}]}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/embeddings"])
def test_a_client_leaving_a_hang_drill_costs_one_line(path: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with (
        ServerProcess(API_KEY, log_level="info") as server,
        httpx.Client(base_url=server.base_url, headers=headers) as client,
    ):
        assert client.get("/v1/models").status_code == 200
        assert server.wait_for_output('"GET /v1/models HTTP/1.1" 200')
        before = server.output()
        with pytest.raises(httpx.ReadTimeout):
            client.post(path, json=BODY, headers={"x-babyapi-fault": "hang=0.3"}, timeout=0.05)
        # The server notices once its hang ends; a later request's access line marks the end.
        assert server.wait_for_output("went away", "Traceback")
        assert client.get("/health").status_code == 200
        assert server.wait_for_output('"GET /health HTTP/1.1" 200')
        printed = server.output()[len(before) :].splitlines()
    assert "Traceback" not in "\n".join(printed)
    about_the_drill = [line for line in printed if "/health" not in line]
    assert len(about_the_drill) == 1, printed
    assert path in about_the_drill[0]


def test_nothing_is_printed_at_the_default_log_level() -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with (
        ServerProcess(API_KEY) as server,
        httpx.Client(base_url=server.base_url, headers=headers) as client,
    ):
        before = server.output()
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                "/v1/chat/completions",
                json=BODY,
                headers={"x-babyapi-fault": "hang=0.2"},
                timeout=0.05,
            )
        # Ask the server to carry on past the drill: a reply after the hang ends means it is done.
        slow = client.post(
            "/v1/chat/completions", json=BODY, headers={"x-babyapi-fault": "hang=0.3"}
        )
        assert slow.status_code == 200
        printed = server.output()[len(before) :]
    assert printed == ""
