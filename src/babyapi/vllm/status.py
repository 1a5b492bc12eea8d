"""``client.server``: is the server up, which version, how busy (GET /health, /version, /load, /metrics).

``metrics()`` reads the Prometheus text with ``prometheus_client``'s parser (the extra
``babyapi[metrics]``): label values may hold escaped quotes and commas, histograms and
OpenMetrics lines sit beside the gauges, and that library is what Prometheus's own Python
client uses to read the format. Three figures come out as numbers: requests running,
requests waiting and KV-cache use, under vLLM's names or llama-server's (``--metrics``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, final

from babyapi._api_response import async_with_response, with_response
from babyapi._errors import BabyAPIError, ErrorCode

if TYPE_CHECKING:
    from babyapi._options import RequestOptionsLike
    from babyapi._request import Call
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.vllm import ServerLoad, ServerMetrics, ServerVersion

HEALTH_PATH = "/health"
VERSION_PATH = "/version"
LOAD_PATH = "/load"
METRICS_PATH = "/metrics"
METRICS_EXTRA = "pip install 'babyapi[metrics]'"
# Each figure and the metric names that carry it, vLLM's first; how samples combine.
GAUGES: dict[str, tuple[tuple[str, ...], Callable[[list[float]], float]]] = {
    "requests_running": (("vllm:num_requests_running", "llamacpp:requests_processing"), sum),
    "requests_waiting": (("vllm:num_requests_waiting", "llamacpp:requests_deferred"), sum),
    # The fullest engine's cache is what limits new requests. (Older vLLM: gpu_cache_usage_perc.)
    "kv_cache_usage": (("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"), max),
}
# A readiness probe wants one quick answer, not a retry schedule.
_PROBE_OPTIONS: Mapping[str, Any] = {"max_retries": 0}


def _get(
    api: RequestAPI | AsyncRequestAPI,
    path: str,
    request_options: Optional[RequestOptionsLike],
    query: Optional[Mapping[str, Any]] = None,
) -> Call:
    return api.prepare(path, None, request_options, method="GET", extra_query=query)


def parse_metrics(text: str) -> ServerMetrics:
    """The figures of a Prometheus text exposition, and the text."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise BabyAPIError(
            f"metrics() reads Prometheus text with prometheus_client: {METRICS_EXTRA}.",
            code=ErrorCode.INVALID_OPTIONS,
        ) from None
    values: dict[str, list[float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values.setdefault(sample.name, []).append(float(sample.value))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise BabyAPIError(
            f"/metrics did not answer Prometheus text ({exc}): {text[:200]!r}",
            code=ErrorCode.INVALID_RESPONSE,
            cause=exc,
        ) from None
    figures: dict[str, Optional[float]] = {}
    for figure, (names, combine) in GAUGES.items():
        found = next((values[n] for n in names if n in values), None)
        figures[figure] = combine(found) if found else None
    return {
        "requests_running": figures["requests_running"],
        "requests_waiting": figures["requests_waiting"],
        "kv_cache_usage": figures["kv_cache_usage"],
        "text": text,
    }


class ServerStatus:
    """``health``, ``version``, ``load`` and ``metrics`` of the server behind the client."""

    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> ServerStatusWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return ServerStatusWithResponse(self)

    def health(
        self, *, raise_errors: bool = False, request_options: Optional[RequestOptionsLike] = None
    ) -> bool:
        """GET /health: True when the server answers 2xx.

        Any failure (refused connection, timeout, 503 while loading) is False, without
        retries, unless ``raise_errors=True`` (then the ``BabyAPIError`` is raised).
        """
        call = _get(self._api, HEALTH_PATH, request_options or _PROBE_OPTIONS)
        try:
            self._api.send_raw(call)
        except BabyAPIError:
            if raise_errors:
                raise
            return False
        return True

    def version(self, *, request_options: Optional[RequestOptionsLike] = None) -> ServerVersion:
        """GET /version: ``{"version": "0.32.0"}``."""
        result: ServerVersion = self._api.send(_get(self._api, VERSION_PATH, request_options))
        return result

    def load(self, *, request_options: Optional[RequestOptionsLike] = None) -> ServerLoad:
        """GET /load: requests in flight; vLLM counts them only with --enable-server-load-tracking."""
        result: ServerLoad = self._api.send(_get(self._api, LOAD_PATH, request_options))
        return result

    def metrics(
        self, *, model: Optional[str] = None, request_options: Optional[RequestOptionsLike] = None
    ) -> ServerMetrics:
        """GET /metrics: requests running and waiting, KV-cache use, and the raw text.

        ``model`` picks the model of a llama-server router (sent as ``?model=``).
        """
        query = None if model is None else {"model": model}
        answer = self._api.send_raw(_get(self._api, METRICS_PATH, request_options, query))
        return parse_metrics(answer.text)


class AsyncServerStatus:
    """``health``, ``version``, ``load`` and ``metrics`` of the server behind the client."""

    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncServerStatusWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncServerStatusWithResponse(self)

    async def health(
        self, *, raise_errors: bool = False, request_options: Optional[RequestOptionsLike] = None
    ) -> bool:
        """GET /health: True when the server answers 2xx; see ``ServerStatus.health``."""
        call = _get(self._api, HEALTH_PATH, request_options or _PROBE_OPTIONS)
        try:
            await self._api.send_raw(call)
        except BabyAPIError:
            if raise_errors:
                raise
            return False
        return True

    async def version(
        self, *, request_options: Optional[RequestOptionsLike] = None
    ) -> ServerVersion:
        """GET /version: ``{"version": "0.32.0"}``."""
        result: ServerVersion = await self._api.send(_get(self._api, VERSION_PATH, request_options))
        return result

    async def load(self, *, request_options: Optional[RequestOptionsLike] = None) -> ServerLoad:
        """GET /load: requests in flight; vLLM counts them only with --enable-server-load-tracking."""
        result: ServerLoad = await self._api.send(_get(self._api, LOAD_PATH, request_options))
        return result

    async def metrics(
        self, *, model: Optional[str] = None, request_options: Optional[RequestOptionsLike] = None
    ) -> ServerMetrics:
        """GET /metrics: requests running and waiting, KV-cache use, and the raw text."""
        query = None if model is None else {"model": model}
        answer = await self._api.send_raw(_get(self._api, METRICS_PATH, request_options, query))
        return parse_metrics(answer.text)


@final
class ServerStatusWithResponse:
    """``version``, ``load``, ``metrics`` returning an ``APIResponse`` (see ``ServerStatus``)."""

    def __init__(self, resource: ServerStatus) -> None:
        self.version = with_response(resource.version)
        self.load = with_response(resource.load)
        self.metrics = with_response(resource.metrics)


@final
class AsyncServerStatusWithResponse:
    """``version``, ``load``, ``metrics`` returning an ``APIResponse`` (see ``AsyncServerStatus``)."""

    def __init__(self, resource: AsyncServerStatus) -> None:
        self.version = async_with_response(resource.version)
        self.load = async_with_response(resource.load)
        self.metrics = async_with_response(resource.metrics)
