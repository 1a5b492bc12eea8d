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
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generic,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
    overload,
)

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

if TYPE_CHECKING:
    from babyapi.types.chat import ChatCompletion, ChatCompletionMessageParam
    from babyapi.types.completions import Completion

__all__ = ["AsyncBabyAPI", "BabyAPI"]

_Prompt = Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]]

SelfT = TypeVar("SelfT", bound="_ClientBase[Any]")
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


class _ClientBase(Generic[HttpT]):
    """Configuration, validation and request preparation shared by both shells; no I/O here."""

    _http_class: type[HttpT]

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
        retry_read_timeouts: Optional[bool] = None,
        http_client: Optional[HttpT] = None,
    ) -> None:
        """Settings left out come from BABYAPI_API_KEY (or BABY_API_KEY), BABYAPI_BASE_URL and
        BABYAPI_DEFAULT_MODEL. ``deadline_s`` bounds a whole call, retries included;
        ``retry_read_timeouts=True`` also retries read timeouts of generation requests (not
        retried by default: the server may still be generating, and would be paid twice);
        ``http_client`` is your own httpx client (proxies, mTLS, transports), never closed by us.
        """
        self._config = build_config(
            api_key=api_key,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            retry_base_delay_s=retry_base_delay_s,
            default_model=default_model,
            default_headers=default_headers,
            deadline_s=deadline_s,
            retry_read_timeouts=retry_read_timeouts,
        )
        http_class = self._http_class
        if http_client is not None and not isinstance(http_client, http_class):
            raise BabyAPIError(
                f"{type(self).__name__} needs an httpx.{http_class.__name__} as http_client, got "
                f"{type(http_client).__name__} (BabyAPI takes httpx.Client, AsyncBabyAPI httpx.AsyncClient).",
                code="INVALID_OPTIONS",
            )
        self._pool: _Pool[HttpT] = _Pool(
            lambda: http_class(timeout=DEFAULT_TIMEOUT_S), http_client, self._affinity
        )
        self._clocks = Clocks(monotonic=time.monotonic, wall=time.time, random=random.random)
        self._closes_pool = True
        self._attach_resources()

    @staticmethod
    def _affinity() -> object:
        """What a pool is bound to; the async client binds pools to their event loop."""
        return None

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

    @property
    def _http(self) -> HttpT:
        return self._pool.get()

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
        self,
        path: str,
        body: Any,
        options: Optional[RequestOptionsLike],
        *,
        stream: bool = False,
        extra_body: Optional[Mapping[str, Any]] = None,
    ) -> Call:
        if extra_body is not None:
            if not isinstance(extra_body, Mapping):
                raise BabyAPIError(
                    f"extra_body must be a dict of extra JSON fields, got {type(extra_body).__name__}.",
                    code="INVALID_REQUEST_BODY",
                )
            body = {**body, **extra_body}
        checked = check_body(path, body, self._config.default_model, stream=stream)
        return prepare_call(self._config, "POST", path, checked, options, stream=stream)

    def _prepare_infer(
        self, value: Any, options: Mapping[str, Any], request_options: Optional[RequestOptionsLike]
    ) -> Call:
        body = baby_infer_body(value, options, self._config.default_model)
        return prepare_call(self._config, "POST", INFER_PATH, body, request_options)

    def _prepare_get(self, path: str, options: Optional[RequestOptionsLike]) -> Call:
        return prepare_call(self._config, "GET", path, None, options)

    def _routed(
        self,
        body: Optional[Mapping[str, Any]],
        kwargs: Mapping[str, Any],
        options: Optional[RequestOptionsLike],
    ) -> Call:
        path, merged = route_infer(body, kwargs)
        return self._prepare(path, merged, options)

    def _json_plan(self, call: Call) -> Plan:
        return json_plan(
            call, self._http.build_request, self._clocks, self._config.retry_base_delay_s
        )

    def _stream_plan(self, call: Call) -> Plan:
        return response_plan(
            call, self._http.build_request, self._clocks, self._config.retry_base_delay_s
        )

    def _reader(self, response: httpx.Response, call: Call) -> EventReader:
        return EventReader(response, call, self._clocks.monotonic)


