"""The request API as the two shells implement it: ``Requests`` and ``AsyncRequests``.

Each is the object a client hands to its resources and capabilities (``client._api``). It
reads the client it serves at every call, so what changes later (``observe``, clocks a test
replaces) applies, and each ``with_options`` copy gets its own.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generic,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    TypeVar,
)

from babyapi._budget import RetryLedger
from babyapi._call import Clocks, Plan, json_plan, raw_plan, stream_plan
from babyapi._config import ClientConfig
from babyapi._errors import InvalidArgumentError
from babyapi._options import RequestOptionsLike
from babyapi._pool import Pool
from babyapi._request import Call, prepare_infer, prepare_request
from babyapi._response import RawAnswer
from babyapi._wire import Response

if TYPE_CHECKING:
    from babyapi._observe import Observer
    from babyapi._request_api import AsyncRequestAPI

    # Streams load on first use (``stream``), not with the client.
    from babyapi._streaming import AsyncStream, EventReader, Finisher, Stream

    # What the request API reads of its shell: for type checkers only (classes cost at import).
    class _Shell(Protocol):
        """What the request API reads of the client shell it belongs to."""

        _config: ClientConfig
        _clocks: Clocks
        _retry_ledger: Optional[RetryLedger]
        _pool: Pool[Any]

        def _plan(self, lay_out: Callable[..., Plan], call: Call) -> Plan: ...

        def _reader(self, response: Response, call: Call) -> EventReader: ...

    class _SyncShell(_Shell, Protocol):
        def _run(self, plan: Plan) -> Any: ...

        def _sleep(self, seconds: float) -> None: ...

        def _async_twin(self) -> AsyncRequestAPI: ...

    class _AsyncShell(_Shell, Protocol):
        async def _run(self, plan: Plan) -> Any: ...

        async def _sleep(self, seconds: float) -> None: ...

        async def aclose(self) -> None: ...


__all__ = ["AsyncRequests", "Requests"]


ShellT = TypeVar("ShellT", bound="_Shell")


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
        return prepare_request(
            self._shell._config,
            path,
            body,
            request_options,
            method=method,
            stream=stream,
            fill_model=fill_model,
            extra_body=extra_body,
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
        return prepare_infer(
            self._shell._config,
            input,
            options,
            request_options,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )


class Requests(_RequestsBase["_SyncShell"]):
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
        from babyapi._streaming import Stream

        shell = self._shell
        return Stream(shell._reader(shell._run(shell._plan(stream_plan, call)), call), finish)

    def sleep(self, seconds: float) -> None:
        self._shell._sleep(seconds)

    def async_twin(self) -> AsyncRequestAPI:
        shell = self._shell
        if shell._pool.external:
            raise InvalidArgumentError(
                "this needs an async client, and the httpx.Client passed as http_client cannot "
                "send from an event loop: use AsyncBabyAPI(http_client=httpx.AsyncClient(...)) "
                "with the same proxies and certificates, or leave http_client out.",
                code="HTTP_CLIENT_NOT_ASYNC",
            )
        return shell._async_twin()


class AsyncRequests(_RequestsBase["_AsyncShell"]):
    """``AsyncBabyAPI``'s request API (see ``_request_api.AsyncRequestAPI``)."""

    __slots__ = ()

    def send(self, call: Call) -> Any:  # the coroutine of an ``async def`` (see below)
        # The run loop's own coroutine, not one awaiting it: every resume of a call (a pooled
        # connection comes free, the answer arrives) passes through each coroutine it nests in.
        shell = self._shell
        return shell._run(shell._plan(json_plan, call))

    async def send_raw(self, call: Call) -> RawAnswer:
        shell = self._shell
        answer: RawAnswer = await shell._run(shell._plan(raw_plan, call))
        return answer

    def stream(self, call: Call, finish: Optional[Finisher] = None) -> AsyncStream[Any]:
        from babyapi._streaming import AsyncStream

        shell = self._shell

        async def open_reader() -> EventReader:
            return shell._reader(await shell._run(shell._plan(stream_plan, call)), call)

        return AsyncStream(open_reader, finish)

    async def sleep(self, seconds: float) -> None:
        await self._shell._sleep(seconds)

    async def aclose(self) -> None:
        await self._shell.aclose()
