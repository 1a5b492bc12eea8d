"""The client shells: BabyAPI on httpx.Client and AsyncBabyAPI on httpx.AsyncClient.

They are the only code that does I/O, sleeps or reads the clock. Each carries out the
actions of the plans in ``_call`` and differs from its twin only in ``await``.
"""

from __future__ import annotations

import copy
import random
import sys
import threading
import time
from typing import Any, Callable, Generic, Mapping, Optional, TypeVar

import httpx

from babyapi._bodies import check_body
from babyapi._call import (
    TRANSPORT_ERRORS,
    Clocks,
    Outcome,
    Plan,
    ReadBody,
    Send,
    json_plan,
    response_plan,
)
from babyapi._config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BASE_DELAY_S,
    DEFAULT_TIMEOUT_S,
    build_config,
)
from babyapi._errors import BabyAPIError
from babyapi._infer import baby_infer_body, route_infer
from babyapi._options import RequestOptionsLike
from babyapi._request import Call, prepare_call
from babyapi._streaming import AsyncStream, EventReader, Stream
from babyapi.resources import (
    AsyncBaby,
    AsyncChat,
    AsyncCompletions,
    AsyncEmbeddings,
    AsyncModels,
    AsyncRerank,
    Baby,
    Chat,
    Completions,
    Embeddings,
    Models,
    Rerank,
)

__all__ = ["AsyncBabyAPI", "BabyAPI"]

SelfT = TypeVar("SelfT", bound="_ClientBase")
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
INFER_PATH = "/infer"


class _Pool(Generic[HttpT]):
    """The httpx client behind a BabyAPI, shared with its ``with_options`` copies.

    Ours is built on first use: loading the TLS certificate bundle costs tens of
    milliseconds, which a client that is configured but never used should not pay.
    """

    def __init__(
        self,
        factory: Callable[[], HttpT],
        given: Optional[HttpT],
        affinity: Callable[[], object] = lambda: None,
    ) -> None:
        self._factory: Callable[[], HttpT] = factory
        self._client: Optional[HttpT] = given
        self.external = given is not None
        self._affinity = affinity
        self._bound_to: object = None
        self._lock = threading.Lock()

    def get(self) -> HttpT:
        client = self._client
        if client is None or self._bound_to is not self._affinity():
            with self._lock:
                client = self._rebind()
        return client

    def _rebind(self) -> HttpT:
        current = self._affinity()
        if self._client is not None and self._bound_to not in (None, current):
            if self.external:
                raise BabyAPIError(
                    "this client's http_client was first used in another event loop, and "
                    "connections cannot move between loops: create the AsyncBabyAPI and its "
                    "httpx.AsyncClient inside the loop that uses them (e.g. inside asyncio.run).",
                    code="EVENT_LOOP_CHANGED",
                )
            # Connections of a finished loop are dead; start a fresh pool in this one.
            self._client = None
        if self._client is None:
            self._client = self._factory()
        self._bound_to = current
        return self._client

    def closable(self) -> Optional[HttpT]:
        """Our own client, if it exists and belongs to the running loop."""
        if self.external or self._client is None:
            return None
        if self._bound_to not in (None, self._affinity()):
            # Its loop has ended and its connections with it; there is nothing left to close.
            self._client = None
            return None
        return self._client


