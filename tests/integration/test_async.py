"""What only the async client has: cancellation, event loops, trio, high concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import anyio
import httpx
import pytest

from babyapi import AsyncBabyAPI, BabyAPIError
from drivers import API_KEY  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hi"}]
# What runs on our own pool runs on both transports; a user's httpx client pins httpx.
TRANSPORTS = pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
OK = Reply.json({"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]})


def small_pool(transport: str, size: int) -> Any:
    """A user's client of either library with room for ``size`` connections."""
    if transport == "aiohttp":
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=size))
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=size))


def chunk(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


@TRANSPORTS
def test_cancelled_streams_leave_the_pool_healthy(
    scripted_server: ScriptedServer, transport: str
) -> None:
    slow_stream = Reply.sse([chunk("x")] * 20, chunk_delay_s=0.05)

    def reply(request: Any) -> Reply:
        return slow_stream if request.json().get("stream") else OK

    scripted_server.set_handler(reply)

    async def main() -> list[str]:
        # A small pool makes any leaked connection show up as a pool timeout.
        http = small_pool(transport, 10)
        try:
            client = AsyncBabyAPI(
                api_key=API_KEY, base_url=scripted_server.base_url, timeout_s=5.0, http_client=http
            )

            async def read_some(i: int) -> None:
                async for _event in client.chat.completions.stream(model="m", messages=MESSAGES):
                    pass

            for batch in range(20):
                async with anyio.create_task_group() as tg:
                    for i in range(10):
                        tg.start_soon(read_some, batch * 10 + i)
                    await anyio.sleep(0.02)
                    tg.cancel_scope.cancel()

            async def call() -> str:
                res = await client.chat.completions.create(model="m", messages=MESSAGES)
                return res["choices"][0]["message"]["content"]

            results: list[str] = []
            for _ in range(20):
                results += await asyncio.gather(*(call() for _ in range(10)))
            return results
        finally:
            await (http.close() if isinstance(http, aiohttp.ClientSession) else http.aclose())

    assert asyncio.run(main()) == ["ok"] * 200
    assert scripted_server.wait_for_open_connections(0, timeout=5.0)


@TRANSPORTS
def test_asyncio_timeout_cancels_a_call(scripted_server: ScriptedServer, transport: str) -> None:
    slow = Reply.json({}, delay_s=30.0)  # far past the 0.2 s bound, even on a loaded machine

    def reply(request: Any) -> Reply:
        return slow if request.json()["messages"][0]["content"] == "slow" else OK

    scripted_server.set_handler(reply)

    async def main() -> str:
        client = AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, max_retries=0, transport=transport
        )
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):  # type: ignore[attr-defined]
                await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "slow"}]
                )
        res = await client.chat.completions.create(model="m", messages=MESSAGES)
        await client.aclose()
        return res["choices"][0]["message"]["content"]

    if not hasattr(asyncio, "timeout"):
        pytest.skip("asyncio.timeout needs Python 3.11")
    assert asyncio.run(main()) == "ok"


@TRANSPORTS
def test_one_client_across_successive_asyncio_runs(
    scripted_server: ScriptedServer, transport: str
) -> None:
    scripted_server.script(OK)
    client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, transport=transport)

    async def ask() -> str:
        res = await client.chat.completions.create(model="m", messages=MESSAGES)
        return res["choices"][0]["message"]["content"]

    assert asyncio.run(ask()) == "ok"
    assert asyncio.run(ask()) == "ok"  # a fresh pool for the new loop, no "Event loop is closed"
    asyncio.run(client.aclose())


def test_a_users_http_client_cannot_follow_a_new_loop(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK)
    http = httpx.AsyncClient()
    client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, http_client=http)

    async def ask() -> Any:
        return await client.models.list()

    async def ask_and_close() -> None:
        await ask()
        await http.aclose()  # yours to close, in its own loop; the binding to it remains

    asyncio.run(ask_and_close())
    with pytest.raises(BabyAPIError) as info:
        asyncio.run(ask())
    assert info.value.code == "EVENT_LOOP_CHANGED"
    assert "inside the loop" in info.value.message


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_runs_under_asyncio_and_trio(scripted_server: ScriptedServer, backend: str) -> None:
    scripted_server.script(
        Reply.json({"error": {"message": "busy"}}, status=503),
        OK,
        Reply.sse([chunk("a"), chunk("b")]),
    )

    async def main() -> tuple[str, str]:
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, retry_base_delay_s=0.01
        ) as client:
            res = await client.chat.completions.create(model="m", messages=MESSAGES)
            stream = client.chat.completions.stream(model="m", messages=MESSAGES)
            text = "".join([t async for t in stream.text_deltas()])
            return res["choices"][0]["message"]["content"], text

    assert anyio.run(main, backend=backend) == ("ok", "ab")
    assert len(scripted_server.requests) == 3


@TRANSPORTS
@pytest.mark.timeout(300)  # 500 server threads on a busy 2-core machine: slow, not wrong
def test_five_hundred_concurrent_calls_at_default_limits(
    scripted_server: ScriptedServer, transport: str
) -> None:
    scripted_server.script(OK)

    async def main() -> int:
        # Default limits; a long timeout_s, so a loaded machine's slow queue is not the test.
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, transport=transport, timeout_s=120
        ) as client:
            results = await asyncio.gather(
                *(client.chat.completions.create(model="m", messages=MESSAGES) for _ in range(500))
            )
        return len(results)

    assert asyncio.run(main()) == 500
    assert len(scripted_server.requests) == 500


WAVE = 50  # more calls at once than a pool of 20 idle connections keeps, fewer than 100


@TRANSPORTS
def test_a_second_wave_of_calls_reuses_the_first_waves_connections(
    scripted_server: ScriptedServer, transport: str
) -> None:
    # Each call waits a little, so every call of a wave holds a connection of its own.
    scripted_server.script(*[Reply.json({"ok": True}, delay_s=0.2)] * (2 * WAVE))

    async def main() -> None:
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, transport=transport, timeout_s=60
        ) as client:
            for _ in range(2):
                await asyncio.gather(*(client.models.list() for _ in range(WAVE)))

    asyncio.run(main())
    assert len(scripted_server.requests) == 2 * WAVE
    # Up to 100 connections stay open between waves: no new connection (no new TLS handshake
    # on a real server) for the second wave.
    assert scripted_server.total_connections == WAVE


@TRANSPORTS
def test_pool_exhaustion_names_the_setting(scripted_server: ScriptedServer, transport: str) -> None:
    scripted_server.script(Reply.json({}, delay_s=0.5))

    async def main() -> BabyAPIError:
        http = small_pool(transport, 1)
        async with AsyncBabyAPI(
            api_key=API_KEY,
            base_url=scripted_server.base_url,
            http_client=http,
            max_retries=0,
            timeout_s=0.05,
        ) as client:
            outcomes = await asyncio.gather(
                *(client.models.list() for _ in range(3)), return_exceptions=True
            )
        await (http.close() if isinstance(http, aiohttp.ClientSession) else http.aclose())
        errors = [o for o in outcomes if isinstance(o, BabyAPIError)]
        return errors[0]

    error = asyncio.run(main())
    assert error.code == "TIMEOUT"
    assert "max_connections" in error.message or "timed out" in error.message
