"""``POST /v1/chat/completions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, final

from babyapi._api_response import async_with_response, with_response

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._client import AsyncBabyAPI, BabyAPI
    from babyapi._options import RequestOptionsLike
    from babyapi._streaming import AsyncStream, Stream
    from babyapi.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams

PATH = "/v1/chat/completions"


class ChatCompletions:
    def __init__(self, client: BabyAPI) -> None:
        self._client = client

    @property
    def with_response(self) -> ChatCompletionsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return ChatCompletionsWithResponse(self)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion:
        """Send a conversation; returns the ``chat.completion`` object."""
        result: ChatCompletion = self._client._request(
            self._client._prepare(
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
        **body: Unpack[ChatCompletionCreateParams],
    ) -> Stream[ChatCompletionChunk, ChatCompletion]:
        """Send a conversation and stream the reply as ``chat.completion.chunk`` events."""
        return self._client._stream(
            self._client._prepare(
                PATH,
                body,
                request_options,
                stream=True,
                extra_body=extra_body,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )


class Chat:
    def __init__(self, client: BabyAPI) -> None:
        self.completions = ChatCompletions(client)

    @property
    def with_response(self) -> ChatWithResponse:
        """``completions.create`` returning an ``APIResponse``."""
        return ChatWithResponse(self)


class AsyncChatCompletions:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self._client = client

    @property
    def with_response(self) -> AsyncChatCompletionsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncChatCompletionsWithResponse(self)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion:
        """Send a conversation; returns the ``chat.completion`` object."""
        result: ChatCompletion = await self._client._request(
            self._client._prepare(
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
        **body: Unpack[ChatCompletionCreateParams],
    ) -> AsyncStream[ChatCompletionChunk, ChatCompletion]:
        """Stream the reply; use ``async for`` or ``async with`` on the result."""
        return self._client._stream(
            self._client._prepare(
                PATH,
                body,
                request_options,
                stream=True,
                extra_body=extra_body,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )


class AsyncChat:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self.completions = AsyncChatCompletions(client)

    @property
    def with_response(self) -> AsyncChatWithResponse:
        """``completions.create`` returning an ``APIResponse``."""
        return AsyncChatWithResponse(self)


@final
class ChatCompletionsWithResponse:
    """``create`` returning an ``APIResponse`` (see ``ChatCompletions``)."""

    def __init__(self, resource: ChatCompletions) -> None:
        self.create = with_response(resource.create)


@final
class AsyncChatCompletionsWithResponse:
    """``create`` returning an ``APIResponse`` (see ``AsyncChatCompletions``)."""

    def __init__(self, resource: AsyncChatCompletions) -> None:
        self.create = async_with_response(resource.create)


@final
class ChatWithResponse:
    """``client.with_response.chat``: ``completions.create`` returning an ``APIResponse``."""

    def __init__(self, chat: Chat) -> None:
        self.completions = chat.completions.with_response


@final
class AsyncChatWithResponse:
    """``client.with_response.chat``: ``completions.create`` returning an ``APIResponse``."""

    def __init__(self, chat: AsyncChat) -> None:
        self.completions = chat.completions.with_response