class _ClientBase:
    """Configuration and request preparation shared by both shells; no I/O here."""

    _pool: _Pool[Any]

    def __init__(
        self,
        api_key: Optional[str],
        base_url: Optional[str],
        timeout_s: float,
        max_retries: int,
        retry_base_delay_s: float,
        default_model: Optional[str],
        default_headers: Optional[Mapping[str, str]],
        deadline_s: Optional[float],
    ) -> None:
        self._config = build_config(
            api_key=api_key,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            retry_base_delay_s=retry_base_delay_s,
            default_model=default_model,
            default_headers=default_headers,
            deadline_s=deadline_s,
        )
        self._clocks = Clocks(monotonic=time.monotonic, wall=time.time, random=random.random)
        self._closes_pool = True

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def default_model(self) -> Optional[str]:
        return self._config.default_model

    @property
    def timeout_s(self) -> float:
        return self._config.timeout_s

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, default_model={self.default_model!r})"

    def with_options(self: SelfT, **changes: Any) -> SelfT:
        """A copy with some settings changed that shares this client's connection pool."""
        clone = copy.copy(self)
        clone._config = self._config.with_changes(**changes)
        clone._closes_pool = False
        clone._attach_resources()
        return clone

    def _attach_resources(self) -> None:
        raise NotImplementedError

    def _prepare(
        self, path: str, body: Any, options: Optional[RequestOptionsLike], *, stream: bool = False
    ) -> Call:
        checked = check_body(path, body, self._config.default_model, stream=stream)
        return prepare_call(self._config, "POST", path, checked, options, stream=stream)

    def _prepare_infer(
        self, value: Any, options: Mapping[str, Any], request_options: Optional[RequestOptionsLike]
    ) -> Call:
        body = baby_infer_body(value, options, self._config.default_model)
        return prepare_call(self._config, "POST", INFER_PATH, body, request_options)

    def _prepare_get(self, path: str, options: Optional[RequestOptionsLike]) -> Call:
        return prepare_call(self._config, "GET", path, None, options)

    def _json_plan(self, call: Call) -> Plan:
        return json_plan(
            call, self._pool.get().build_request, self._clocks, self._config.retry_base_delay_s
        )

    def _stream_plan(self, call: Call) -> Plan:
        return response_plan(
            call, self._pool.get().build_request, self._clocks, self._config.retry_base_delay_s
        )


class BabyAPI(_ClientBase):
    """The synchronous client. Use it as a context manager, or call ``close()`` when done."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_base_delay_s: float = DEFAULT_RETRY_BASE_DELAY_S,
        default_model: Optional[str] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        *,
        deadline_s: Optional[float] = None,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout_s,
            max_retries,
            retry_base_delay_s,
            default_model,
            default_headers,
            deadline_s,
        )
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise BabyAPIError(
                f"http_client must be an httpx.Client, got {type(http_client).__name__} "
                "(use AsyncBabyAPI for an httpx.AsyncClient).",
                code="INVALID_OPTIONS",
            )
        self._pool: _Pool[httpx.Client] = _Pool(
            lambda: httpx.Client(timeout=DEFAULT_TIMEOUT_S), http_client
        )
        self._sleep: Callable[[float], None] = time.sleep
        self._attach_resources()

    @property
    def _http(self) -> httpx.Client:
        return self._pool.get()

    def _attach_resources(self) -> None:
        self.chat = Chat(self)
        self.completions = Completions(self)
        self.embeddings = Embeddings(self)
        self.rerank = Rerank(self)
        self.models = Models(self)
        self.baby = Baby(self)

    def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``."""
        path, merged = route_infer(body, kwargs)
        return self._post(path, merged, request_options)

    def close(self) -> None:
        """Close the connection pool (unless it belongs to an ``http_client`` you passed in)."""
        http = self._pool.closable() if self._closes_pool else None
        if http is not None:
            http.close()

    def __enter__(self) -> BabyAPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, path: str, body: Any, options: Optional[RequestOptionsLike]) -> Any:
        return self._run(self._json_plan(self._prepare(path, body, options)))

    def _get(self, path: str, options: Optional[RequestOptionsLike]) -> Any:
        return self._run(self._json_plan(self._prepare_get(path, options)))

    def _infer(
        self, value: Any, options: Mapping[str, Any], request_options: Optional[RequestOptionsLike]
    ) -> Any:
        return self._run(self._json_plan(self._prepare_infer(value, options, request_options)))

    def _stream(self, path: str, body: Any, options: Optional[RequestOptionsLike]) -> Stream[Any]:
        call = self._prepare(path, body, options, stream=True)
        response = self._run(self._stream_plan(call))
        return Stream(EventReader(response, call, self._clocks.monotonic))

    def _run(self, plan: Plan) -> Any:
        outcome: Outcome = None
        while True:
            try:
                action = plan.send(outcome)
            except StopIteration as stop:
                return stop.value
            if isinstance(action, Send):
                try:
                    outcome = self._http.send(action.request, stream=action.stream)
                except TRANSPORT_ERRORS as exc:
                    outcome = exc
            elif isinstance(action, ReadBody):
                try:
                    action.response.read()
                    outcome = None
                except TRANSPORT_ERRORS as exc:
                    outcome = exc
            else:
                self._sleep(action.seconds)
                outcome = None


