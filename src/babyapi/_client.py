"""The client shells: BabyAPI on httpx.Client and AsyncBabyAPI on httpx.AsyncClient.

They are the only code that does I/O, sleeps or reads the clock. Each carries out the
actions of the plans in ``_call`` and differs from its twin only in ``await``.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import threading
import time
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    Callable,
    Generic,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    TypeVar,
    Union,
    final,
    overload,
)

import httpx

from babyapi._api_response import async_with_response, with_response
from babyapi._bodies import check_body, default_model_for
from babyapi._budget import RetryBudget, RetryLedger
from babyapi._call import (
    TRANSPORT_ERRORS,
    Clocks,
    Outcome,
    Plan,
    ReadBody,
    Send,
    json_plan,
    raw_plan,
    stream_plan,
)
from babyapi._config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BASE_DELAY_S,
    DEFAULT_RETRY_BUDGET,
    DEFAULT_TIMEOUT_S,
    ClientConfig,
    build_config,
    refuse_unknown_settings,
)
from babyapi._errors import BabyAPIError, InvalidArgumentError, InvalidArgumentTypeError
from babyapi._infer import CHAT_PATH, baby_infer_body, route_infer
from babyapi._observe import Observer
from babyapi._openai_names import PointsToBabyAPINames, refuse_call_settings
from babyapi._options import RequestOptionsLike
from babyapi._pool_guard import inside_pool
from babyapi._request import Call, prepare_call
from babyapi._response import RawAnswer
from babyapi._streaming import AsyncStream, EventReader, Finisher, Stream
from babyapi._transports import (
    POOL_LIMITS,
    AsyncSender,
    Transport,
    check_transport,
    chosen,
    name_of,
    new_sender,
    wrap_given,
)
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
from babyapi.resources.chat import typed_response_format

if TYPE_CHECKING:
    import aiohttp
    from typing_extensions import Never

    from babyapi.batch import AsyncBatch, Batch
    from babyapi.resources.responses import (
        AsyncResponses,
        AsyncResponsesWithResponse,
        Responses,
        ResponsesWithResponse,
    )
    from babyapi.structured import ParsedChatCompletion
    from babyapi.types.chat import ChatCompletion, ChatCompletionMessageParam
    from babyapi.types.completions import Completion

__all__ = ["AsyncBabyAPI", "BabyAPI"]

_Prompt = Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]]

SelfT = TypeVar("SelfT", bound="_ClientBase[Any, Any]")
ShellT = TypeVar("ShellT", "BabyAPI", "AsyncBabyAPI")
T = TypeVar("T")
HttpT = TypeVar("HttpT", httpx.Client, AsyncSender)
# What ``http_client=`` accepts: an httpx client, or for AsyncBabyAPI an aiohttp session too.
GivenT = TypeVar("GivenT")
AsyncHttpClient = Union[httpx.AsyncClient, "aiohttp.ClientSession"]
INFER_PATH = "/infer"
_SETTINGS = (
    "api_key",
    "base_url",
    "timeout_s",
    "max_retries",
    "retry_base_delay_s",
    "default_model",
    "default_headers",
    "deadline_s",
    "retry_read_timeouts",
    "retry_budget",
    "http_client",
    "transport",
    "observers",
    "default_embedding_model",
    "default_rerank_model",
)


class _Release(Protocol):
    """What closes a pool the program dropped without closing it."""

    def detach(self) -> None:
        """Disarm it: the caller closes the httpx client itself."""

    def hand_over(self) -> None:
        """Let go of a client whose event loop is gone or elsewhere; that loop closes it."""


class _Pool(Generic[HttpT]):
    """The httpx client behind a BabyAPI, shared with its ``with_options`` copies.

    Ours is built on first use: loading the TLS certificate bundle costs tens of
    milliseconds, which a client that is configured but never used should not pay.
    A forked child builds its own (the parent's connections stay the parent's), and so
    does the async client in each new event loop.
    """

    def __init__(
        self,
        factory: Callable[[], HttpT],
        given: Optional[HttpT],
        affinity: Callable[[], object],
        release: Callable[[_Pool[HttpT], HttpT], Optional[_Release]],
    ) -> None:
        self._factory: Callable[[], HttpT] = factory
        self._client: Optional[HttpT] = given
        self.external = given is not None
        self._affinity = affinity
        self._make_release: Callable[[_Pool[HttpT], HttpT], Optional[_Release]] = release
        self._release: Optional[_Release] = None
        self._bound_to: object = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.closed = False

    def get(self) -> HttpT:
        client = self._client
        if (
            client is None
            or self.closed
            or self._bound_to is not self._affinity()
            or self._pid != os.getpid()
        ):
            with self._lock:
                client = self._rebind()
        return client

    def current(self) -> Optional[HttpT]:
        """The httpx client in use now, if any; never builds one."""
        return self._client

    def _rebind(self) -> HttpT:
        if self.closed:
            raise closed_error(
                "the client this one was copied from (with_options) was closed, and with it "
                "the connection pool they share; close the original only after its copies are done."
            )
        current = self._affinity()
        if self._pid != os.getpid():
            self._leave_to_parent()
        elif self._client is not None and self._bound_to not in (None, current):
            if self.external:
                raise BabyAPIError(
                    "this client's http_client was first used in another event loop, and "
                    "connections cannot move between loops: create the AsyncBabyAPI and its "
                    "httpx.AsyncClient inside the loop that uses them (e.g. inside asyncio.run).",
                    code="EVENT_LOOP_CHANGED",
                )
            # The old loop closed this pool as it shut down (or will, if it still runs).
            if self._release is not None:
                self._release.hand_over()
            self._client = self._release = None
        if self._client is None:
            self._client = self._factory()
            self._release = self._make_release(self, self._client)
        self._bound_to = current
        return self._client

    def _leave_to_parent(self) -> None:
        """In a forked child: never touch the parent's connections, open our own instead."""
        if self.external:
            raise BabyAPIError(
                "this client's http_client was created before the process forked, and a child "
                "must not share its parent's connections: create the client and its http_client "
                "in the child (e.g. in a worker initializer or a post-fork hook).",
                code="PROCESS_FORKED",
            )
        # Not even closed: closing can put bytes on the wire (TLS, HTTP/2) that the parent's
        # peer would read, and garbage collection would close them. Kept for the child's life.
        _INHERITED.append((self._client, self._release))
        self._client = self._release = None
        self._bound_to = None
        self._pid = os.getpid()

    def shut(self) -> Optional[HttpT]:
        """Mark the pool closed; our own client if it is ours to close here and now."""
        with self._lock:
            self.closed = True
            client = self._client
            if (
                self.external
                or client is None
                or self._pid != os.getpid()
                or self._bound_to not in (None, self._affinity())
            ):
                # Not ours, the parent's, or bound to another loop (which closes it itself).
                return None
            if self._release is not None:
                self._release.detach()
            return client


