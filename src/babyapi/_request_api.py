"""The request API: the one interface code above the core uses to make calls.

Resources, the tool loop, structured outputs, batch jobs and integrations never reach into
a client: the client hands them an object with these methods (``BabyAPI``'s ``_api``
attribute, an ``AsyncRequestAPI`` on ``AsyncBabyAPI``). docs/architecture.md shows an example.

Paths are written from the server root, ``/v1`` included where the endpoint has it:
``/v1/chat/completions``, ``/infer``, and vLLM's ``/tokenize``, ``/health``, ``/metrics``,
``/pooling``. (A ``base_url`` ending in ``/v1`` is trimmed to the root when the client is built.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Protocol, Sequence

if TYPE_CHECKING:
    from babyapi._budget import RetryLedger
    from babyapi._call import Clocks
    from babyapi._config import ClientConfig
    from babyapi._observe import Observer
    from babyapi._options import RequestOptionsLike
    from babyapi._request import Call
    from babyapi._response import RawAnswer
    from babyapi._streaming import AsyncStream, Finisher, Stream

__all__ = ["AsyncRequestAPI", "RequestAPI"]


class _Preparing(Protocol):
    """What both request APIs share: the settings, and turning arguments into a ``Call``."""

    @property
    def config(self) -> ClientConfig:
        """The client's settings (frozen; ``with_options`` copies have their own)."""
        ...

    @property
    def clocks(self) -> Clocks:
        """The client's clocks and randomness (tests replace them)."""
        ...

    @property
    def retry_ledger(self) -> Optional[RetryLedger]:
        """The client-wide retry budget's running count, or None without a budget."""
        ...

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
        """Check the arguments and freeze one call; raises a ``BabyAPIError`` before any I/O.

        ``body`` is the JSON object sent (``None``: no body, as for a GET). The client's default
        model fills a missing ``model`` unless ``fill_model=False`` (endpoints without one).
        ``stream=True`` asks for server-sent events (open the call with ``stream``).
        """
        ...

    def prepare_infer(
        self,
        input: Any,
        options: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        *,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Call:
        """The ``POST /infer`` call of ``baby.infer(input, **options)``."""
        ...

    def observe(self, observers: Sequence[Observer]) -> None:
        """Replace the observers of this client (not of copies made earlier)."""
        ...


class RequestAPI(_Preparing, Protocol):
    """The synchronous request API, as ``BabyAPI`` implements it."""

    def send(self, call: Call) -> Any:
        """Send with retries; the JSON object the server answered (else a ``BabyAPIError``)."""
        ...

    def send_raw(self, call: Call) -> RawAnswer:
        """Send with retries; the 2xx answer as it came (plain text, metrics, an empty body)."""
        ...

    def stream(self, call: Call, finish: Optional[Finisher] = None) -> Stream[Any]:
        """Open the server-sent events of a ``stream=True`` call (never retried).

        ``finish`` turns the accumulated answer into what ``final()`` returns.
        """
        ...

    def sleep(self, seconds: float) -> None:
        """Wait as the client waits between retries (tests replace it)."""
        ...

    def async_twin(self) -> AsyncRequestAPI:
        """An async request API with these settings and a pool of its own, for the running loop.

        Close it with ``aclose()``. A client built with your own ``http_client`` refuses
        (code ``HTTP_CLIENT_NOT_ASYNC``): an ``httpx.Client`` cannot send from an event loop.
        """
        ...


class AsyncRequestAPI(_Preparing, Protocol):
    """The asynchronous request API, as ``AsyncBabyAPI`` implements it."""

    async def send(self, call: Call) -> Any:
        """Send with retries; the JSON object the server answered (else a ``BabyAPIError``)."""
        ...

    async def send_raw(self, call: Call) -> RawAnswer:
        """Send with retries; the 2xx answer as it came (plain text, metrics, an empty body)."""
        ...

    def stream(self, call: Call, finish: Optional[Finisher] = None) -> AsyncStream[Any]:
        """Open the server-sent events of a ``stream=True`` call (never retried)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait as the client waits between retries (tests replace it)."""
        ...

    async def aclose(self) -> None:
        """Close the client behind this API (its own pool only; see ``AsyncBabyAPI.aclose``)."""
        ...