class BabyAPI(_ClientBase[httpx.Client]):
    """The synchronous client. Use it as a context manager, or call ``close()`` when done."""

    _http_class = httpx.Client
    _sleep: Callable[[float], None] = staticmethod(time.sleep)

    def _attach_resources(self) -> None:
        self.chat = Chat(self)
        self.completions = Completions(self)
        self.embeddings = Embeddings(self)
        self.rerank = Rerank(self)
        self.models = Models(self)
        self.baby = Baby(self)

    @overload
    def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> ChatCompletion: ...

    @overload
    def infer(
        self,
        body: None = None,
        *,
        prompt: _Prompt,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Completion: ...

    @overload
    def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Any: ...

    def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``.

        With keyword arguments the return type follows them; with a dict body it is the JSON.
        """
        return self._request(self._routed(body, kwargs, request_options))

    def close(self) -> None:
        """Close the connection pool (unless it belongs to an ``http_client`` you passed in)."""
        http = self._pool.closable() if self._closes_pool else None
        if http is not None:
            http.close()

    def __enter__(self) -> BabyAPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, call: Call) -> Any:
        return self._run(self._json_plan(call))

    def _stream(self, call: Call) -> Stream[Any]:
        return Stream(self._reader(self._run(self._stream_plan(call)), call))

    def _run(self, plan: Plan) -> Any:
        outcome: Outcome = None
        while True:
            try:
                action = plan.send(outcome)
            except StopIteration as stop:
                return stop.value
            try:
                if isinstance(action, Send):
                    outcome = self._http.send(action.request, stream=action.stream)
                elif isinstance(action, ReadBody):
                    action.response.read()
                    outcome = None
                else:
                    self._sleep(action.seconds)
                    outcome = None
            except TRANSPORT_ERRORS as exc:
                outcome = exc


class AsyncBabyAPI(_ClientBase[httpx.AsyncClient]):
    """The asynchronous client. Use ``async with``, or ``await client.aclose()`` when done."""

    _http_class = httpx.AsyncClient
    _affinity = staticmethod(_running_asyncio_loop)

    async def _sleep(self, seconds: float) -> None:
        import anyio  # a dependency of httpx; imported here to keep it out of `import babyapi`

        await anyio.sleep(seconds)

    def _attach_resources(self) -> None:
        self.chat = AsyncChat(self)
        self.completions = AsyncCompletions(self)
        self.embeddings = AsyncEmbeddings(self)
        self.rerank = AsyncRerank(self)
        self.models = AsyncModels(self)
        self.baby = AsyncBaby(self)

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> ChatCompletion: ...

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        prompt: _Prompt,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Completion: ...

    @overload
    async def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Any: ...

    async def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``.

        With keyword arguments the return type follows them; with a dict body it is the JSON.
        """
        return await self._request(self._routed(body, kwargs, request_options))

    async def aclose(self) -> None:
        """Close the connection pool (unless it belongs to an ``http_client`` you passed in)."""
        http = self._pool.closable() if self._closes_pool else None
        if http is not None:
            await http.aclose()

    async def close(self) -> None:
        """The same as ``aclose()``, for code written against other async clients."""
        await self.aclose()

    async def __aenter__(self) -> AsyncBabyAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _request(self, call: Call) -> Any:
        return await self._run(self._json_plan(call))

    def _stream(self, call: Call) -> AsyncStream[Any]:
        async def open_reader() -> EventReader:
            return self._reader(await self._run(self._stream_plan(call)), call)

        return AsyncStream(open_reader)

    async def _run(self, plan: Plan) -> Any:
        outcome: Outcome = None
        while True:
            try:
                action = plan.send(outcome)
            except StopIteration as stop:
                return stop.value
            try:
                if isinstance(action, Send):
                    outcome = await self._http.send(action.request, stream=action.stream)
                elif isinstance(action, ReadBody):
                    await action.response.aread()
                    outcome = None
                else:
                    await self._sleep(action.seconds)
                    outcome = None
            except TRANSPORT_ERRORS as exc:
                outcome = exc
