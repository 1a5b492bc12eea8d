"""The client shells: BabyAPI on httpx.Client and AsyncBabyAPI on httpx.AsyncClient.

They are the only code that does I/O, sleeps or reads the clock. Each carries out the
actions of the plans in ``_call`` and differs from its twin only in ``await``.
"""

from __future__ import annotations

import random
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
)

import httpx

from babyapi._budget import RetryBudget, RetryLedger
from babyapi._call import (
    Clocks,
    Outcome,
    Plan,
    ReadBody,
    Send,
)
from babyapi._config import (
    CLIENT_SETTINGS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BASE_DELAY_S,
    DEFAULT_RETRY_BUDGET,
    DEFAULT_TIMEOUT_S,
    BaseURL,
    ClientConfig,
    build_config,
    refuse_unknown_settings,
)
from babyapi._errors import BabyAPIError
from babyapi._httpx import HttpxTransport
from babyapi._openai_names import PointsToBabyAPINames
from babyapi._pool import (
    CloseWhenDropped,
    Pool,
    close_with_loop,
    closed_error,
    running_loop,
)
from babyapi._pool_guard import inside_pool
from babyapi._request import Call
from babyapi._requester import AsyncRequests, Requests
from babyapi._surface import AsyncSurface, SyncSurface
from babyapi._transports import (
    Transport,
    check_sync_transport,
    check_transport,
    chosen,
    chosen_sync,
    name_of,
    new_sender,
    new_sync_transport,
    sync_name_of,
    wrap_given,
)
from babyapi._wire import AsyncTransport, Response, SyncTransport, TransportError
from babyapi.resources.chat import AsyncChat, Chat

if TYPE_CHECKING:
    import aiohttp
    from typing_extensions import Never

    from babyapi._observe import Observer
    from babyapi._pool import Release
    from babyapi._request_api import AsyncRequestAPI
    from babyapi._servers import ServerSet, ServerStatus
    from babyapi._streaming import EventReader


__all__ = ["AsyncBabyAPI", "BabyAPI"]

SelfT = TypeVar("SelfT", bound="_ClientBase[Any, Any]")
HttpT = TypeVar("HttpT", SyncTransport, AsyncTransport)
# What ``http_client=`` accepts: an httpx client, or for AsyncBabyAPI an aiohttp session too.
GivenT = TypeVar("GivenT")
AsyncHttpClient = Union[httpx.AsyncClient, "aiohttp.ClientSession"]


def _server_set(config: ClientConfig) -> Optional[ServerSet]:
    """The running record of a client's servers; None for a client of one server."""
    if not config.servers:
        return None
    from babyapi._servers import ServerSet  # several servers: loaded by the clients that have them

    return ServerSet(config.servers)


def _ledger(config: ClientConfig) -> Optional[RetryLedger]:
    """The retry budget's running count, shared by a client and its with_options copies."""
    return None if config.retry_budget is None else RetryLedger(config.retry_budget)


