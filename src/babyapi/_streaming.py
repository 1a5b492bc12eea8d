"""Streams of server-sent events: the shared reader (no I/O) and the sync and async Stream shells."""

from __future__ import annotations

import contextlib
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Generic,
    Iterator,
    Optional,
    TypeVar,
    Union,
    cast,
)

from babyapi._accumulate import Accumulator, text_of_chunk
from babyapi._call import error_from_exception
from babyapi._errors import APIConnectionError, APITimeoutError, BabyAPIError
from babyapi._observe import Answer
from babyapi._pool_guard import inside_pool, release_outside_pool
from babyapi._redact import redact_error
from babyapi._request import Call
from babyapi._response import error_from_stream_frame, request_id_of
from babyapi._route import Route
from babyapi._sse import SSEDecoder, SSEEvent
from babyapi._wire import (
    TIMEOUT_FAILURES,
    AsyncTransport,
    Response,
    SyncTransport,
    TransportError,
)

__all__ = ["AsyncStream", "EventReader", "Stream"]

# ChunkT is what ``event.data`` holds for a data event, FinalT what ``final()`` returns:
# ``Stream[ChatCompletionChunk, ChatCompletion]``. Both exist for type checkers only.
ChunkT = TypeVar("ChunkT", covariant=True)
if TYPE_CHECKING:
    from typing_extensions import TypeVar as TypeVarWithDefault

    # The default keeps a one-argument ``Stream[X]`` valid; it means ``Stream[X, Any]``.
    FinalT = TypeVarWithDefault("FinalT", covariant=True, default=Any)
else:
    FinalT = TypeVar("FinalT", covariant=True)


