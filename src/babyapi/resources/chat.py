"""``POST /v1/chat/completions``, plus ``parse()`` and ``run_tools()`` built on it."""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    final,
    overload,
)

from babyapi._api_response import async_with_response, with_response
from babyapi._openai_names import PointsToBabyAPINames

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._options import RequestOptionsLike
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi._streaming import AsyncStream, Finisher, Stream
    from babyapi.structured import ParsedChatCompletion
    from babyapi.tools import ToolRun
    from babyapi.types.chat import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionCreateParams,
        ChatCompletionParseParams,
        ChatCompletionToolRunParams,
    )

PATH = "/v1/chat/completions"
T = TypeVar("T")


def typed_response_format(body: dict[str, Any]) -> Optional[Finisher]:
    """For a typed ``response_format``: put the wire form in ``body``, return how to read it back."""
    if "response_format" not in body:  # the common case stays free of the import
        return None
    from babyapi.structured import OutputFormat, wants_parsing

    if not wants_parsing(body["response_format"]):
        return None
    output: OutputFormat[Any] = OutputFormat(body["response_format"])
    body["response_format"] = output.response_format
    return output.read


def _extras(
    body: Optional[Mapping[str, Any]],
    headers: Optional[Mapping[str, str]],
    query: Optional[Mapping[str, Any]],
) -> dict[str, Any]:
    return {"extra_body": body, "extra_headers": headers, "extra_query": query}


class ChatCompletions(PointsToBabyAPINames):
    def __init__(self, api: RequestAPI) -> None:
        self._api = api

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
        result: ChatCompletion = self._api.send(
            self._api.prepare(
                PATH, body, request_options, **_extras(extra_body, extra_headers, extra_query)
            )
        )
        return result

    @overload
    def parse(
        self,
        *,
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[T]: ...

    @overload
    def parse(
        self,
        *,
        response_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[Any]: ...

    def parse(
        self,
        *,
        response_format: Any,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> ParsedChatCompletion[Any]:
        """Ask for JSON fitting ``response_format`` (a TypedDict, dataclass, pydantic model or
        JSON Schema dict) and return the answer with ``.parsed`` of that type."""
        from babyapi.structured import OutputFormat

        output: OutputFormat[Any] = OutputFormat(response_format)
        body["response_format"] = output.response_format
        call = self._api.prepare(
            PATH, body, request_options, **_extras(extra_body, extra_headers, extra_query)
        )
        return output.read(self._api.send(call))

    @overload
    def stream(
        self,
        *,
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> Stream[ChatCompletionChunk, ParsedChatCompletion[T]]: ...

    @overload
    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> Stream[ChatCompletionChunk, ChatCompletion]: ...

    @overload
    def stream(
        self,
        *,
        response_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> Stream[ChatCompletionChunk, ParsedChatCompletion[Any]]: ...

    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> Stream[ChatCompletionChunk, Any]:
        """Send a conversation and stream the reply as ``chat.completion.chunk`` events.

        With a type or JSON Schema as ``response_format``, ``final()`` returns it parsed.
        """
        finish = typed_response_format(body)
        extras = _extras(extra_body, extra_headers, extra_query)
        call = self._api.prepare(PATH, body, request_options, stream=True, **extras)
        return self._api.stream(call, finish)

    def run_tools(
        self,
        *,
        tools: Sequence[Any],
        max_rounds: int = 8,
        raise_tool_errors: bool = False,
        on_text: Optional[Callable[[str], object]] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionToolRunParams],
    ) -> ToolRun:
        """Call the model, run the tools it asks for, send their answers; repeat until it answers.

        ``on_text`` streams each round and receives the model's text as it arrives.
        """
        from babyapi.tools import run_tools

        return run_tools(
            self._api,
            tools,
            body,
            max_rounds=max_rounds,
            raise_tool_errors=raise_tool_errors,
            on_text=on_text,
            request_options=request_options,
            **_extras(extra_body, extra_headers, extra_query),
        )


class Chat(PointsToBabyAPINames):
    def __init__(self, api: RequestAPI) -> None:
        self.completions = ChatCompletions(api)

    @property
    def with_response(self) -> ChatWithResponse:
        """``completions.create`` returning an ``APIResponse``."""
        return ChatWithResponse(self)


class AsyncChatCompletions(PointsToBabyAPINames):
    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

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
        result: ChatCompletion = await self._api.send(
            self._api.prepare(
                PATH, body, request_options, **_extras(extra_body, extra_headers, extra_query)
            )
        )
        return result

    @overload
    async def parse(
        self,
        *,
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[T]: ...

    @overload
    async def parse(
        self,
        *,
        response_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> ParsedChatCompletion[Any]: ...

    async def parse(
        self,
        *,
        response_format: Any,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> ParsedChatCompletion[Any]:
        """Ask for JSON fitting ``response_format``; the answer's ``.parsed`` has that type."""
        from babyapi.structured import OutputFormat

        output: OutputFormat[Any] = OutputFormat(response_format)
        body["response_format"] = output.response_format
        call = self._api.prepare(
            PATH, body, request_options, **_extras(extra_body, extra_headers, extra_query)
        )
        return output.read(await self._api.send(call))

    @overload
    def stream(
        self,
        *,
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> AsyncStream[ChatCompletionChunk, ParsedChatCompletion[T]]: ...

    @overload
    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionCreateParams],
    ) -> AsyncStream[ChatCompletionChunk, ChatCompletion]: ...

    @overload
    def stream(
        self,
        *,
        response_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionParseParams],
    ) -> AsyncStream[ChatCompletionChunk, ParsedChatCompletion[Any]]: ...

    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> AsyncStream[ChatCompletionChunk, Any]:
        """Stream the reply; use ``async for`` or ``async with`` on the result.

        With a type or JSON Schema as ``response_format``, ``final()`` returns it parsed.
        """
        finish = typed_response_format(body)
        extras = _extras(extra_body, extra_headers, extra_query)
        call = self._api.prepare(PATH, body, request_options, stream=True, **extras)
        return self._api.stream(call, finish)

    async def run_tools(
        self,
        *,
        tools: Sequence[Any],
        max_rounds: int = 8,
        raise_tool_errors: bool = False,
        on_text: Optional[Callable[[str], object]] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ChatCompletionToolRunParams],
    ) -> ToolRun:
        """The tool loop; the calls of one round run concurrently (sync tools in threads)."""
        from babyapi.tools import arun_tools

        return await arun_tools(
            self._api,
            tools,
            body,
            max_rounds=max_rounds,
            raise_tool_errors=raise_tool_errors,
            on_text=on_text,
            request_options=request_options,
            **_extras(extra_body, extra_headers, extra_query),
        )


class AsyncChat(PointsToBabyAPINames):
    def __init__(self, api: AsyncRequestAPI) -> None:
        self.completions = AsyncChatCompletions(api)

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