class _ClientBase(PointsToBabyAPINames, Generic[HttpT, GivenT]):
    """Configuration, validation and request preparation shared by both shells; no I/O here."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[BaseURL] = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_base_delay_s: float = DEFAULT_RETRY_BASE_DELAY_S,
        default_model: Optional[str] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        *,
        deadline_s: Optional[float] = None,
        retry_read_timeouts: Optional[bool] = None,
        retry_budget: Optional[RetryBudget] = DEFAULT_RETRY_BUDGET,
        http_client: Optional[GivenT] = None,
        transport: Transport = "auto",
        observers: Optional[Sequence[Observer]] = None,
        default_embedding_model: Optional[str] = None,
        default_rerank_model: Optional[str] = None,
        **unsupported: Never,
    ) -> None:
        """Settings left out come from BABYAPI_API_KEY (or BABY_API_KEY), BABYAPI_BASE_URL,
        BABYAPI_DEFAULT_MODEL, BABYAPI_DEFAULT_EMBEDDING_MODEL and BABYAPI_DEFAULT_RERANK_MODEL.
        ``default_model`` fills in the model of chat, completions and ``infer`` calls only;
        embeddings and rerank take theirs from ``default_embedding_model`` and
        ``default_rerank_model``. ``deadline_s`` bounds a whole call, retries included;
        ``retry_read_timeouts=True`` also retries read timeouts of generation requests (not
        retried by default: the server may still be generating, and would be paid twice);
        ``http_client`` is your own httpx client (proxies, mTLS, transports), never closed by us
        (AsyncBabyAPI also takes an aiohttp.ClientSession). ``transport`` picks AsyncBabyAPI's
        HTTP library: "auto" (aiohttp when installed and running on asyncio, else httpx),
        "aiohttp" or "httpx"; BabyAPI's: "auto" (the standard library's http.client, or httpx
        when the environment names a socks or https proxy), "stdlib" or "httpx".
        ``retry_budget`` caps retries client-wide (``None``: no cap); ``http_client`` is your
        own httpx client (proxies, mTLS, transports), never closed by us;
        ``observers`` watch every call (a ``UsageTracker``, OpenTelemetry), copies included.
        """
        # Names from other SDKs (timeout=, organization=) get a TypeError pointing at ours.
        refuse_unknown_settings(f"{type(self).__name__}()", unsupported, CLIENT_SETTINGS)
        config = build_config(
            api_key=api_key,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            retry_base_delay_s=retry_base_delay_s,
            default_model=default_model,
            default_headers=default_headers,
            deadline_s=deadline_s,
            retry_read_timeouts=retry_read_timeouts,
            default_embedding_model=default_embedding_model,
            default_rerank_model=default_rerank_model,
            retry_budget=retry_budget,
            observers=observers,
        )
        self._start(config, self._given(http_client, transport))

    def _start(self, config: ClientConfig, http_client: Optional[HttpT]) -> None:
        self._config = config
        # A fresh count in a new process too: the window describes calls made here.
        self._retry_ledger = _ledger(config)
        # Health and load of several servers, shared by copies; fresh in a new process too.
        self._servers = _server_set(config)
        self._pool: Pool[HttpT] = Pool(
            self._factory(),
            http_client,
            self._affinity,
            self._release_when_dropped,
        )
        self._clocks = Clocks(monotonic=time.monotonic, wall=time.time, random=random.random)
        # The client that built the pool closes it; with_options copies only stop themselves.
        self._owns_pool = True
        self._closed = False
        self._attach_resources()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled as its configuration, API key included; it comes back with a pool of its own."""
        if self._pool.external:
            raise BabyAPIError(
                f"a {type(self).__name__} built with your own http_client cannot be pickled: "
                "connections, proxies and transports cannot travel to another process. Build "
                "the client (and its http_client) where it runs, or pickle one without http_client.",
                code="NOT_PICKLABLE",
            )
        return {"config": self._config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._start(state["config"], None)

    def _given(self, http_client: Any, transport: Any) -> Optional[HttpT]:
        """Check ``http_client`` and ``transport``; the client to send with, if one was given."""
        raise NotImplementedError

    def _factory(self) -> Callable[[], HttpT]:
        """What builds our own client (it must not hold the client, or the pool would too)."""
        raise NotImplementedError

    @staticmethod
    def _affinity() -> object:
        """What a pool is bound to; the async client binds pools to their event loop."""
        return None

    @staticmethod
    def _release_when_dropped(pool: Pool[Any], client: Any) -> Optional[Release]:
        """What closes a pool dropped without close(); each shell has its own."""
        return None

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def default_model(self) -> Optional[str]:
        return self._config.default_model

    @property
    def servers(self) -> tuple[ServerStatus, ...]:
        """Each server's state now: healthy, cooling or probing, requests in flight, failures.

        A client of one server tracks nothing (it behaves as it always has): its one server
        is reported healthy, with zero counts.
        """
        if self._servers is None:
            from babyapi._servers import ServerStatus

            return (ServerStatus(self._config.base_url, 1.0, "healthy", 0.0, 0, 0, 0, 0, ()),)
        return self._servers.statuses(self._clocks.monotonic())

    @property
    def timeout_s(self) -> float:
        return self._config.timeout_s

    @property
    def max_retries(self) -> int:
        return self._config.max_retries

    @property
    def _http(self) -> HttpT:
        if self._closed:
            raise closed_error("this client was closed")
        return self._pool.get()

    def _check_refusal(self, exc: RuntimeError) -> None:
        """httpx refuses to send on a closed client (say, one closed by another thread)."""
        http = self._pool.current()
        if http is not None and http.is_closed:
            raise closed_error(
                "the http_client you passed in was closed"
                if self._pool.external
                else "this client was closed while the call was starting"
            ) from exc

    def _shut(self) -> Optional[HttpT]:
        """Mark this client closed; the httpx client to close, if this one owns the pool."""
        self._closed = True
        return self._pool.shut() if self._owns_pool else None

    def __repr__(self) -> str:
        servers = self._config.servers
        where = [server.url for server in servers] if servers else self.base_url
        return f"{type(self).__name__}(base_url={where!r}, default_model={self.default_model!r})"

    def with_options(self: SelfT, **changes: Any) -> SelfT:
        """A copy with some settings changed that shares this client's connection pool."""
        # Not copy.copy: that goes through __getstate__, which leaves the pool behind.
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._config = self._config.with_changes(**changes)
        if clone._config.retry_budget != self._config.retry_budget:
            clone._retry_ledger = _ledger(clone._config)
        if clone._config.servers != self._config.servers:
            clone._servers = _server_set(clone._config)
        clone._owns_pool = False
        clone._attach_resources()
        return clone

    def _attach_resources(self) -> None:
        raise NotImplementedError

    def _plan(self, lay_out: Callable[..., Plan], call: Call) -> Plan:
        """The attempts of ``call``, as ``json_plan`` or ``stream_plan`` lays them out."""
        if self._servers is not None:
            from babyapi._route import Route

            call.route = Route(self._servers, call)
        return lay_out(
            call,
            self._clocks,
            self._config.retry_base_delay_s,
            self._retry_ledger,
        )

    def _reader(self, response: Response, call: Call) -> EventReader:
        from babyapi._streaming import EventReader  # streams load on first use

        return EventReader(response, call, self._clocks.monotonic, self._http)


class BabyAPI(SyncSurface, _ClientBase[SyncTransport, httpx.Client]):
    """The synchronous client. Use it as a context manager, or call ``close()`` when done.

    The client you build owns the connection pool; ``with_options`` copies share it, and
    closing a copy ends only the copy. A forked child opens its own connections and never
    touches the parent's. A client pickles to its configuration, API key included, so treat
    the pickle as a secret; one built with your own ``http_client`` refuses to pickle.

    Calls go out on the standard library's http.client (a third of httpx's CPU per call),
    or on httpx when the environment names a socks or https proxy; ``transport=`` chooses,
    ``transport`` tells. Both give the same answers, errors, retries and streams.
    """

    _release_when_dropped = CloseWhenDropped

    _transport: Transport = "auto"

    def _given(self, http_client: Any, transport: Any) -> Optional[SyncTransport]:
        self._transport = check_sync_transport(transport, http_client)
        return None if http_client is None else HttpxTransport(http_client)

    def _factory(self) -> Callable[[], SyncTransport]:
        transport = self._transport
        return lambda: new_sync_transport(transport)

    @property
    def transport(self) -> str:
        """The HTTP library calls from here go out on: "stdlib" (http.client) or "httpx"."""
        sender = self._pool.current()
        return chosen_sync(self._transport) if sender is None else sync_name_of(sender)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "transport": self._transport}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._transport = state.get("transport", "auto")
        super().__setstate__(state)

    def _attach_resources(self) -> None:
        api = self._api = Requests(self)
        self.chat = Chat(api)
        self._made = {}

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _async_twin(self) -> AsyncRequestAPI:
        """The request API of an AsyncBabyAPI with these settings, bound to the running loop."""
        twin = AsyncBabyAPI._twin_of(self._config, self._clocks)
        # Over several servers, one view of their health and load for the client and its twin.
        twin._servers = self._servers
        # And one retry budget: a job's retries spend from the client's, as its own calls do.
        twin._retry_ledger = self._retry_ledger
        return twin._api

    def close(self) -> None:
        """End this client; later calls raise code CLIENT_CLOSED. See the class docstring."""
        http = self._shut()
        if http is not None:
            with inside_pool:
                http.close()

    def __enter__(self) -> BabyAPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, plan: Plan) -> Any:
        outcome: Outcome = None
        while True:
            try:
                action = plan.send(outcome)
            except StopIteration as stop:
                return stop.value
            try:
                if isinstance(action, Send):
                    try:
                        with inside_pool:
                            outcome = self._http.send(action.request, stream=action.stream)
                    except RuntimeError as exc:
                        self._check_refusal(exc)
                        raise
                elif isinstance(action, ReadBody):
                    with inside_pool:
                        self._http.read(action.response)
                    outcome = None
                else:
                    self._sleep(action.seconds)
                    outcome = None
            except TransportError as exc:
                outcome = exc
            except BaseException as exc:
                # Cancelled or interrupted mid-call: the plan ends with it, so observers learn why.
                plan.throw(exc)
                raise