class EventReader:
    """Bytes of one streamed response in, checked SSE events out; keeps what arrived so far."""

    def __init__(
        self,
        response: Response,
        call: Call,
        clock: Callable[[], float],
        transport: Union[SyncTransport, AsyncTransport],
    ) -> None:
        self.response = response
        self.call = call
        # The transport the response came on: it reads and closes the body.
        self.transport = transport
        self.data_events = 0
        self.done = False
        self._pending_error: Optional[BabyAPIError] = None
        # Each event is folded in as it passes, and dropped: memory follows the answer's
        # length, not the number of events.
        self._accumulator = Accumulator()
        self._decoder = SSEDecoder()
        self._error: Optional[BaseException] = None
        self._body_ended = False
        self._stopped_by: Optional[BaseException] = None
        self._watch = call.watch
        self._clock = clock
        self._idle_s = call.settings.stream_idle_timeout_s
        self._deadline_at = call.deadline_at
        self._last_data_at = clock()
        content_type = response.headers.get("content-type", "")
        # A server that ignores "stream": true answers with one JSON document.
        self._plain: Optional[list[bytes]] = (
            [] if "json" in content_type and "event-stream" not in content_type else None
        )
        self._reads_end_at_deadline = self._bound_body_reads()

    def _bound_body_reads(self) -> bool:
        """Set ``body_read_s``, each wait for body data; True when the deadline is the tighter.

        The headers bound gives way to the per-read bound, and no single wait can outlast
        the deadline; the transport applies it from the first read of the body on.
        """
        read = self.call.body_read_s()
        ends_at_deadline = False
        if self._deadline_at is not None:
            left = max(self._deadline_at - self._clock(), 0.001)
            if read is None or read > left:
                read, ends_at_deadline = left, True
        self.body_read_s = read
        return ends_at_deadline

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._plain is not None:
            self._plain.append(chunk)
            return []
        return self._decoder.feed(chunk)

    def take(self, chunk: Optional[bytes]) -> list[SSEEvent]:
        """The checked events a chunk completes (``None``: the body ended), up to ``[DONE]``.

        An error frame raises only after the events before it were returned and yielded.
        """
        if (
            chunk is not None
            and self._deadline_at is not None
            and self._clock() >= self._deadline_at
        ):
            raise self._past_deadline(None)
        if chunk is None:
            events = self.finish()
        elif self._plain is None:  # the usual case, without a call to feed()
            events = self._decoder.feed(chunk)
        else:
            events = self.feed(chunk)
        for index, event in enumerate(events):
            if event.done:
                self.done = True
                return events[: index + 1]
            try:
                self.accept(event)
            except BabyAPIError as error:
                self._pending_error = error
                return events[:index]
        if chunk is not None and self._idle_s is not None:
            self.check_idle()
        return events

    def raise_pending(self) -> None:
        """Raise the error frame that ``take`` held back until its predecessors were seen."""
        if self._pending_error is not None:
            raise self._pending_error

    def accept(self, event: SSEEvent) -> None:
        """Fold in a data event about to be handed to the user; error frames raise instead."""
        # Parsed once: the user's `event.data` gets the same object.
        data = event.data
        # A Responses API event names itself ("response.failed", "error"); chat chunks do not.
        fields = cast("dict[str, Any]", data) if type(data) is dict else None
        kind = fields.get("type") if fields is not None else None
        if (
            event.event == "error"
            or kind == "error"
            or (fields is not None and "error" in fields and "choices" not in fields)
        ):
            raise self._attach(
                error_from_stream_frame(self.response, data if data is not None else event.raw)
            )
        if not self.data_events and self._watch is not None:
            self._watch.first_event()
        self.data_events += 1
        if self._idle_s is not None:
            self._last_data_at = self._clock()
        self._accumulator.add(data)
        if kind == "response.failed":
            from babyapi._response_events import failure_of

            # The Responses API's failure: the response so far is kept in error.partial.
            raise self._attach(error_from_stream_frame(self.response, failure_of(fields or {})))

    def accumulated(self) -> dict[str, Any]:
        """The answer so far, shaped like the non-streaming response."""
        return self._accumulator.result()

    def check_idle(self) -> None:
        """Keep-alive comments do not count: only data events reset stream_idle_timeout_s."""
        idle = self._idle_s
        if idle is not None and self._clock() - self._last_data_at > idle:
            raise self._timed_out(
                f"{self.call.method} {self.call.path} timed out: no data event for {idle:g}s "
                f"(stream_idle_timeout_s={idle:g}); the generation looks stalled; raise "
                "stream_idle_timeout_s in request_options if the model pauses longer."
            )

    def finish(self) -> list[SSEEvent]:
        """End of the body: the remaining events, or an error when nothing came at all."""
        self._body_ended = True
        if self._plain is not None:
            return [SSEEvent(b"".join(self._plain).decode("utf-8", errors="replace"))]
        events = self._decoder.end()
        if not events and not self.data_events:
            raise self._attach(
                BabyAPIError(
                    f"{self.call.path} answered 200 but the stream ended without a single event; "
                    "some servers fail this way: check the model and parameters, "
                    "or call .create(...) to see the error.",
                    status=self.response.status_code,
                    code="EMPTY_STREAM",
                    request_id=request_id_of(self.response.headers),
                    response=self.response,
                )
            )
        return events

    def _past_deadline(self, cause: Optional[BaseException]) -> BabyAPIError:
        call = self.call
        return self._timed_out(
            f"{call.method} {call.path}: the stream did not finish within "
            f"deadline_s={call.settings.deadline_s:g}; the {self.data_events} events that "
            "arrived in time are in error.partial. Raise deadline_s if answers need longer.",
            cause,
        )

    def _timed_out(self, message: str, cause: Optional[BaseException] = None) -> BabyAPIError:
        """A bound the stream itself keeps (idle time, deadline) ran out."""
        return self._attach(
            APITimeoutError(
                message,
                code="TIMEOUT",
                request_id=request_id_of(self.response.headers),
                response=self.response,
                cause=cause,
            )
        )

    def interrupted(self, exc: TransportError) -> BabyAPIError:
        """A transport failure while reading the body, carrying what was received so far."""
        if exc.kind == "read_timeout" and self._reads_end_at_deadline:
            return self._past_deadline(exc.cause)
        if exc.kind in TIMEOUT_FAILURES:
            error: APIConnectionError = error_from_exception(exc, self.call, reading_body=True)
        else:
            error = APIConnectionError(
                f"{self.call.path}: the stream broke after {self.data_events} events "
                f"({type(exc.cause).__name__}: {exc.message or 'connection lost'}); "
                "what arrived is in error.partial.",
                code="STREAM_INTERRUPTED",
                cause=exc.cause,
            )
            error.failure = exc.kind
        error.request_id = request_id_of(self.response.headers)
        error.response = self.response
        return self._attach(error)

    def _attach(self, error: BabyAPIError) -> BabyAPIError:
        redact_error(error, self.call.api_key)  # an error frame may quote the key
        error.partial = self.accumulated()
        if error.request_id is None:
            error.request_id = self.call.request_id
        self._error = error
        return error

    def stopped_by(self, exc: BaseException) -> None:
        """Note what stopped the reading (an error, a cancellation, the reader closing it)."""
        if self._stopped_by is None:
            self._stopped_by = exc

    def release(self) -> None:
        """Close the response; tell the observers how the stream ended, once."""
        cast("SyncTransport", self.transport).close_response(self.response)
        self._tell_end()

    async def arelease(self) -> None:
        """The async ``release``."""
        await cast("AsyncTransport", self.transport).close_response(self.response)
        self._tell_end()

    def _tell_end(self) -> None:
        route: Optional[Route] = self.call.route
        if route is not None:
            # Over several servers, the stream is no longer in flight on its server.
            route.stream_ended()
        self._tell_observers()

    def _tell_observers(self) -> None:
        watch = self._watch
        if watch is None:
            return
        self._watch = None
        if self._error is not None:
            ending: Optional[BaseException] = self._error
        elif self.done or (self._body_ended and self._stopped_by is None):
            ending = None
        else:
            ending = self._stopped_by or GeneratorExit()
        watch.end(ending, Answer(self.accumulated))