# Pools a forked child inherited: referenced until the child exits, so never closed by it.
_INHERITED: list[tuple[object, object]] = []


def closed_error(why: str) -> BabyAPIError:
    """The error for a call on a closed client."""
    return BabyAPIError(f"{why} (create a new client to keep calling).", code="CLIENT_CLOSED")


def _close_if_still_ours(client: httpx.Client, pid: int) -> None:
    if os.getpid() == pid:
        with inside_pool:
            client.close()


class _CloseWhenDropped:
    """Closes a sync pool nobody closed once the last client sharing it is gone (or at exit)."""

    def __init__(self, pool: _Pool[httpx.Client], client: httpx.Client) -> None:
        self._finalizer = weakref.finalize(pool, _close_if_still_ours, client, os.getpid())

    def detach(self) -> None:
        self._finalizer.detach()

    hand_over = detach


class _CloseWithLoop:
    """Closes an async pool when its event loop shuts down, or when it is dropped unclosed.

    An async generator started in the loop is what the loop finalizes: ``asyncio.run`` (and
    ``loop.shutdown_asyncgens()``, and trio at the end of a run) closes it while the loop
    can still run the closing handshake, and so does garbage collection inside the loop.
    """

    def __init__(self, pool: _Pool[AsyncSender], client: AsyncSender) -> None:
        self._box = [client]
        watch = _close_at_loop_end(self._box, os.getpid())
        # One step runs the generator to its yield: the loop now knows it and will close it.
        with contextlib.suppress(StopIteration):
            watch.asend(None).send(None)
        # The finalizer holds the generator, not the pool: a pool collected in a garbage cycle
        # must not drag the generator and the sockets into it, where they would be finalized
        # (and warn) before the loop could close them. Once the finalizer lets go, the loop does.
        self._finalizer = weakref.finalize(pool, _let_go, watch)

    def detach(self) -> None:
        self._box.clear()
        held = self._finalizer.detach()
        if held is not None:
            # Finish the generator now (its box is empty), so the loop has nothing left to do.
            with contextlib.suppress(StopIteration, RuntimeError):
                held[2][0].aclose().send(None)

    def hand_over(self) -> None:
        self._finalizer.detach()


