"""Every client behind one test interface: integration tests run for sync, async and aiohttp.

Kinds: ``sync`` (BabyAPI on httpx), ``stdlib`` (BabyAPI on the standard library's
http.client), ``async`` (AsyncBabyAPI on httpx) and ``aiohttp`` (AsyncBabyAPI on its aiohttp
transport).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Union

from babyapi import AsyncBabyAPI, BabyAPI, SSEEvent
from babyapi._call import Clocks
from scripted_server import ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

AnyClient = Union[BabyAPI, AsyncBabyAPI]
API_KEY = "sk-test-secret-0123456789"
KINDS = ("sync", "stdlib", "async", "aiohttp")
SYNC_KINDS = ("sync", "stdlib")
# The transport each kind pins, so none depends on what is installed or what "auto" picks.
TRANSPORT_OF_KIND = {"sync": "httpx", "stdlib": "stdlib", "async": "httpx", "aiohttp": "aiohttp"}


def library_errors(kind: str) -> tuple[type[BaseException], ...]:
    """What the HTTP library under a kind raises: the ``cause`` of a transport failure."""
    if kind == "aiohttp":
        import aiohttp

        return (aiohttp.ClientError,)
    if kind == "stdlib":
        import http.client
        import zlib

        return (OSError, http.client.HTTPException, zlib.error)
    import httpx

    return (httpx.HTTPError,)


class FakeTime:
    """A clock that only moves when the client sleeps, so backoff is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Driver:
    """Runs a call on either client and hands back plain results."""

    def __init__(self, kind: str, server: ScriptedServer) -> None:
        self.kind = kind
        self.is_async = kind not in SYNC_KINDS
        self.server = server
        self.time = FakeTime()
        self._loop = asyncio.new_event_loop() if self.is_async else None
        self._clients: list[AnyClient] = []
        self.client = self.make()

    def make(self, **kwargs: Any) -> AnyClient:
        """A client on the scripted server with a fake clock; kwargs override the defaults."""
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", self.server.base_url)
        if "http_client" not in kwargs:
            kwargs.setdefault("transport", TRANSPORT_OF_KIND[self.kind])
        cls = AsyncBabyAPI if self.is_async else BabyAPI
        client = cls(**kwargs)
        self.install_fake_time(client)
        self._clients.append(client)
        return client

    def install_fake_time(self, client: AnyClient) -> None:
        client._clocks = Clocks(
            monotonic=self.time.monotonic, wall=lambda: 1_700_000_000.0, random=lambda: 0.5
        )
        client._sleep = self.time.async_sleep if self.is_async else self.time.sleep  # type: ignore[assignment]

    def run(self, value: Any) -> Any:
        """Await it if the async client returned an awaitable."""
        if inspect.isawaitable(value):
            assert self._loop is not None
            return self._loop.run_until_complete(_await(value))
        return value

    def call(self, fn: Callable[[AnyClient], Any], client: AnyClient | None = None) -> Any:
        return self.run(fn(client or self.client))

    def events(
        self, fn: Callable[[AnyClient], Any], client: AnyClient | None = None
    ) -> list[SSEEvent]:
        """Open a stream and read every event."""
        stream = fn(client or self.client)
        if not self.is_async:
            return list(stream)

        async def collect() -> list[SSEEvent]:
            return [event async for event in stream]

        return self.run(collect())

    def stream_method(self, stream: Any, name: str) -> Any:
        """Call text_deltas() or final() on either kind of stream."""
        result = getattr(stream, name)()
        if not self.is_async:
            return list(result) if name == "text_deltas" else result
        if name == "text_deltas":

            async def collect() -> list[str]:
                return [text async for text in result]

            return self.run(collect())
        return self.run(result)

    def close(self) -> None:
        for client in self._clients:
            self.run(client.aclose()) if isinstance(client, AsyncBabyAPI) else client.close()
        if self._loop is not None:
            # As asyncio.run does: streams a test left open are closed inside the loop.
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()


async def _await(value: Any) -> Any:
    return await value