# The body iterators of the sync streams still open. Held here, httpx's chain of body
# generators stays out of any garbage cycle a Stream falls into: collected with it, they would
# close the response from inside whatever the thread was doing, pool lock held or not.
_OPEN_BODIES: dict[EventReader, Iterator[bytes]] = {}


def _open_body(reader: EventReader) -> Iterator[bytes]:
    transport = cast("SyncTransport", reader.transport)
    chunks = _OPEN_BODIES[reader] = transport.chunks(reader.response, reader.body_read_s)
    return chunks


def _release(reader: EventReader) -> None:
    """Close a sync stream's response, now or as soon as this thread is out of the pool."""
    release_outside_pool(lambda: _release_now(reader))


def _release_now(reader: EventReader) -> None:
    reader.release()
    _OPEN_BODIES.pop(reader, None)


def _read_events(reader: EventReader, chunks: Iterator[bytes]) -> Generator[SSEEvent, None, None]:
    try:
        while True:
            with inside_pool:  # the body's end closes the response, in the pool
                chunk = next(chunks, None)
            if chunk is None:
                break
            yield from reader.take(chunk)
            reader.raise_pending()
            if reader.done:
                return
        yield from reader.take(None)
        reader.raise_pending()
    except TransportError as exc:
        raise reader.interrupted(exc) from None
    except BaseException as exc:
        reader.stopped_by(exc)
        raise
    finally:
        _release(reader)


async def _aread_events(reader: EventReader) -> AsyncGenerator[Optional[SSEEvent], None]:
    transport = cast("AsyncTransport", reader.transport)
    chunks = transport.chunks(reader.response, reader.body_read_s)
    try:
        # Stepped to here when the stream opens: from then on the event loop knows this
        # generator, and closes it (and so the response) if the stream is dropped unread.
        yield None
        async for chunk in chunks:
            for event in reader.take(chunk):
                yield event
            reader.raise_pending()
            if reader.done:
                return
        for event in reader.take(None):
            yield event
        reader.raise_pending()
    except TransportError as exc:
        raise reader.interrupted(exc) from None
    except BaseException as exc:
        reader.stopped_by(exc)
        raise
    finally:
        await reader.arelease()
        await _run_out(chunks)


async def _run_out(chunks: AsyncIterator[bytes]) -> None:
    """End the transport's chain of body generators, which stopping early leaves suspended.

    The response is closed, so the next step fails at once and unwinds every one of them;
    left suspended, trio (and asyncio in a closed loop) would warn as each is collected.
    """
    with contextlib.suppress(Exception):
        async for _ in chunks:
            pass