class AsyncBabyAPI(_ClientBase):
    """The asynchronous client. Use ``async with``, or ``await client.aclose()`` when done."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_base_delay_s: float = DEFAULT_RETRY_BASE_DELAY_S,
        default_model: Optional[str] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        *,
        deadline_s: Optional[float] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout_s,
            max_retries,
            retry_base_delay_s,
            default_model,
            default_headers,
            deadline_s,
        )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise BabyAPIError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__} "
                "(use BabyAPI for an httpx.Client).",
                code="INVALID_OPTIONS",
            )
        self._pool: _Pool[httpx.AsyncClient] = _Pool(
            lambda: httpx.AsyncClient(timeout=DEFAULT_TIMEOUT_S), http_client, _running_asyncio_loop
        )
        self._sleep: Callable[[float], Any] = _anyio_sleep
        self._attach_resources()

    @property
    def _http(self) -> httpx.AsyncClient:
        return self._pool.get()

    def _attach_resources(self) -> None:
        self.chat = AsyncChat(self)
        self.completions = AsyncCompletions(self)
        self.embeddings = AsyncEmbeddings(self)
        self.rerank = AsyncRerank(self)
        self.models = AsyncModels(self)
        self.baby = AsyncBaby(self)

    async def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``."""
        path, merged = route_infer(body, kwargs)
        return await self._post(path, merged, request_options)

    async def aclose(self) -> None:
        """Close the connection pool (unless it belongs to an ``http_client`` you passed in)."""
        http = self._pool.closable() if self._closes_pool else None
        if http is not None:
            await http.aclose()

    async def __aenter__(self) -> AsyncBabyAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _post(self, path: str, body: Any, options: Optional[RequestOptionsLike]) -> Any:
        return await self._run(self._json_plan(self._prepare(path, body, options)))

    async def _get(self, path: str, options: Optional[RequestOptionsLike]) -> Any:
        return await self._run(self._json_plan(self._prepare_get(path, options)))

    async def _infer(
        self, value: Any, options: Mapping[str, Any], request_options: Optional[RequestOptionsLike]
    ) -> Any:
        return await self._run(
            self._json_plan(self._prepare_infer(value, options, request_options))
        )

    def _stream(
        self, path: str, body: Any, options: Optional[RequestOptionsLike]
    ) -> AsyncStream[Any]:
        call = self._prepare(path, body, options, stream=True)

        async def open_reader() -> EventReader:
            response = await self._run(self._stream_plan(call))
            return EventReader(response, call, self._clocks.monotonic)

        return AsyncStream(open_reader)

    async def _run(self, plan: Plan) -> Any:
        outcome: Outcome = None
        while True:
            try:
                action = plan.send(outcome)
            except StopIteration as stop:
                return stop.value
            if isinstance(action, Send):
                try:
                    outcome = await self._http.send(action.request, stream=action.stream)
                except TRANSPORT_ERRORS as exc:
                    outcome = exc
            elif isinstance(action, ReadBody):
                try:
                    await action.response.aread()
                    outcome = None
                except TRANSPORT_ERRORS as exc:
                    outcome = exc
            else:
                await self._sleep(action.seconds)
                outcome = None


def _running_asyncio_loop() -> object:
    """The asyncio loop we run in, or None under trio (whose runs cannot be reused anyway)."""
    # Importing asyncio costs more than importing httpx; if nobody imported it, no loop runs.
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _anyio_sleep(seconds: float) -> None:
    """Sleep on whichever event loop runs us (asyncio or trio)."""
    import anyio  # httpx depends on anyio, so this is always importable

    await anyio.sleep(seconds)
