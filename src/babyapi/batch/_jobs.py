"""Jobs as users hold them: ``client.batch.embed(...)`` and friends, async and sync.

A job is lazy: nothing is sent until it is iterated or run. The async job runs the engine in a
task of its own and hands items over through a bounded stream; the sync job runs the very same
async job on an event loop in a helper thread (an anyio blocking portal), taking items across
in chunks so the thread hop costs nothing per item.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Coroutine,
    Generic,
    Iterator,
    Optional,
    TypeVar,
    Union,
)

import anyio

from babyapi._errors import BabyAPIError, InvalidArgumentError, InvalidArgumentTypeError
from babyapi.batch._engine import BatchItem, BatchSummary, Engine, Inputs, JobSettings
from babyapi.batch._kinds import KINDS, Kind
from babyapi.batch._progress import ProgressCallback

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from babyapi._request_api import AsyncRequestAPI, RequestAPI

__all__ = ["AsyncBatch", "AsyncBatchJob", "Batch", "BatchJob"]

PathLike = Union[str, "os.PathLike[str]"]
ApiT = TypeVar("ApiT", "RequestAPI", "AsyncRequestAPI")
JobT = TypeVar("JobT", "BatchJob", "AsyncBatchJob")

DEFAULT_BATCH_SIZE = 64  # inputs per embeddings request: inside vLLM's and llama.cpp's usual limits
DEFAULT_CONCURRENCY = 16
DEFAULT_MAX_RETRIES = 5


def _invalid(message: str) -> InvalidArgumentError:
    return InvalidArgumentError(message, code="INVALID_OPTIONS")


def _positive(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentTypeError(
            f"{name} must be an integer >= {minimum}, got {value!r}.", code="INVALID_OPTIONS"
        )
    if value < minimum:
        raise _invalid(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return value


def _check_inputs(inputs: Any) -> Optional[int]:
    """The number of items when it is known up front."""
    if isinstance(inputs, (str, bytes)):
        raise _invalid("inputs must be a collection of items, not one string: wrap it in a list.")
    if not hasattr(inputs, "__iter__") and not hasattr(inputs, "__aiter__"):
        raise InvalidArgumentTypeError(
            f"inputs must be an iterable of items, got {type(inputs).__name__}.",
            code="INVALID_OPTIONS",
        )
    return len(inputs) if hasattr(inputs, "__len__") else None


def job_settings(
    kind: Kind,
    inputs: Any,
    *,
    model: Optional[str],
    default_model: Optional[str],
    params: dict[str, Any],
    batch_size: int,
    concurrency: int,
    max_retries: int,
    checkpoint: Optional[PathLike],
    fail_fast: bool,
    progress: Optional[bool],
    on_progress: Optional[ProgressCallback],
) -> JobSettings:
    """Check what the user asked for, before anything is sent."""
    total = _check_inputs(inputs)
    model = model if model is not None else default_model
    if model is not None:
        params = {"model": model, **params}
    try:
        json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"request fields must be JSON ({exc}).") from None
    if progress not in (None, True, False):
        raise _invalid(f"progress must be True, False or None (on a terminal), got {progress!r}.")
    if on_progress is not None and not callable(on_progress):
        raise _invalid("on_progress must be a callable taking a BatchProgress.")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise _invalid(f"checkpoint must be a file path, got {type(checkpoint).__name__}.")
    return JobSettings(
        kind=kind,
        params=params,
        batch_size=_positive("batch_size", batch_size),
        concurrency=_positive("concurrency", concurrency),
        max_retries=_positive("max_retries", max_retries, minimum=0),
        checkpoint=os.fspath(checkpoint) if checkpoint is not None else None,
        fail_fast=bool(fail_fast),
        progress=progress,
        on_progress=on_progress,
        total=total,
    )


def _spawn(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main`` beside the calling task, on asyncio or trio.

    A job's engine must outlive each ``__anext__`` and must not run inside the consumer's
    cancel scope (an async generator cannot hold a task group across its ``yield``); anyio has
    no detached task, so this is the one place that asks which event loop runs.
    """
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
        else:
            trio.lowlevel.spawn_system_task(main)
            return
    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(main())
    _RUNNING.add(task)  # the loop holds tasks weakly: keep each until it is done
    task.add_done_callback(_RUNNING.discard)


