"""``POST /v1/rerank``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._client import AsyncBabyAPI, BabyAPI
    from babyapi._options import RequestOptionsLike
    from babyapi.types.rerank import RerankCreateParams, RerankResponse

PATH = "/v1/rerank"


class Rerank:
    def __init__(self, client: BabyAPI) -> None:
        self._client = client

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[RerankCreateParams],
    ) -> RerankResponse:
        """Score documents against a query; results come sorted by relevance_score."""
        result: RerankResponse = self._client._request(
            self._client._prepare(PATH, body, request_options, extra_body=extra_body)
        )
        return result


class AsyncRerank:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self._client = client

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[RerankCreateParams],
    ) -> RerankResponse:
        """Score documents against a query; results come sorted by relevance_score."""
        result: RerankResponse = await self._client._request(
            self._client._prepare(PATH, body, request_options, extra_body=extra_body)
        )
        return result
