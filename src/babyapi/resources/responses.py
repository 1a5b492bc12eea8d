"""``POST /v1/responses``, ``GET /v1/responses/{id}``, ``POST /v1/responses/{id}/cancel``.

Loaded on first use of ``client.responses``, so ``import babyapi`` does not pay for it.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
    cast,
    final,
    overload,
)
from urllib.parse import quote

from babyapi._api_response import async_with_response, with_response
from babyapi._errors import APITimeoutError, InvalidArgumentError, InvalidArgumentTypeError
from babyapi._response_events import with_output_text

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._options import RequestOptionsLike
    from babyapi._request import Call
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi._streaming import AsyncStream, Stream
    from babyapi.structured import OutputFormat, ParsedResponse
    from babyapi.tools import ResponseToolRun
    from babyapi.types.responses import (
        Response,
        ResponseCreateParams,
        ResponseParseParams,
        ResponseStreamEvent,
        ResponseToolRunParams,
    )

__all__ = ["AsyncResponses", "Responses"]

PATH = "/v1/responses"
T = TypeVar("T")
# A response still being generated; every other status is final.
PENDING = frozenset({"queued", "in_progress"})
DEFAULT_WAIT_DEADLINE_S = 600.0
DEFAULT_POLL_INTERVAL_S = 1.0
ResponseRef = Union[str, Mapping[str, Any]]


def response_path(response: object, action: str = "") -> str:
    """``/v1/responses/{id}`` (plus ``/cancel``), the id escaped; refuses what is not an id."""
    response_id = (
        cast("Mapping[str, Any]", response).get("id") if isinstance(response, Mapping) else response
    )
    if not isinstance(response_id, str) or not response_id.strip():
        error = InvalidArgumentError if isinstance(response_id, str) else InvalidArgumentTypeError
        raise error(
            f"a response id such as 'resp_123' is needed, got {response_id!r:.80}; "
            'it is the "id" of what responses.create() returned.',
            code="INVALID_REQUEST_BODY",
        )
    return f"{PATH}/{quote(response_id, safe='')}{action}"


def _extras(
    body: Optional[Mapping[str, Any]],
    headers: Optional[Mapping[str, str]],
    query: Optional[Mapping[str, Any]],
) -> dict[str, Any]:
    return {"extra_body": body, "extra_headers": headers, "extra_query": query}


def _output_format(body: dict[str, Any], text_format: Any) -> OutputFormat[Any]:
    """Put the wire form of ``text_format`` into ``body["text"]``; return how to read it back."""
    from babyapi.structured import OutputFormat

    output: OutputFormat[Any] = OutputFormat(text_format)
    text = body.get("text")
    # Other text settings (vLLM's, or OpenAI's verbosity) stay; the format is parse()'s.
    body["text"] = {**(text if isinstance(text, Mapping) else {}), "format": output.text_format}
    return output


class _Poll:
    """When to ask again about a background response, and when to give up (no I/O here)."""

    def __init__(self, now: Callable[[], float], deadline_s: float, interval_s: float) -> None:
        for name, value in (("deadline_s", deadline_s), ("poll_interval_s", interval_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InvalidArgumentError(
                    f"{name} must be a number of seconds > 0, got {value!r}.",
                    code="INVALID_TIMEOUT",
                )
        self._now = now
        self._deadline_s = deadline_s
        self._ends_at = now() + deadline_s
        self._interval_s = interval_s

    def after(self, response: Any) -> Optional[float]:
        """Seconds to wait before asking again, or None when the response is final."""
        fields = cast("dict[str, Any]", response) if isinstance(response, dict) else {}
        status = fields.get("status")
        if status not in PENDING:
            return None
        left = self._ends_at - self._now()
        if left <= 0:
            error = APITimeoutError(
                f"response {fields.get('id')!r} is still {status!r} after "
                f"deadline_s={self._deadline_s:g}; it goes on running on the server: wait "
                "again, or cancel it with responses.cancel(id).",
                code="TIMEOUT",
            )
            error.partial = fields
            raise error
        return min(self._interval_s, left)


class Responses:
    """``client.responses``: OpenAI's Responses API, as vLLM serves it."""

    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> ResponsesWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return ResponsesWithResponse(self)

    def _post(self, body: Any, options: Any, extras: dict[str, Any], **flags: Any) -> Call:
        return self._api.prepare(PATH, body, options, **flags, **extras)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseCreateParams],
    ) -> Response:
        """Generate a response; ``res["output_text"]`` is its text."""
        call = self._post(body, request_options, _extras(extra_body, extra_headers, extra_query))
        result: Response = with_output_text(self._api.send(call))
        return result

    @overload
    def parse(
        self,
        *,
        text_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> ParsedResponse[T]: ...

    @overload
    def parse(
        self,
        *,
        text_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> ParsedResponse[Any]: ...

    def parse(
        self,
        *,
        text_format: Any,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> ParsedResponse[Any]:
        """Ask for JSON fitting ``text_format`` (a TypedDict, dataclass, pydantic model or JSON
        Schema dict); the answer's ``.parsed`` has that type."""
        output = _output_format(body, text_format)
        call = self._post(body, request_options, _extras(extra_body, extra_headers, extra_query))
        return output.read_response(with_output_text(self._api.send(call)))

    @overload
    def stream(
        self,
        *,
        text_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> Stream[ResponseStreamEvent, ParsedResponse[T]]: ...

    @overload
    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseCreateParams],
    ) -> Stream[ResponseStreamEvent, Response]: ...

    @overload
    def stream(
        self,
        *,
        text_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> Stream[ResponseStreamEvent, ParsedResponse[Any]]: ...

    def stream(
        self,
        *,
        text_format: Any = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> Stream[ResponseStreamEvent, Any]:
        """Generate a response as named events (``event.type``); ``text_deltas()`` gives the text,
        ``final()`` the response (parsed, with ``text_format``)."""
        finish = None if text_format is None else _output_format(body, text_format).read_response
        extras = _extras(extra_body, extra_headers, extra_query)
        return self._api.stream(self._post(body, request_options, extras, stream=True), finish)

    def retrieve(
        self,
        response_id: ResponseRef,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Response:
        """A stored response by id (or the response itself); unknown ids raise NotFoundError."""
        call = self._api.prepare(
            response_path(response_id),
            method="GET",
            request_options=request_options,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        result: Response = with_output_text(self._api.send(call))
        return result

    def cancel(
        self,
        response_id: ResponseRef,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Response:
        """Stop a background response; returns it with status "cancelled"."""
        call = self._api.prepare(
            response_path(response_id, "/cancel"),
            None,
            request_options,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        result: Response = with_output_text(self._api.send(call))
        return result

    def wait(
        self,
        response: ResponseRef,
        *,
        deadline_s: float = DEFAULT_WAIT_DEADLINE_S,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        request_options: Optional[RequestOptionsLike] = None,
    ) -> Response:
        """Poll a ``background=True`` response until it is no longer queued or in progress.

        Past ``deadline_s`` it raises ``APITimeoutError`` (code TIMEOUT) with the last answer
        in ``error.partial``; the response goes on running on the server.
        """
        poll = _Poll(self._api.clocks.monotonic, deadline_s, poll_interval_s)
        # A response in hand is looked at first: one just created waits before the first poll.
        current: Any = (
            response
            if isinstance(response, Mapping)
            else self.retrieve(response, request_options=request_options)
        )
        pause = poll.after(current)
        while pause is not None:
            self._api.sleep(pause)
            current = self.retrieve(current, request_options=request_options)
            pause = poll.after(current)
        result: Response = with_output_text(dict(current))
        return result

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
        **body: Unpack[ResponseToolRunParams],
    ) -> ResponseToolRun:
        """Call the model, run the functions it calls, send their outputs; repeat until it answers.

        Each round goes on from the last by ``previous_response_id`` when the server stores
        responses, else by sending the whole conversation again; ``.continued_by`` says which.
        """
        from babyapi.tools import run_response_tools

        return run_response_tools(
            self._api,
            tools,
            body,
            max_rounds=max_rounds,
            raise_tool_errors=raise_tool_errors,
            on_text=on_text,
            request_options=request_options,
            **_extras(extra_body, extra_headers, extra_query),
        )


class AsyncResponses:
    """``client.responses`` on AsyncBabyAPI: the same methods, awaited."""

    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncResponsesWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncResponsesWithResponse(self)

    def _post(self, body: Any, options: Any, extras: dict[str, Any], **flags: Any) -> Call:
        return self._api.prepare(PATH, body, options, **flags, **extras)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseCreateParams],
    ) -> Response:
        """Generate a response; ``res["output_text"]`` is its text."""
        call = self._post(body, request_options, _extras(extra_body, extra_headers, extra_query))
        result: Response = with_output_text(await self._api.send(call))
        return result

    @overload
    async def parse(
        self,
        *,
        text_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> ParsedResponse[T]: ...

    @overload
    async def parse(
        self,
        *,
        text_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> ParsedResponse[Any]: ...

    async def parse(
        self,
        *,
        text_format: Any,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> ParsedResponse[Any]:
        """Ask for JSON fitting ``text_format``; the answer's ``.parsed`` has that type."""
        output = _output_format(body, text_format)
        call = self._post(body, request_options, _extras(extra_body, extra_headers, extra_query))
        return output.read_response(with_output_text(await self._api.send(call)))

    @overload
    def stream(
        self,
        *,
        text_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> AsyncStream[ResponseStreamEvent, ParsedResponse[T]]: ...

    @overload
    def stream(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseCreateParams],
    ) -> AsyncStream[ResponseStreamEvent, Response]: ...

    @overload
    def stream(
        self,
        *,
        text_format: Mapping[str, Any],
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ResponseParseParams],
    ) -> AsyncStream[ResponseStreamEvent, ParsedResponse[Any]]: ...

    def stream(
        self,
        *,
        text_format: Any = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Any,
    ) -> AsyncStream[ResponseStreamEvent, Any]:
        """Stream the response as named events; use ``async for`` or ``async with`` on it."""
        finish = None if text_format is None else _output_format(body, text_format).read_response
        extras = _extras(extra_body, extra_headers, extra_query)
        return self._api.stream(self._post(body, request_options, extras, stream=True), finish)

    async def retrieve(
        self,
        response_id: ResponseRef,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Response:
        """A stored response by id (or the response itself); unknown ids raise NotFoundError."""
        call = self._api.prepare(
            response_path(response_id),
            method="GET",
            request_options=request_options,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        result: Response = with_output_text(await self._api.send(call))
        return result

    async def cancel(
        self,
        response_id: ResponseRef,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Response:
        """Stop a background response; returns it with status "cancelled"."""
        call = self._api.prepare(
            response_path(response_id, "/cancel"),
            None,
            request_options,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        result: Response = with_output_text(await self._api.send(call))
        return result

    async def wait(
        self,
        response: ResponseRef,
        *,
        deadline_s: float = DEFAULT_WAIT_DEADLINE_S,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        request_options: Optional[RequestOptionsLike] = None,
    ) -> Response:
        """Poll a ``background=True`` response until it is no longer queued or in progress."""
        poll = _Poll(self._api.clocks.monotonic, deadline_s, poll_interval_s)
        # A response in hand is looked at first: one just created waits before the first poll.
        current: Any = (
            response
            if isinstance(response, Mapping)
            else await self.retrieve(response, request_options=request_options)
        )
        pause = poll.after(current)
        while pause is not None:
            await self._api.sleep(pause)
            current = await self.retrieve(current, request_options=request_options)
            pause = poll.after(current)
        result: Response = with_output_text(dict(current))
        return result

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
        **body: Unpack[ResponseToolRunParams],
    ) -> ResponseToolRun:
        """The tool loop; the calls of one round run concurrently (sync tools in threads)."""
        from babyapi.tools import arun_response_tools

        return await arun_response_tools(
            self._api,
            tools,
            body,
            max_rounds=max_rounds,
            raise_tool_errors=raise_tool_errors,
            on_text=on_text,
            request_options=request_options,
            **_extras(extra_body, extra_headers, extra_query),
        )


@final
class ResponsesWithResponse:
    """``create``, ``parse``, ``retrieve`` and ``cancel`` returning an ``APIResponse``."""

    def __init__(self, resource: Responses) -> None:
        self.create = with_response(resource.create)
        self.parse = with_response(resource.parse)
        self.retrieve = with_response(resource.retrieve)
        self.cancel = with_response(resource.cancel)


@final
class AsyncResponsesWithResponse:
    """``create``, ``parse``, ``retrieve`` and ``cancel`` returning an ``APIResponse``."""

    def __init__(self, resource: AsyncResponses) -> None:
        self.create = async_with_response(resource.create)
        self.parse = async_with_response(resource.parse)
        self.retrieve = async_with_response(resource.retrieve)
        self.cancel = async_with_response(resource.cancel)
