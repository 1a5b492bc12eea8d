"""``POST /infer``: BabyAPI's text-in, text-out endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, final

from babyapi._api_response import async_with_response, with_response
from babyapi._openai_names import PointsToBabyAPINames

if TYPE_CHECKING:
    from babyapi._options import RequestOptionsLike
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.infer import InferInput, InferResponse


class Baby(PointsToBabyAPINames):
    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> BabyWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return BabyWithResponse(self)

    def infer(
        self,
        input: InferInput,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **options: Any,
    ) -> InferResponse:
        """Text in, text out: a prompt string, or a dict with prompt, model and options."""
        result: InferResponse = self._api.send(
            self._api.prepare_infer(
                input,
                options,
                request_options,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result


class AsyncBaby(PointsToBabyAPINames):
    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncBabyWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncBabyWithResponse(self)

    async def infer(
        self,
        input: InferInput,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **options: Any,
    ) -> InferResponse:
        """Text in, text out: a prompt string, or a dict with prompt, model and options."""
        result: InferResponse = await self._api.send(
            self._api.prepare_infer(
                input,
                options,
                request_options,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result


@final
class BabyWithResponse:
    """``infer`` returning an ``APIResponse`` (see ``Baby``)."""

    def __init__(self, resource: Baby) -> None:
        self.infer = with_response(resource.infer)


@final
class AsyncBabyWithResponse:
    """``infer`` returning an ``APIResponse`` (see ``AsyncBaby``)."""

    def __init__(self, resource: AsyncBaby) -> None:
        self.infer = async_with_response(resource.infer)
