"""``POST /v1/embeddings``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._client import AsyncBabyAPI, BabyAPI
    from babyapi._options import RequestOptionsLike
    from babyapi.types.embeddings import CreateEmbeddingResponse, EmbeddingCreateParams

PATH = "/v1/embeddings"


class Embeddings:
    def __init__(self, client: BabyAPI) -> None:
        self._client = client

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[EmbeddingCreateParams],
    ) -> CreateEmbeddingResponse:
        """Embed one text or a list of texts; ``data[i]["index"]`` matches the input order."""
        result: CreateEmbeddingResponse = self._client._request(
            self._client._prepare(PATH, body, request_options, extra_body=extra_body)
        )
        return result


class AsyncEmbeddings:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self._client = client

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[EmbeddingCreateParams],
    ) -> CreateEmbeddingResponse:
        """Embed one text or a list of texts; ``data[i]["index"]`` matches the input order."""
        result: CreateEmbeddingResponse = await self._client._request(
            self._client._prepare(PATH, body, request_options, extra_body=extra_body)
        )
        return result