def _let_go(watch: object) -> None:
    """Dropping the last reference to the generator lets its event loop finalize it."""


async def _close_at_loop_end(box: list[AsyncSender], pid: int) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if box and os.getpid() == pid:
            await box.pop().aclose()


def _close_with_loop(pool: _Pool[AsyncSender], client: AsyncSender) -> Optional[_Release]:
    return _CloseWithLoop(pool, client) if _running_loop() is not None else None


def _running_loop() -> object:
    """The asyncio loop or trio run we are in, or None outside any."""
    # Importing asyncio costs more than importing httpx; if nobody imported it, no loop runs.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            pass
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            return trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
    return None


def _ledger(config: ClientConfig) -> Optional[RetryLedger]:
    """The retry budget's running count, shared by a client and its with_options copies."""
    return None if config.retry_budget is None else RetryLedger(config.retry_budget)


class _ClientBase(PointsToBabyAPINames, Generic[HttpT, GivenT]):
    """Configuration, validation and request preparation shared by both shells; no I/O here."""

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
        "aiohttp" or "httpx"; BabyAPI always uses httpx.
        ``retry_budget`` caps retries client-wide (``None``: no cap); ``http_client`` is your
        own httpx client (proxies, mTLS, transports), never closed by us;
        ``observers`` watch every call (a ``UsageTracker``, OpenTelemetry), copies included.
        """
        # Names from other SDKs (timeout=, organization=) get a TypeError pointing at ours.
        refuse_unknown_settings(f"{type(self).__name__}()", unsupported, _SETTINGS)
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
        self._pool: _Pool[HttpT] = _Pool(
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
    def _release_when_dropped(pool: _Pool[Any], client: Any) -> Optional[_Release]:
        """What closes a pool dropped without close(); each shell has its own."""
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
        return f"{type(self).__name__}(base_url={self.base_url!r}, default_model={self.default_model!r})"

    def with_options(self: SelfT, **changes: Any) -> SelfT:
        """A copy with some settings changed that shares this client's connection pool."""
        # Not copy.copy: that goes through __getstate__, which leaves the pool behind.
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._config = self._config.with_changes(**changes)
        if clone._config.retry_budget != self._config.retry_budget:
            clone._retry_ledger = _ledger(clone._config)
        clone._owns_pool = False
        clone._attach_resources()
        return clone

    def _attach_resources(self) -> None:
        raise NotImplementedError

    def _plan(self, lay_out: Callable[..., Plan], call: Call) -> Plan:
        """The attempts of ``call``, as ``json_plan`` or ``stream_plan`` lays them out."""
        return lay_out(
            call,
            self._http.build_request,
            self._clocks,
            self._config.retry_base_delay_s,
            self._retry_ledger,
        )

    def _reader(self, response: httpx.Response, call: Call) -> EventReader:
        return EventReader(response, call, self._clocks.monotonic)


