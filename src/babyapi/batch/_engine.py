"""The batch engine: many items through one async client, bounded, adaptive and resumable.

One task reads the inputs and groups them into requests, queued for a pool of workers, one per
request that may be in flight; a worker sends its next request as soon as its last one is
done, in the same turn of the event loop, while the adaptive limit admits it. Finished items
are written to the checkpoint, counted, and handed to the consumer through a bounded stream, in
input order when asked. A window of admitted-but-undelivered items holds memory flat however
long the input is.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    NamedTuple,
    Optional,
    Union,
    cast,
)

import anyio

from babyapi._call import decide_after_error
from babyapi._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BabyAPIError,
    error_class,
)
from babyapi._retry import read_timeout_is_retryable, status_is_retryable
from babyapi.batch._checkpoint import Checkpoint, input_hash
from babyapi.batch._kinds import Kind
from babyapi.batch._limit import AdaptiveLimit, Window
from babyapi.batch._progress import BatchProgress, ProgressCallback, ProgressReporter
from babyapi.batch._rejection import JobWide, Line, is_rejection

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectSendStream

    from babyapi._request_api import AsyncRequestAPI

__all__ = ["BatchItem", "BatchSummary", "Engine", "JobSettings"]

Inputs = Union[Iterable[Any], AsyncIterable[Any]]

# Errors that say nothing about an item: every other item would meet them too.
_FATAL_STATUSES = frozenset({401, 403, 404, 405})
_FATAL_CODES = frozenset(
    {"API_KEY_REQUIRED", "MODEL_REQUIRED", "CLIENT_CLOSED", "INVALID_REQUEST_OPTIONS"}
)
# Statuses that mean "too much at once": slow the whole job down.
_OVERLOAD_STATUSES = frozenset({429, 503})
# Statuses a too-large batch gets; a batch of several is split and tried again.
_SPLIT_STATUSES = frozenset({400, 413, 422})


@dataclass(frozen=True)
class BatchItem:
    """The outcome of one input item: its ``result``, or the ``error`` that ended it."""

    index: int
    result: Any = None
    error: Optional[BabyAPIError] = None
    #: True when an earlier run finished it and the result was read back from the checkpoint.
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


class BatchSummary(NamedTuple):
    """What a finished job did."""

    total: int
    succeeded: int
    failed: int
    resumed: int
    requests: int
    retries: int
    elapsed_s: float
    lowest_concurrency: int
    checkpoint: Optional[str]


class JobSettings(NamedTuple):
    """A job as the user described it, checked when it was created."""

    kind: Kind
    params: Mapping[str, Any]
    batch_size: int
    concurrency: int
    max_retries: int
    checkpoint: Optional[str]
    fail_fast: bool
    progress: Optional[bool]
    on_progress: Optional[ProgressCallback]
    total: Optional[int]


class _Verdict:
    FATAL = "fatal"
    OVERLOAD = "overload"
    RETRY = "retry"
    SPLIT = "split"
    ITEM = "item"


_TRANSIENT = (_Verdict.RETRY, _Verdict.OVERLOAD)


def _verdict(error: BabyAPIError, kind: Kind, batch_len: int) -> str:
    if isinstance(error, APIStatusError) and error.status is not None:
        status = error.status
        headers: Mapping[str, str] = error.response.headers if error.response is not None else {}
        if status in _FATAL_STATUSES:
            return _Verdict.FATAL
        if status in _OVERLOAD_STATUSES:
            return _Verdict.OVERLOAD
        if status_is_retryable(status, headers):
            return _Verdict.RETRY
        if status in _SPLIT_STATUSES and batch_len > 1:
            return _Verdict.SPLIT
        return _Verdict.ITEM
    if isinstance(error, APITimeoutError):
        retryable = read_timeout_is_retryable("POST", kind.path, None)
        return _Verdict.RETRY if retryable else _Verdict.ITEM
    if isinstance(error, APIConnectionError):
        return _Verdict.RETRY
    return _Verdict.FATAL if error.code in _FATAL_CODES else _Verdict.ITEM


def _stored_error(line: Mapping[str, Any]) -> BabyAPIError:
    """An item failure as an earlier run recorded it, of the class it had then."""
    recorded = line.get("error")
    failure: Mapping[str, Any] = (
        cast("Mapping[str, Any]", recorded) if isinstance(recorded, Mapping) else {}
    )
    status = failure.get("status")
    code = failure.get("code")
    return error_class(failure.get("name"))(
        str(failure.get("message") or "failed in an earlier run"),
        code=code if isinstance(code, str) else None,
        status=status if isinstance(status, int) else None,
    )


def _at(error: BabyAPIError, index: int) -> BabyAPIError:
    """The item's error, saying which item it was (for fail_fast)."""
    error.message = f"item {index}: {error.message}"
    error.args = (error.message,)
    return error