_RUNNING: set[asyncio.Task[None]] = set()


class _Runner:
    """The engine running in its own task, and the consumer's end of its output.

    The engine admits a new item only when the consumer has taken one (the window), so a
    consumer that stops pulling stops the sending too, within one window of items.
    """

    def __init__(self, engine: Engine) -> None:
        send: MemoryObjectSendStream[list[BatchItem]]
        receive: MemoryObjectReceiveStream[list[BatchItem]]
        # Unbounded: the window bounds what can be in it.
        send, receive = anyio.create_memory_object_stream[list[BatchItem]](math.inf)
        self._send = send
        self._receive = receive
        self._engine = engine
        self.summary: Optional[BatchSummary] = None
        self._failure: Optional[BaseException] = None
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        _spawn(self._main)

    async def _main(self) -> None:
        try:
            with self._scope, self._send:
                await self._engine.run(self._send)
        except BaseException as exc:  # handed to the consumer, who raises it
            # KeyboardInterrupt or SystemExit too: else the consumer would see a job that ended
            # well with items missing. (Our own cancellation ends inside the scope, not here.)
            self._failure = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            self.summary = self._engine.summary()
            self._done.set()

    def progress(self) -> BatchSummary:
        """What the job has done so far; final once it has ended."""
        return self.summary if self.summary is not None else self._engine.summary()

    async def take(self) -> list[BatchItem]:
        """The next items as soon as there are some; an empty list once the job is over."""
        try:
            items = await self._receive.receive()
        except anyio.EndOfStream:
            await self._done.wait()
            if self._failure is not None:
                raise self._failure from None
            return []
        while True:
            try:
                items += self._receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        self._engine.taken(len(items))
        return items

    async def stop(self) -> None:
        """Cancel the engine if it still runs; finished items stay in the checkpoint."""
        self.abandon()
        await self._done.wait()

    def abandon(self) -> None:
        """Cancel the engine without waiting for it (the consumer is gone)."""
        self._scope.cancel()
        self._receive.close()


class _Items:
    """Iterating a job: a ``break`` then ``aclose()``, or dropping the iterator, stops the job.

    A class rather than an async generator: trio and asyncio then have nothing to finalize
    behind the program's back when a loop breaks early.
    """

    def __init__(self, start: Callable[[], _Runner]) -> None:
        self._start = start
        self._runner: Optional[_Runner] = None
        self._ready: list[BatchItem] = []
        self._next = 0
        self._closed = False

    def __aiter__(self) -> _Items:
        return self

    async def __anext__(self) -> BatchItem:
        if self._next < len(self._ready):
            self._next += 1
            return self._ready[self._next - 1]
        if self._closed:
            raise StopAsyncIteration
        if self._runner is None:
            self._runner = self._start()
        try:
            self._ready = await self._runner.take()
        except BaseException:  # the job's failure, or the consumer cancelled
            self._abandon()
            raise
        if not self._ready:
            await self.aclose()
            raise StopAsyncIteration
        self._next = 1
        return self._ready[0]

    async def aclose(self) -> None:
        """Stop the job; what finished stays in the checkpoint, and ``job.summary`` is final."""
        self._closed = True
        if self._runner is not None:
            await self._runner.stop()

    def _abandon(self) -> None:
        self._closed = True
        if self._runner is not None:
            self._runner.abandon()

    def __del__(self) -> None:
        if not self._closed:
            # Dropped mid-way, outside the loop's thread, or after the loop: nothing to stop then.
            with contextlib.suppress(Exception):
                self._abandon()


class _JobBase:
    def __init__(self, inputs: Inputs, settings: JobSettings) -> None:
        self._inputs = inputs
        self._settings = settings
        self._started = False
        self._runner: Optional[_Runner] = None

    @property
    def summary(self) -> Optional[BatchSummary]:
        """What the job did: final once it ended or was stopped, so far while it runs (say,
        after a ``break``); None before it starts."""
        return None if self._runner is None else self._runner.progress()

    def _claim(self) -> None:
        if self._started:
            raise BabyAPIError(
                "a batch job runs once; create a new job to run the same inputs again "
                "(with a checkpoint, finished items are skipped).",
                code="JOB_ALREADY_STARTED",
            )
        self._started = True


