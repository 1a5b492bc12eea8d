"""``POST /v1/rerank``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, final

from babyapi._api_response import async_with_response, with_response
from babyapi._openai_names import PointsToBabyAPINames

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._options import RequestOptionsLike
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.rerank import RerankCreateParams, RerankResponse

PATH = "/v1/rerank"


class Rerank(PointsToBabyAPINames):
    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> RerankWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return RerankWithResponse(self)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[RerankCreateParams],
    ) -> RerankResponse:
        """Score documents against a query; results come sorted by relevance_score."""
        result: RerankResponse = self._api.send(
            self._api.prepare(
                PATH,
                body,
                request_options,
                extra_body=extra_body,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result


class AsyncRerank(PointsToBabyAPINames):
    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncRerankWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncRerankWithResponse(self)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[RerankCreateParams],
    ) -> RerankResponse:
        """Score documents against a query; results come sorted by relevance_score."""
        result: RerankResponse = await self._api.send(
            self._api.prepare(
                PATH,
                body,
                request_options,
                extra_body=extra_body,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result


@final
class RerankWithResponse:
    """``create`` returning an ``APIResponse`` (see ``Rerank``)."""

    def __init__(self, resource: Rerank) -> None:
        self.create = with_response(resource.create)


@final
class AsyncRerankWithResponse:
    """``create`` returning an ``APIResponse`` (see ``AsyncRerank``)."""

    def __init__(self, resource: AsyncRerank) -> None:
        self.create = async_with_response(resource.create)
