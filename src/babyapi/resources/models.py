"""``GET /v1/models``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from babyapi._client import AsyncBabyAPI, BabyAPI
    from babyapi._options import RequestOptionsLike
    from babyapi.types.models import ModelList

PATH = "/v1/models"


class Models:
    def __init__(self, client: BabyAPI) -> None:
        self._client = client

    def list(self, *, request_options: Optional[RequestOptionsLike] = None) -> ModelList:
        """The models the server offers."""
        result: ModelList = self._client._request(self._client._prepare_get(PATH, request_options))
        return result


class AsyncModels:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self._client = client

    async def list(self, *, request_options: Optional[RequestOptionsLike] = None) -> ModelList:
        """The models the server offers."""
        result: ModelList = await self._client._request(
            self._client._prepare_get(PATH, request_options)
        )
        return result