class AsyncBatchJob(_JobBase):
    """A job on the async client: ``async for item in job``, ``as_completed()``, ``run()``."""

    def __init__(self, api: AsyncRequestAPI, inputs: Inputs, settings: JobSettings) -> None:
        super().__init__(inputs, settings)
        self._api = api

    def __aiter__(self) -> AsyncIterator[BatchItem]:
        """Items in input order."""
        return _Items(lambda: self._start(ordered=True, deliver=True))

    def as_completed(self) -> AsyncIterator[BatchItem]:
        """Items as they finish; ``item.index`` says which input each one is."""
        return _Items(lambda: self._start(ordered=False, deliver=True))

    async def results(self) -> list[BatchItem]:
        """Every item, in input order."""
        return [item async for item in self]

    async def run(self) -> BatchSummary:
        """Run to the end without keeping results (they go to the checkpoint, if any)."""
        async for _ in _Items(lambda: self._start(ordered=False, deliver=False)):
            pass
        summary = self.summary
        assert summary is not None
        return summary

    def _start(self, *, ordered: bool, deliver: bool) -> _Runner:
        self._claim()
        engine = Engine(self._api, self._inputs, self._settings, ordered=ordered, deliver=deliver)
        self._runner = _Runner(engine)
        return self._runner


class BatchJob(_JobBase):
    """A job on the sync client: ``for item in job``, ``as_completed()``, ``run()``.

    It runs the async engine on an event loop in a helper thread with an async twin of the
    client (same settings, its own connection pool, closed when the job ends).
    """

    def __init__(self, api: RequestAPI, inputs: Inputs, settings: JobSettings) -> None:
        super().__init__(inputs, settings)
        self._api = api

    def __iter__(self) -> Iterator[BatchItem]:
        """Items in input order."""
        return self._items(ordered=True)

    def as_completed(self) -> Iterator[BatchItem]:
        """Items as they finish; ``item.index`` says which input each one is."""
        return self._items(ordered=False)

    def results(self) -> list[BatchItem]:
        """Every item, in input order."""
        return list(self)

    def run(self) -> BatchSummary:
        """Run to the end without keeping results (they go to the checkpoint, if any)."""
        for _ in self._items(ordered=False, deliver=False):
            pass
        summary = self.summary
        assert summary is not None
        return summary

    def _items(self, *, ordered: bool, deliver: bool = True) -> Iterator[BatchItem]:
        self._claim()
        from anyio.from_thread import start_blocking_portal

        with start_blocking_portal() as portal:
            twin = portal.call(self._twin)
            inner = AsyncBatchJob(twin, self._inputs, self._settings)
            runner = self._runner = portal.call(self._start_inner, inner, ordered, deliver)
            try:
                while True:
                    items = portal.call(runner.take)
                    if not items:
                        break
                    yield from items
            finally:
                portal.call(runner.stop)
                portal.call(twin.aclose)

    async def _twin(self) -> AsyncRequestAPI:
        # The same settings, with a pool of its own bound to this loop.
        return self._api.async_twin()

    @staticmethod
    async def _start_inner(job: AsyncBatchJob, ordered: bool, deliver: bool) -> _Runner:
        return job._start(ordered=ordered, deliver=deliver)


