"""``POST /v1/chat/completions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

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

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion:
        """Send a conversation; returns the ``chat.completion`` object."""
        result: ChatCompletion = self._client._request(
            self._client._prepare(PATH, body, request_options, extra_body=extra_body)
        )
        return result

    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> Stream[ChatCompletionChunk, ChatCompletion]:
        """Send a conversation and stream the reply as ``chat.completion.chunk`` events."""
        return self._client._stream(
            self._client._prepare(PATH, body, request_options, stream=True, extra_body=extra_body)
        )


class Chat:
    def __init__(self, client: BabyAPI) -> None:
        self.completions = ChatCompletions(client)


class AsyncChatCompletions:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self._client = client

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> ChatCompletion:
        """Send a conversation; returns the ``chat.completion`` object."""
        result: ChatCompletion = await self._client._request(
            self._client._prepare(PATH, body, request_options, extra_body=extra_body)
        )
        return result

    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> AsyncStream[ChatCompletionChunk, ChatCompletion]:
        """Stream the reply; use ``async for`` or ``async with`` on the result."""
        return self._client._stream(
            self._client._prepare(PATH, body, request_options, stream=True, extra_body=extra_body)
        )


class AsyncChat:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self.completions = AsyncChatCompletions(client)