class BabyAPI(_ClientBase[httpx.Client, httpx.Client]):
    """The synchronous client. Use it as a context manager, or call ``close()`` when done.

    The client you build owns the connection pool; ``with_options`` copies share it, and
    closing a copy ends only the copy. A forked child opens its own connections and never
    touches the parent's. A client pickles to its configuration, API key included, so treat
    the pickle as a secret; one built with your own ``http_client`` refuses to pickle.
    """

    _api: _Requests
    _sleep: Callable[[float], None] = staticmethod(time.sleep)
    _release_when_dropped = _CloseWhenDropped

    def _given(self, http_client: Any, transport: Any) -> Optional[httpx.Client]:
        if transport not in ("auto", "httpx"):
            raise InvalidArgumentError(
                f"BabyAPI sends with httpx only, got transport={transport!r}; the aiohttp "
                "transport is AsyncBabyAPI's.",
                code="INVALID_OPTIONS",
            )
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise InvalidArgumentTypeError(
                f"BabyAPI needs an httpx.Client as http_client, got {type(http_client).__name__} "
                "(AsyncBabyAPI takes httpx.AsyncClient or aiohttp.ClientSession).",
                code="INVALID_OPTIONS",
            )
        return http_client

    def _factory(self) -> Callable[[], httpx.Client]:
        return lambda: httpx.Client(timeout=DEFAULT_TIMEOUT_S, limits=POOL_LIMITS)

    def _attach_resources(self) -> None:
        api = self._api = _Requests(self)
        self.chat = Chat(api)
        self.completions = Completions(api)
        self.embeddings = Embeddings(api)
        self.rerank = Rerank(api)
        self.models = Models(api)
        self.baby = Baby(api)

    @property
    def with_response(self) -> BabyAPIWithResponse:
        """Every non-streaming method, returning an ``APIResponse`` (data, status, headers, ...)."""
        return BabyAPIWithResponse(self)

    @property
    def batch(self) -> Batch:
        """Jobs over many items (embed, rerank, chat, completions); see docs/scale.md."""
        from babyapi.batch import Batch  # loaded on first use, to keep `import babyapi` light

        return Batch(self._api)

    @property
    def responses(self) -> Responses:
        """The Responses API (``POST /v1/responses``); see docs/responses.md."""
        from babyapi.resources.responses import Responses  # loaded on first use

        return Responses(self._api)

    @overload
    def infer(  # pyright: ignore[reportOverlappingOverload] - the narrower one comes first
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ParsedChatCompletion[T]: ...

    @overload
    def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ChatCompletion: ...

    @overload
    def infer(
        self,
        body: None = None,
        *,
        prompt: _Prompt,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Completion: ...

    @overload
    def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any: ...

    def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``.

        With keyword arguments the return type follows them; with a dict body it is the JSON.
        A type or JSON Schema as ``response_format`` makes it ``parse()``.
        """
        call, finish = _routed(self._api, body, kwargs, request_options, extra_headers, extra_query)
        answer = self._api.send(call)
        return answer if finish is None else finish(answer)

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
                        action.response.read()
                    outcome = None
                else:
                    self._sleep(action.seconds)
                    outcome = None
            except TRANSPORT_ERRORS as exc:
                outcome = exc
            except BaseException as exc:
                # Cancelled or interrupted mid-call: the plan ends with it, so observers learn why.
                plan.throw(exc)
                raise


class AsyncBabyAPI(_ClientBase[AsyncSender, AsyncHttpClient]):
    """The asynchronous client. Use ``async with``, or ``await client.aclose()`` when done.

    Pool ownership, fork and pickling work as for ``BabyAPI`` (a pickle carries the API key).
    The pool is bound to an event loop: it closes as that loop shuts down (``asyncio.run``)
    and a fresh one opens in the next loop.

    Calls go out on aiohttp when it is installed (``pip install 'babyapi[aiohttp]'``) and the
    loop is asyncio's, else on httpx; ``transport=`` chooses, ``transport`` tells. Both give
    the same answers, errors, retries and streams; aiohttp is ten times faster under load.
    """

    _api: _AsyncRequests
    _affinity = staticmethod(_running_loop)
    _release_when_dropped = staticmethod(_close_with_loop)
    _transport: Transport = "auto"

    @classmethod
    def _twin_of(cls, config: ClientConfig, clocks: Clocks) -> AsyncBabyAPI:
        """A client with these settings and a pool of its own (a sync client's async twin)."""
        # As unpickling builds one: the settings are already checked.
        twin = cls.__new__(cls)
        twin._start(config, None)
        twin._clocks = clocks
        return twin

    def _given(self, http_client: Any, transport: Any) -> Optional[AsyncSender]:
        self._transport = check_transport(transport, http_client)
        return None if http_client is None else wrap_given(http_client)

    def _factory(self) -> Callable[[], AsyncSender]:
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
        api = self._api = _AsyncRequests(self)
        self.chat = AsyncChat(api)
        self.completions = AsyncCompletions(api)
        self.embeddings = AsyncEmbeddings(api)
        self.rerank = AsyncRerank(api)
        self.models = AsyncModels(api)
        self.baby = AsyncBaby(api)

    @property
    def with_response(self) -> AsyncBabyAPIWithResponse:
        """Every non-streaming method, returning an ``APIResponse`` (data, status, headers, ...)."""
        return AsyncBabyAPIWithResponse(self)

    @property
    def batch(self) -> AsyncBatch:
        """Jobs over many items (embed, rerank, chat, completions); see docs/scale.md."""
        from babyapi.batch import AsyncBatch  # loaded on first use, to keep `import babyapi` light

        return AsyncBatch(self._api)

    @property
    def responses(self) -> AsyncResponses:
        """The Responses API (``POST /v1/responses``); see docs/responses.md."""
        from babyapi.resources.responses import AsyncResponses  # loaded on first use

        return AsyncResponses(self._api)

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ParsedChatCompletion[T]: ...

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ChatCompletion: ...

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        prompt: _Prompt,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Completion: ...

    @overload
    async def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any: ...

    async def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``.

        With keyword arguments the return type follows them; with a dict body it is the JSON.
        A type or JSON Schema as ``response_format`` makes it ``parse()``.
        """
        call, finish = _routed(self._api, body, kwargs, request_options, extra_headers, extra_query)
        answer = await self._api.send(call)
        return answer if finish is None else finish(answer)

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
                    await action.response.aread()
                    outcome = None
                else:
                    await self._sleep(action.seconds)
                    outcome = None
            except TRANSPORT_ERRORS as exc:
                outcome = exc
            except BaseException as exc:
                # Cancelled or interrupted mid-call: the plan ends with it, so observers learn why.
                plan.throw(exc)
                raise


def _routed(
    api: _RequestsBase[Any],
    body: Optional[Mapping[str, Any]],
    kwargs: Mapping[str, Any],
    options: Optional[RequestOptionsLike],
    extra_headers: Optional[Mapping[str, str]],
    extra_query: Optional[Mapping[str, Any]],
) -> tuple[Call, Optional[Finisher]]:
    """The call ``client.infer`` makes, and how to read a typed ``response_format`` back."""
    path, merged = route_infer(body, kwargs)
    finish = typed_response_format(merged) if path == CHAT_PATH else None
    call = api.prepare(path, merged, options, extra_headers=extra_headers, extra_query=extra_query)
    return call, finish


class _RequestsBase(Generic[ShellT]):
    """The request API's preparing half, read from the client it serves (copies get their own)."""

    __slots__ = ("_shell",)

    def __init__(self, shell: ShellT) -> None:
        self._shell: ShellT = shell

    @property
    def config(self) -> ClientConfig:
        return self._shell._config

    @property
    def clocks(self) -> Clocks:
        return self._shell._clocks

    @property
    def retry_ledger(self) -> Optional[RetryLedger]:
        return self._shell._retry_ledger

    def observe(self, observers: Sequence[Observer]) -> None:
        shell = self._shell
        shell._config = shell._config.with_changes(observers=observers)

    def prepare(
        self,
        path: str,
        body: Optional[Mapping[str, Any]] = None,
        request_options: Optional[RequestOptionsLike] = None,
        *,
        method: str = "POST",
        stream: bool = False,
        fill_model: bool = True,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Call:
        config = self._shell._config
        checked: Optional[dict[str, Any]] = None
        if method == "GET" and (body is not None or extra_body is not None):
            raise InvalidArgumentError(
                f"a GET of {path} sends no body; pass its parameters as extra_query instead.",
                code="INVALID_REQUEST_BODY",
            )
        refuse_call_settings(body)  # before extra_body, the way to send such a field anyway
        if extra_body is not None:
            if not isinstance(extra_body, Mapping):
                raise InvalidArgumentTypeError(
                    f"extra_body must be a dict of extra JSON fields, got {type(extra_body).__name__}.",
                    code="INVALID_REQUEST_BODY",
                )
            body = {**(body or {}), **extra_body}
        if body is not None:
            model = default_model_for(config, path) if fill_model else None
            checked = check_body(path, body, model, stream=stream)
        return prepare_call(
            config,
            method,
            path,
            checked,
            request_options,
            stream=stream,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )

    def prepare_infer(
        self,
        input: Any,
        options: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        *,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Call:
        config = self._shell._config
        refuse_call_settings(input)
        refuse_call_settings(options)
        body = baby_infer_body(input, options, config.default_model)
        return prepare_call(
            config,
            "POST",
            INFER_PATH,
            body,
            request_options,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )


class _Requests(_RequestsBase["BabyAPI"]):
    """``BabyAPI``'s request API (see ``_request_api.RequestAPI``)."""

    __slots__ = ()

    def send(self, call: Call) -> Any:
        shell = self._shell
        return shell._run(shell._plan(json_plan, call))

    def send_raw(self, call: Call) -> RawAnswer:
        shell = self._shell
        answer: RawAnswer = shell._run(shell._plan(raw_plan, call))
        return answer

    def stream(self, call: Call, finish: Optional[Finisher] = None) -> Stream[Any]:
        shell = self._shell
        return Stream(shell._reader(shell._run(shell._plan(stream_plan, call)), call), finish)

    def sleep(self, seconds: float) -> None:
        self._shell._sleep(seconds)

    def async_twin(self) -> _AsyncRequests:
        shell = self._shell
        if shell._pool.external:
            raise InvalidArgumentError(
                "this needs an async client, and the httpx.Client passed as http_client cannot "
                "send from an event loop: use AsyncBabyAPI(http_client=httpx.AsyncClient(...)) "
                "with the same proxies and certificates, or leave http_client out.",
                code="HTTP_CLIENT_NOT_ASYNC",
            )
        return AsyncBabyAPI._twin_of(shell._config, shell._clocks)._api


class _AsyncRequests(_RequestsBase["AsyncBabyAPI"]):
    """``AsyncBabyAPI``'s request API (see ``_request_api.AsyncRequestAPI``)."""

    __slots__ = ()

    async def send(self, call: Call) -> Any:
        shell = self._shell
        return await shell._run(shell._plan(json_plan, call))

    async def send_raw(self, call: Call) -> RawAnswer:
        shell = self._shell
        answer: RawAnswer = await shell._run(shell._plan(raw_plan, call))
        return answer

    def stream(self, call: Call, finish: Optional[Finisher] = None) -> AsyncStream[Any]:
        shell = self._shell

        async def open_reader() -> EventReader:
            return shell._reader(await shell._run(shell._plan(stream_plan, call)), call)

        return AsyncStream(open_reader, finish)

    async def sleep(self, seconds: float) -> None:
        await self._shell._sleep(seconds)

    async def aclose(self) -> None:
        await self._shell.aclose()


@final
class BabyAPIWithResponse:
    """``client.with_response``: the client's non-streaming methods returning ``APIResponse``."""

    def __init__(self, client: BabyAPI) -> None:
        self._client = client
        self.infer = with_response(client.infer)
        self.chat = client.chat.with_response
        self.completions = client.completions.with_response
        self.embeddings = client.embeddings.with_response
        self.rerank = client.rerank.with_response
        self.models = client.models.with_response
        self.baby = client.baby.with_response

    @property
    def responses(self) -> ResponsesWithResponse:
        return self._client.responses.with_response


@final
class AsyncBabyAPIWithResponse:
    """``client.with_response``: the client's non-streaming methods returning ``APIResponse``."""

    def __init__(self, client: AsyncBabyAPI) -> None:
        self._client = client
        self.infer = async_with_response(client.infer)
        self.chat = client.chat.with_response
        self.completions = client.completions.with_response
        self.embeddings = client.embeddings.with_response
        self.rerank = client.rerank.with_response
        self.models = client.models.with_response
        self.baby = client.baby.with_response

    @property
    def responses(self) -> AsyncResponsesWithResponse:
        return self._client.responses.with_response