class _BatchBase(Generic[ApiT, JobT]):
    """The job shapes; each returns a lazy job of the client's kind."""

    def __init__(self, api: ApiT) -> None:
        self._api: ApiT = api

    def _job(self, inputs: Inputs, settings: JobSettings) -> JobT:
        raise NotImplementedError

    def _make(
        self,
        kind: str,
        inputs: Inputs,
        model: Optional[str],
        params: dict[str, Any],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = DEFAULT_MAX_RETRIES,
        checkpoint: Optional[PathLike] = None,
        fail_fast: bool = False,
        progress: Optional[bool] = None,
        on_progress: Optional[ProgressCallback] = None,
    ) -> JobT:
        chosen = KINDS[kind]
        default: Optional[str] = getattr(self._api.config, chosen.default_model_setting, None)
        settings = job_settings(
            chosen,
            inputs,
            model=model,
            default_model=default,
            params=params,
            batch_size=batch_size,
            concurrency=concurrency,
            max_retries=max_retries,
            checkpoint=checkpoint,
            fail_fast=fail_fast,
            progress=progress,
            on_progress=on_progress,
        )
        return self._job(inputs, settings)

    def embed(
        self,
        inputs: Inputs,
        *,
        model: Optional[str] = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = DEFAULT_MAX_RETRIES,
        checkpoint: Optional[PathLike] = None,
        fail_fast: bool = False,
        progress: Optional[bool] = None,
        on_progress: Optional[ProgressCallback] = None,
        **params: Any,
    ) -> JobT:
        """Embed every text; ``batch_size`` texts per request, too-large batches split."""
        return self._make(
            "embeddings",
            inputs,
            model,
            params,
            batch_size=batch_size,
            concurrency=concurrency,
            max_retries=max_retries,
            checkpoint=checkpoint,
            fail_fast=fail_fast,
            progress=progress,
            on_progress=on_progress,
        )

    def rerank(
        self,
        groups: Inputs,
        *,
        model: Optional[str] = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = DEFAULT_MAX_RETRIES,
        checkpoint: Optional[PathLike] = None,
        fail_fast: bool = False,
        progress: Optional[bool] = None,
        on_progress: Optional[ProgressCallback] = None,
        **params: Any,
    ) -> JobT:
        """Rerank every ``(query, documents)`` pair (or dict with those keys), one request each."""
        return self._make(
            "rerank",
            groups,
            model,
            params,
            concurrency=concurrency,
            max_retries=max_retries,
            checkpoint=checkpoint,
            fail_fast=fail_fast,
            progress=progress,
            on_progress=on_progress,
        )

    def score(
        self,
        groups: Inputs,
        *,
        model: Optional[str] = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = DEFAULT_MAX_RETRIES,
        checkpoint: Optional[PathLike] = None,
        fail_fast: bool = False,
        progress: Optional[bool] = None,
        on_progress: Optional[ProgressCallback] = None,
        **params: Any,
    ) -> JobT:
        """Score every ``(query, documents)`` group with vLLM's /score, one request each.

        An item's result (``scores``) lists the documents' scores in their order.
        """
        return self._make(
            "score",
            groups,
            model,
            params,
            concurrency=concurrency,
            max_retries=max_retries,
            checkpoint=checkpoint,
            fail_fast=fail_fast,
            progress=progress,
            on_progress=on_progress,
        )

    def chat(
        self,
        requests: Inputs,
        *,
        model: Optional[str] = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = DEFAULT_MAX_RETRIES,
        checkpoint: Optional[PathLike] = None,
        fail_fast: bool = False,
        progress: Optional[bool] = None,
        on_progress: Optional[ProgressCallback] = None,
        **params: Any,
    ) -> JobT:
        """One chat completion per item: a prompt, a message list, or a dict of request fields.

        A read timeout is not retried (the server may still be generating, and would be paid
        twice); other failures are, up to ``max_retries``.
        """
        return self._make(
            "chat",
            requests,
            model,
            params,
            concurrency=concurrency,
            max_retries=max_retries,
            checkpoint=checkpoint,
            fail_fast=fail_fast,
            progress=progress,
            on_progress=on_progress,
        )

    def completions(
        self,
        prompts: Inputs,
        *,
        model: Optional[str] = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_retries: int = DEFAULT_MAX_RETRIES,
        checkpoint: Optional[PathLike] = None,
        fail_fast: bool = False,
        progress: Optional[bool] = None,
        on_progress: Optional[ProgressCallback] = None,
        **params: Any,
    ) -> JobT:
        """One text completion per item: a prompt, or a dict of request fields with ``prompt``."""
        return self._make(
            "completions",
            prompts,
            model,
            params,
            concurrency=concurrency,
            max_retries=max_retries,
            checkpoint=checkpoint,
            fail_fast=fail_fast,
            progress=progress,
            on_progress=on_progress,
        )


class Batch(_BatchBase["RequestAPI", BatchJob]):
    """``client.batch`` on the sync client."""

    def _job(self, inputs: Inputs, settings: JobSettings) -> BatchJob:
        return BatchJob(self._api, inputs, settings)


class AsyncBatch(_BatchBase["AsyncRequestAPI", AsyncBatchJob]):
    """``client.batch`` on the async client."""

    def _job(self, inputs: Inputs, settings: JobSettings) -> AsyncBatchJob:
        return AsyncBatchJob(self._api, inputs, settings)
