"""``POST /v1/completions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, final

from babyapi._api_response import async_with_response, with_response
from babyapi._openai_names import PointsToBabyAPINames

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._options import RequestOptionsLike
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi._streaming import AsyncStream, Stream
    from babyapi.types.completions import Completion, CompletionChunk, CompletionCreateParams

PATH = "/v1/completions"


class Completions(PointsToBabyAPINames):
    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> CompletionsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return CompletionsWithResponse(self)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[CompletionCreateParams],
    ) -> Completion:
        """Complete a prompt; returns the ``text_completion`` object."""
        result: Completion = self._api.send(
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

    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[CompletionCreateParams],
    ) -> Stream[CompletionChunk, Completion]:
        """Complete a prompt and stream the text as it is generated."""
        return self._api.stream(
            self._api.prepare(
                PATH,
                body,
                request_options,
                stream=True,
                extra_body=extra_body,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )


class AsyncCompletions(PointsToBabyAPINames):
    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncCompletionsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncCompletionsWithResponse(self)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[CompletionCreateParams],
    ) -> Completion:
        """Complete a prompt; returns the ``text_completion`` object."""
        result: Completion = await self._api.send(
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

    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[CompletionCreateParams],
    ) -> AsyncStream[CompletionChunk, Completion]:
        """Stream the reply; use ``async for`` or ``async with`` on the result."""
        return self._api.stream(
            self._api.prepare(
                PATH,
                body,
                request_options,
                stream=True,
                extra_body=extra_body,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )


@final
class CompletionsWithResponse:
    """``create`` returning an ``APIResponse`` (see ``Completions``)."""

    def __init__(self, resource: Completions) -> None:
        self.create = with_response(resource.create)


@final
class AsyncCompletionsWithResponse:
    """``create`` returning an ``APIResponse`` (see ``AsyncCompletions``)."""

    def __init__(self, resource: AsyncCompletions) -> None:
        self.create = async_with_response(resource.create)
