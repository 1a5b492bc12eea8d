"""Client lifecycle and configuration: context managers, shared pools, the user's own httpx client."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from babyapi import AsyncBabyAPI, BabyAPI
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

OK = Reply.json({"object": "list", "data": []})


def test_repr_shows_url_and_model_never_the_key(driver: Driver) -> None:
    client = driver.make(default_model="mistral")
    text = repr(client)
    assert driver.server.base_url in text and "mistral" in text
    assert API_KEY not in text and API_KEY not in str(vars(client))


def test_with_options_shares_the_pool_and_changes_only_what_was_asked(driver: Driver) -> None:
    driver.server.script(OK)
    client = driver.make(default_model="mistral", default_headers={"x-app": "a"})
    fast = client.with_options(timeout_s=5.0, max_retries=0)
    assert (fast.timeout_s, fast.max_retries, fast.default_model) == (5.0, 0, "mistral")
    assert (client.timeout_s, client.max_retries) == (60.0, 2)
    assert fast._http is client._http
    driver.call(lambda c: c.models.list(), fast)
    driver.call(lambda c: c.models.list(), client)
    assert driver.server.total_connections == 1
    assert driver.server.requests[0].headers["x-app"] == "a"


def test_with_options_rejects_unknown_settings(driver: Driver) -> None:
    from babyapi import BabyAPIError

    with pytest.raises(BabyAPIError) as info:
        driver.client.with_options(timeout=5)
    assert info.value.code == "INVALID_OPTIONS"


def test_sync_context_manager_closes_the_pool(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK)
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
        client.models.list()
    http = client._pool.current()
    assert http is not None and http.is_closed
    assert scripted_server.wait_for_open_connections(0)


def test_async_context_manager_closes_the_pool(scripted_server: ScriptedServer) -> None:
    import asyncio

    scripted_server.script(OK)

    async def main() -> bool:
        async with AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
            await client.models.list()
            http = client._http
        return http.is_closed

    assert asyncio.run(main())


def test_the_users_http_client_is_used_and_never_closed(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK)
    seen: list[str] = []
    own = httpx.Client(
        headers={"x-proxy-auth": "p"}, event_hooks={"request": [lambda r: seen.append(r.url.path)]}
    )
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, http_client=own) as client:
        client.models.list()
        client.with_options(max_retries=0).close()
    assert not own.is_closed
    assert seen == ["/v1/models"]
    assert scripted_server.requests[0].headers["x-proxy-auth"] == "p"
    own.close()


def test_the_users_async_http_client_is_used_and_never_closed(
    scripted_server: ScriptedServer,
) -> None:
    import asyncio

    scripted_server.script(OK)

    async def main() -> httpx.AsyncClient:
        own = httpx.AsyncClient(headers={"x-proxy-auth": "p"})
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, http_client=own
        ) as client:
            await client.models.list()
        assert not own.is_closed
        await own.aclose()
        return own

    asyncio.run(main())
    assert scripted_server.requests[0].headers["x-proxy-auth"] == "p"


def test_custom_transport_through_http_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"output": request.headers["authorization"][-4:]})

    client = BabyAPI(
        api_key=API_KEY,
        default_model="m",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    assert client.baby.infer("hi")["output"] == API_KEY[-4:]


def test_async_close_is_an_alias_of_aclose(scripted_server: ScriptedServer) -> None:
    import asyncio

    scripted_server.script(OK)

    async def main() -> bool:
        client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
        await client.models.list()
        http = client._http
        await client.close()
        return http.is_closed

    assert asyncio.run(main())


def test_a_connection_idle_for_four_seconds_is_not_reused(driver: Driver) -> None:
    # vLLM, LiteLLM (uvicorn) and llama.cpp close a connection idle for 5 s; a client that
    # kept it as long could send just as it closed, and lose the request.
    driver.server.script(OK, OK, OK)
    driver.call(lambda c: c.models.list())
    time.sleep(4.2)
    driver.call(lambda c: c.models.list())
    driver.call(lambda c: c.models.list())
    first, after_idle, right_after = (r.client_port for r in driver.server.requests)
    assert after_idle != first  # a new connection after 4 s idle
    assert right_after == after_idle  # keep-alive still serves calls close together


@pytest.mark.parametrize("transport", ["httpx", "stdlib"])
def test_threads_reuse_the_connections_of_an_earlier_wave(
    scripted_server: ScriptedServer, transport: Any
) -> None:
    wave = 50  # more threads at once than a pool of 20 idle connections keeps
    # Each call waits a little, so every thread of a wave holds a connection of its own.
    scripted_server.script(*[Reply.json({"ok": True}, delay_s=0.2)] * (2 * wave))
    client = BabyAPI(
        api_key=API_KEY, base_url=scripted_server.base_url, timeout_s=60, transport=transport
    )
    with client, ThreadPoolExecutor(max_workers=wave) as threads:
        for _ in range(2):
            list(threads.map(lambda _: client.models.list(), range(wave)))
    assert len(scripted_server.requests) == 2 * wave
    assert scripted_server.total_connections == wave
