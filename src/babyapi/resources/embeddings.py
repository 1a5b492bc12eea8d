"""``POST /v1/embeddings``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, final

from babyapi._api_response import async_with_response, with_response
from babyapi._embeddings import decode_embeddings
from babyapi._openai_names import PointsToBabyAPINames

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._options import RequestOptionsLike
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.embeddings import CreateEmbeddingResponse, EmbeddingCreateParams

PATH = "/v1/embeddings"


class Embeddings(PointsToBabyAPINames):
    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> EmbeddingsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return EmbeddingsWithResponse(self)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[EmbeddingCreateParams],
    ) -> CreateEmbeddingResponse:
        """Embed one text or a list of texts; ``data[i]["index"]`` matches the input order.

        Vectors are lists of floats, also with ``encoding_format="base64"`` (decoded here).
        """
        result: CreateEmbeddingResponse = decode_embeddings(
            self._api.send(
                self._api.prepare(
                    PATH,
                    body,
                    request_options,
                    extra_body=extra_body,
                    extra_headers=extra_headers,
                    extra_query=extra_query,
                )
            )
        )
        return result


class AsyncEmbeddings(PointsToBabyAPINames):
    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncEmbeddingsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncEmbeddingsWithResponse(self)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[EmbeddingCreateParams],
    ) -> CreateEmbeddingResponse:
        """Embed one text or a list of texts; ``data[i]["index"]`` matches the input order.

        Vectors are lists of floats, also with ``encoding_format="base64"`` (decoded here).
        """
        result: CreateEmbeddingResponse = decode_embeddings(
            await self._api.send(
                self._api.prepare(
                    PATH,
                    body,
                    request_options,
                    extra_body=extra_body,
                    extra_headers=extra_headers,
                    extra_query=extra_query,
                )
            )
        )
        return result


@final
class EmbeddingsWithResponse:
    """``create`` returning an ``APIResponse`` (see ``Embeddings``)."""

    def __init__(self, resource: Embeddings) -> None:
        self.create = with_response(resource.create)


@final
class AsyncEmbeddingsWithResponse:
    """``create`` returning an ``APIResponse`` (see ``AsyncEmbeddings``)."""

    def __init__(self, resource: AsyncEmbeddings) -> None:
        self.create = async_with_response(resource.create)