class Engine:
    """One run of one job."""

    def __init__(
        self,
        api: AsyncRequestAPI,
        inputs: Inputs,
        settings: JobSettings,
        *,
        ordered: bool,
        deliver: bool,
    ) -> None:
        self._api = api
        self._inputs = inputs
        self._settings = settings
        self._kind = settings.kind
        self._ordered = ordered
        self._deliver_items = deliver
        self._monotonic = api.clocks.monotonic
        self._sleep: Callable[[float], Awaitable[None]] = api.sleep
        self._limit = AdaptiveLimit(settings.concurrency)
        group = settings.batch_size if self._kind.batched else 1
        self._group = group
        # Room for every worker's request, a second round queued behind them, and one partial
        # group (memory stays flat: the reader waits while the window is full).
        self._window = Window(group * (2 * settings.concurrency + 1))
        self._pending: list[tuple[int, int, Any]] = []
        self._waiting: dict[int, BatchItem] = {}
        self._next = 0
        # Requests read but not yet sent, the workers started, those waiting for a request.
        self._queue: deque[list[tuple[int, int, Any]]] = deque()
        self._workers = 0
        self._idle = 0
        self._fed: Optional[anyio.Event] = None
        self._read_all = False
        self._checkpoint = (
            Checkpoint(settings.checkpoint, self._header()) if settings.checkpoint else None
        )
        self._failure: Optional[BaseException] = None
        self._tasks: Optional[TaskGroup] = None
        self._out: Optional[MemoryObjectSendStream[list[BatchItem]]] = None
        self._transient_in_a_row = 0
        self._job_wide = JobWide()
        self._wire = self._kind.wire(settings.params)
        self._abort_after = max(8, 2 * settings.concurrency)
        self.seen = self.succeeded = self.failed = self.resumed = 0
        self.requests = self.retries = 0
        self._started = 0.0
        self._progress: Optional[ProgressReporter] = None

    def _header(self) -> dict[str, Any]:
        return {"kind": self._kind.name, "params": dict(self._settings.params)}

    async def run(self, out: MemoryObjectSendStream[list[BatchItem]]) -> BatchSummary:
        """Process every item, sending outcomes to ``out``; raises what stopped the job."""
        self._out = out
        self._started = self._monotonic()
        if self._checkpoint is not None:
            self._checkpoint.open()
        settings = self._settings
        self._progress = ProgressReporter(settings.total, settings.progress, settings.on_progress)
        try:
            async with anyio.create_task_group() as tasks:
                self._tasks = tasks
                try:
                    await self._read()
                except Exception as error:  # the inputs' own errors too: the job stops cleanly
                    self._stop(error)
                finally:
                    self._read_all = True
                    self._wake_idle()
                    self._limit.wake()
            if self._failure is not None:
                raise self._failure
            self._record(self._job_wide.remaining())
        finally:
            if self._checkpoint is not None:
                self._checkpoint.close()
            self._progress.close()
        return self.summary()

    def summary(self) -> BatchSummary:
        return BatchSummary(
            total=self.seen,
            succeeded=self.succeeded,
            failed=self.failed,
            resumed=self.resumed,
            requests=self.requests,
            retries=self.retries,
            elapsed_s=self._monotonic() - self._started,
            lowest_concurrency=self._limit.lowest,
            checkpoint=self._settings.checkpoint,
        )

    # -- reading -----------------------------------------------------------------------------

    async def _read(self) -> None:
        """Read the inputs into queued requests, while the window has room."""
        inputs = self._inputs
        window = self._window
        if isinstance(inputs, AsyncIterable):
            index = 0
            async for item in inputs:
                if window.full:
                    await window.wait_for_room()
                if self._failure is not None:
                    return
                self._admit(index, item)
                index += 1
        else:
            # A plain loop: no generator or anyio call per item (they were most of the
            # engine's own cost per embedding input).
            for index, item in enumerate(inputs):
                if window.full:
                    await window.wait_for_room()
                if self._failure is not None:
                    return
                self._admit(index, item)
        if self._pending:
            self._queue.append(self._pending)
            self._pending = []
            self._feed()

    def _admit(self, index: int, item: Any) -> None:
        """One input read: resumed from the checkpoint, failed as unsendable, or queued."""
        self._window.admit()
        self.seen += 1
        checkpoint = self._checkpoint
        digest = input_hash(item) if checkpoint is not None else 0
        if checkpoint is not None and checkpoint.finished(index, digest):
            self._resume(index)
            return
        try:
            prepared = self._kind.prepare(item)
        except BabyAPIError as error:
            self._finish([(index, digest, item)], None, error, judged=True)
            return
        pending = self._pending
        pending.append((index, digest, prepared))
        if len(pending) >= self._group:
            self._queue.append(pending)
            self._pending = []
            self._feed()

    # -- requests ----------------------------------------------------------------------------

    def _feed(self) -> None:
        """A request is queued: wake an idle worker, or start one while there are fewer than
        the job's concurrency (a job of three items starts no sixteen workers)."""
        if self._idle:
            self._wake_idle()
        elif self._workers < self._limit.maximum:
            assert self._tasks is not None
            self._tasks.start_soon(self._work, self._workers)
            self._workers += 1

    def _wake_idle(self) -> None:
        if self._fed is not None:
            self._fed.set()
            self._fed = None

    async def _work(self, worker: int) -> None:
        """Worker number ``worker``: the queued requests, one at a time, while it is admitted."""
        limit = self._limit
        try:
            while True:
                if not limit.admits(worker) and not await self._admitted(worker):
                    return
                batch = self._queue.popleft() if self._queue else await self._next_batch()
                if batch is None:
                    return
                if self._read_all and not self._queue:
                    limit.wake()  # the workers waiting for room have nothing left to do
                await self._attempt(batch, limit.start())
        except Exception as error:  # a callback's error too; never a bare task-group error
            self._stop(error)

    async def _admitted(self, worker: int) -> bool:
        """Wait while the limit keeps ``worker`` out; False once no work is left for it."""
        limit = self._limit
        while not limit.admits(worker):
            if self._read_all and not self._queue:
                return False
            await limit.changed()
        return True

    async def _next_batch(self) -> Optional[list[tuple[int, int, Any]]]:
        """Wait for the reader to queue a request; None once every input has been read."""
        while not self._queue:
            if self._read_all:
                return None
            if self._fed is None:
                self._fed = anyio.Event()
            self._idle += 1
            try:
                await self._fed.wait()
            finally:
                self._idle -= 1
        return self._queue.popleft()

    async def _attempt(self, batch: list[tuple[int, int, Any]], sequence: int) -> None:
        retries = 0
        while True:
            await self._pause()
            outcome = await self._send(batch)
            if not isinstance(outcome, BabyAPIError):
                self._limit.succeeded()
                self._finish(batch, outcome, None, judged=True)
                return
            error = outcome
            if self._wire is not self._settings.params and self._kind.refused(error, self._wire):
                self._wire = self._settings.params  # the server wants the fields as given
                continue
            verdict = _verdict(error, self._kind, len(batch))
            if verdict == _Verdict.FATAL:
                raise error
            if verdict == _Verdict.SPLIT:
                self._judge_job()
                middle = len(batch) // 2
                await self._attempt(batch[:middle], sequence)
                await self._attempt(batch[middle:], sequence)
                return
            wait = self._retry_wait(error, retries) if verdict in _TRANSIENT else None
            if wait is not None:
                self._judge_job()
                if verdict == _Verdict.OVERLOAD:
                    self._limit.overloaded(sequence, self._monotonic() + wait)
                retries += 1
                self.retries += 1
                await self._sleep(wait)
                continue
            self._finish(batch, None, error, judged=verdict == _Verdict.ITEM)
            return

    async def _send(self, batch: list[tuple[int, int, Any]]) -> Union[list[Any], BabyAPIError]:
        """One request for the batch: one result per item, or the error that ended it."""
        await self._job_wide.before_send()
        self.requests += 1
        try:
            return await self._kind.call(self._api, [item for _, _, item in batch], self._wire)
        except BabyAPIError as error:
            return error
        finally:
            self._job_wide.after_send()

    def _judge_job(self) -> None:
        """End the job if every request so far was rejected alike (see ``_rejection``)."""
        error = self._job_wide.verdict()
        if error is not None:
            raise error

    def _retry_wait(self, error: BabyAPIError, retries: int) -> Optional[float]:
        """Seconds to wait before sending again, or None: the client's own retry rule decides,
        and a retry is spent from the client's retry budget as its own calls spend it."""
        api = self._api
        decision = decide_after_error(
            error,
            "POST",
            self._kind.path,
            retries_done=retries,
            max_retries=self._settings.max_retries,
            base_delay_s=api.config.retry_base_delay_s,
            clocks=api.clocks,
            ledger=api.retry_ledger,
        )
        return decision.wait_s if decision.retry else None

    async def _pause(self) -> None:
        wait = self._limit.pause_until - self._monotonic()
        if wait > 0:
            await self._sleep(wait)

    def _stop(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

    # -- finishing ---------------------------------------------------------------------------

    def _finish(
        self,
        batch: list[tuple[int, int, Any]],
        results: Optional[list[Any]],
        error: Optional[BabyAPIError],
        *,
        judged: bool,
    ) -> None:
        """Record, count and deliver finished items; ``judged`` failures are final on rerun."""
        count = len(batch)
        if results is not None:
            self.succeeded += count
            self._transient_in_a_row = 0
            held = self._job_wide.succeeded()
            if self._checkpoint is not None:
                self._record(held + self._lines(batch, results, None))
        else:
            assert error is not None
            self.failed += count
            self._transient_in_a_row = 0 if judged else self._transient_in_a_row + 1
            if judged:
                self._record_failure(error, self._lines(batch, None, error))
        self._report(count)
        if error is not None:
            self._check_failure(error, batch[0][0])
        if self._deliver_items:
            if results is not None:
                items = [BatchItem(index, result) for (index, _, _), result in zip(batch, results)]
            else:
                items = [BatchItem(index, None, error) for index, _, _ in batch]
            self._deliver(items)
        else:
            self.taken(count)
        self._judge_job()

    def _lines(
        self,
        batch: list[tuple[int, int, Any]],
        results: Optional[list[Any]],
        error: Optional[BabyAPIError],
    ) -> list[Line]:
        """The checkpoint lines of finished items (none without a checkpoint)."""
        if self._checkpoint is None:
            return []
        if results is not None:
            key = self._kind.result_key
            return [
                (index, digest, {"index": index, key: result})
                for (index, digest, _), result in zip(batch, results)
            ]
        assert error is not None
        failure = {
            "message": error.message,
            "code": error.code,
            "status": error.status,
            "name": error.name,
        }
        return [(index, digest, {"index": index, "error": failure}) for index, digest, _ in batch]

    def _record_failure(self, error: Optional[BabyAPIError], lines: list[Line]) -> None:
        """A final failure; one that may be a rejection of the whole job waits (_rejection)."""
        if error is not None and is_rejection(error) and not self._settings.fail_fast:
            held, earlier = self._job_wide.rejected(error, lines)
            self._record(earlier if held else earlier + lines)
        else:
            self._record(lines)

    def _record(self, lines: list[Line]) -> None:
        if self._checkpoint is not None and lines:
            self._checkpoint.write(lines)

    def _check_failure(self, error: BabyAPIError, index: int) -> None:
        if self._settings.fail_fast:
            raise _at(error, index)
        if self._transient_in_a_row >= self._abort_after:
            where = (
                f"; finished results are kept in {self._settings.checkpoint}"
                if self._checkpoint
                else ""
            )
            raise BabyAPIError(
                f"the job stopped: {self._transient_in_a_row} requests in a row failed after "
                f"their retries (last: {error.message}){where}. Check the server, then run the "
                "job again" + (" to resume." if self._checkpoint else "."),
                code="BATCH_ABORTED",
                cause=error,
            )

    def _resume(self, index: int) -> None:
        assert self._checkpoint is not None
        self.resumed += 1
        item = BatchItem(index, None, None, resumed=True)
        if self._checkpoint.failed_before(index):
            self.failed += 1
            item = replace(item, error=_stored_error(self._checkpoint.stored(index)))
        else:
            self.succeeded += 1
            if self._deliver_items:
                stored = self._checkpoint.stored(index)
                item = replace(item, result=stored.get(self._kind.result_key))
        self._report(1)
        self._deliver([item])

    def _report(self, newly_done: int) -> None:
        assert self._progress is not None
        if not self._progress.watched:
            return
        progress = BatchProgress(
            done=self.succeeded + self.failed,
            failed=self.failed,
            resumed=self.resumed,
            total=self._settings.total,
            elapsed_s=self._monotonic() - self._started,
            concurrency=self._limit.current,
        )
        self._progress.update(progress, newly_done)

    def _deliver(self, items: list[BatchItem]) -> None:
        """Hand finished items to the consumer (in input order when asked); their place in the
        window frees once the consumer takes them (``taken``)."""
        if not self._deliver_items:
            self.taken(len(items))
            return
        assert self._out is not None
        if self._ordered:
            for item in items:
                self._waiting[item.index] = item
            items = []
            while self._next in self._waiting:
                items.append(self._waiting.pop(self._next))
                self._next += 1
        if items:
            self._out.send_nowait(items)

    def taken(self, count: int) -> None:
        """The consumer took ``count`` items: as many new ones may be read."""
        self._window.free(count)