# Turns the accumulated answer into what final() returns (parse() attaches the parsed value).
Finisher = Callable[[dict[str, Any]], Any]


class _StreamBase(Generic[ChunkT, FinalT]):
    _reader: Optional[EventReader]
    _finish: Optional[Finisher] = None

    @property
    def response(self) -> Response:
        """The HTTP response, once the stream is open."""
        if self._reader is None:
            raise BabyAPIError(
                "the stream is not open yet: iterate it or enter it first.", code="STREAM_NOT_OPEN"
            )
        return self._reader.response

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def request_id(self) -> Optional[str]:
        """The server's request id, else the ``x-request-id`` this call sent."""
        headers = self.response.headers
        assert self._reader is not None
        return request_id_of(headers) or self._reader.call.request_id

    def _result(self) -> FinalT:
        assert self._reader is not None
        answer = self._reader.accumulated()
        return cast("FinalT", answer if self._finish is None else self._finish(answer))


class Stream(_StreamBase[ChunkT, FinalT]):
    """The events of one streamed response; iterate it, or call ``text_deltas()`` or ``final()``."""

    def __init__(self, reader: EventReader, finish: Optional[Finisher] = None) -> None:
        self._reader = reader
        self._finish = finish
        # The generator must not reference the Stream: without a cycle, CPython frees the
        # Stream (and so closes the connection) the moment a loop over it is left.
        self._iterator = _read_events(reader, _open_body(reader))

    def __iter__(self) -> Stream[ChunkT, FinalT]:
        return self

    def __next__(self) -> SSEEvent:
        return next(self._iterator)

    def __del__(self) -> None:
        # A stream dropped unread, or left mid-way, must still give its connection back.
        if hasattr(self, "_iterator"):
            self.close()

    def __enter__(self) -> Stream[ChunkT, FinalT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        # A generator closed before its first step never runs its `finally`.
        if self._reader is not None:
            _release(self._reader)

    def text_deltas(self) -> Iterator[str]:
        """Only the new text of each chunk (choice 0), skipping empty and non-text events."""
        for event in self._iterator:
            text = text_of_chunk(event.data)
            if text is not None:
                yield text

    def final(self) -> FinalT:
        """Read the rest of the stream and return the answer shaped like ``create(...)``'s."""
        for _ in self._iterator:
            pass
        return self._result()


class AsyncStream(_StreamBase[ChunkT, FinalT]):
    """The async twin of Stream: ``async for``, ``async with``, ``await``; opens on first use."""

    def __init__(
        self, open_reader: Callable[[], Awaitable[EventReader]], finish: Optional[Finisher] = None
    ) -> None:
        self._open_reader = open_reader
        self._finish = finish
        self._reader = None
        self._iterator: Optional[AsyncGenerator[Optional[SSEEvent], None]] = None

    async def _open(self) -> AsyncGenerator[Optional[SSEEvent], None]:
        if self._iterator is None:
            self._reader = await self._open_reader()
            self._iterator = _aread_events(self._reader)
            await self._iterator.__anext__()
        return self._iterator

    def __aiter__(self) -> AsyncStream[ChunkT, FinalT]:
        return self

    async def __anext__(self) -> SSEEvent:
        iterator = self._iterator or await self._open()
        event = await iterator.__anext__()
        assert event is not None  # only the first step, taken in _open, yields None
        return event

    def __await__(self) -> Generator[Any, None, AsyncStream[ChunkT, FinalT]]:
        return self._opened().__await__()

    async def _opened(self) -> AsyncStream[ChunkT, FinalT]:
        await self._open()
        return self

    async def __aenter__(self) -> AsyncStream[ChunkT, FinalT]:
        return await self._opened()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        if self._iterator is not None:
            await self._iterator.aclose()
        if self._reader is not None:
            # A generator closed before its first step never runs its `finally`.
            await self._reader.arelease()

    async def text_deltas(self) -> AsyncIterator[str]:
        """Only the new text of each chunk (choice 0), skipping empty and non-text events."""
        async for event in self:
            text = text_of_chunk(event.data)
            if text is not None:
                yield text

    async def final(self) -> FinalT:
        """Read the rest of the stream and return the answer shaped like ``create(...)``'s."""
        async for _ in self:
            pass
        return self._result()