class AsyncBabyAPI(AsyncSurface, _ClientBase[AsyncTransport, AsyncHttpClient]):
    """The asynchronous client. Use ``async with``, or ``await client.aclose()`` when done.

    Pool ownership, fork and pickling work as for ``BabyAPI`` (a pickle carries the API key).
    The pool is bound to an event loop: it closes as that loop shuts down (``asyncio.run``)
    and a fresh one opens in the next loop.

    Calls go out on aiohttp when it is installed (``pip install 'babyapi[aiohttp]'``) and the
    loop is asyncio's, else on httpx; ``transport=`` chooses, ``transport`` tells. Both give
    the same answers, errors, retries and streams; aiohttp is ten times faster under load.
    """

    _affinity = staticmethod(running_loop)
    _release_when_dropped = staticmethod(close_with_loop)
    _transport: Transport = "auto"

    @classmethod
    def _twin_of(cls, config: ClientConfig, clocks: Clocks) -> AsyncBabyAPI:
        """A client with these settings and a pool of its own (a sync client's async twin)."""
        # As unpickling builds one: the settings are already checked.
        twin = cls.__new__(cls)
        twin._start(config, None)
        twin._clocks = clocks
        return twin

    def _given(self, http_client: Any, transport: Any) -> Optional[AsyncTransport]:
        self._transport = check_transport(transport, http_client)
        return None if http_client is None else wrap_given(http_client)

    def _factory(self) -> Callable[[], AsyncTransport]:
        transport = self._transport
        return lambda: new_sender(transport)

    @property
    def transport(self) -> str:
        """The HTTP library calls from here go out on: "aiohttp" or "httpx"."""
        sender = self._pool.current()
        return chosen(self._transport) if sender is None else name_of(sender)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "transport": self._transport}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._transport = state.get("transport", "auto")
        super().__setstate__(state)

    async def _sleep(self, seconds: float) -> None:
        import anyio  # a dependency of httpx; imported here to keep it out of `import babyapi`

        await anyio.sleep(seconds)

    def _attach_resources(self) -> None:
        api = self._api = AsyncRequests(self)
        self.chat = AsyncChat(api)
        self._made = {}

    async def aclose(self) -> None:
        """End this client; later calls raise code CLIENT_CLOSED. See the class docstring."""
        http = self._shut()
        if http is not None:
            await http.aclose()

    async def close(self) -> None:
        """The same as ``aclose()``, for code written against other async clients."""
        await self.aclose()

    async def __aenter__(self) -> AsyncBabyAPI:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, plan: Plan) -> Any:
        outcome: Outcome = None
        while True:
            try:
                action = plan.send(outcome)
            except StopIteration as stop:
                return stop.value
            try:
                if isinstance(action, Send):
                    try:
                        outcome = await self._http.send(action.request, stream=action.stream)
                    except RuntimeError as exc:
                        self._check_refusal(exc)
                        raise
                elif isinstance(action, ReadBody):
                    await self._http.read(action.response)
                    outcome = None
                else:
                    await self._sleep(action.seconds)
                    outcome = None
            except TransportError as exc:
                outcome = exc
            except BaseException as exc:
                # Cancelled or interrupted mid-call: the plan ends with it, so observers learn why.
                plan.throw(exc)
                raise
