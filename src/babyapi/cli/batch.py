"""``babyapi embed|rerank|chat --input F --output F``: a batch job from a JSONL file.

The output file is the job's checkpoint: one JSON line per input item with its zero-based
``index`` and its result (or ``error``); running the same command again resumes the job.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections import Counter
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Optional,
    cast,
)

from babyapi.cli.errors import EXIT_API_ERROR, EXIT_OK, UsageError, describe_error

if TYPE_CHECKING:
    from babyapi import BabyAPIError
    from babyapi.batch import BatchItem, BatchJob, BatchSummary
    from babyapi.cli.context import Context

__all__ = ["run_batch"]

Extract = Callable[[Any, int], Any]

# Where a plain-text file goes instead, per command (chat has no --file).
_PLAIN_TEXT = {
    "embed": "; or embed it directly with --file F",
    "rerank": "; or rank its lines as documents with QUERY --file F",
    "chat": "",
}
_SHOWN_REASONS = 3  # distinct failure reasons printed; the rest are in the output file
_KEPT_ERROR = re.compile(rb'\{"index": \d+, "error": ')


class _Input:
    """The numbered non-empty lines of --input, readable twice: once to check, once to send.

    Standard input ('-') can be read only once, so its lines are kept in memory.
    """

    def __init__(self, path: str, shape: str) -> None:
        self.path = path
        self.shape = shape
        self._kept: Optional[list[str]] = list(sys.stdin) if path == "-" else None

    def lines(self) -> Iterator[tuple[int, str]]:
        if self._kept is not None:
            return _numbered(self._kept)
        try:
            handle = open(self.path, encoding="utf-8")  # noqa: SIM115  (closed by _numbered)
        except OSError as exc:
            raise UsageError(f"cannot read --input {self.path}: {exc.strerror or exc}") from None
        return _numbered(handle, handle)

    def not_json(self, number: int, exc: ValueError) -> UsageError:
        return UsageError(
            f"line {number} of {self.path} is not JSON ({exc}): --input takes JSON lines such "
            'as "a text" or {"text": "a text"}. For a plain-text file with one text per line, '
            f"convert it first (jq -R . {self.path} > texts.jsonl){_PLAIN_TEXT[self.shape]}"
        )


def _numbered(lines: Iterable[str], handle: Optional[IO[str]] = None) -> Iterator[tuple[int, str]]:
    with handle if handle is not None else contextlib.nullcontext():
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, line


def _items(source: _Input, extract: Extract) -> Iterator[Any]:
    for number, line in source.lines():
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise source.not_json(number, exc) from None
        yield extract(value, number)


def _check_input(source: _Input, extract: Extract) -> None:
    """Read every line before the job starts, so a usage error leaves no output file behind."""
    if sum(1 for _ in _items(source, extract)) == 0:
        raise UsageError(f"nothing to do: --input {source.path} has no items")


def _check_output(path: str) -> None:
    """An --output that cannot be a file is a usage error, found before anything is sent."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write --output {path}: the folder {folder} does not exist")
    if os.path.exists(path) and not os.path.isfile(path):
        raise UsageError(f"cannot write --output {path}: it is not a regular file")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write --output {path}: permission denied")


def _text_field(field: str, path: str) -> Extract:
    def extract(value: Any, number: int) -> Any:
        if not isinstance(value, dict):
            return value
        fields = cast("dict[str, Any]", value)
        if field not in fields:
            raise UsageError(
                f'line {number} of {path} has no "{field}" field; pick the field with --field'
            )
        return fields[field]

    return extract


def _chat_request(field: str, path: str) -> Extract:
    text = _text_field(field, path)

    def extract(value: Any, number: int) -> Any:
        if isinstance(value, dict) and "messages" in value:
            return cast("dict[str, Any]", value)
        return text(value, number)

    return extract


def _rerank_group(path: str) -> Extract:
    def extract(value: Any, number: int) -> Any:
        if isinstance(value, dict) and {"query", "documents"} <= value.keys():
            return cast("dict[str, Any]", value)
        pair = cast("list[object]", value) if isinstance(value, list) else None
        if pair is not None and len(pair) == 2:
            return pair  # [query, documents], as the Python API takes it
        raise UsageError(
            f"line {number} of {path} is not a rerank group: each line is an object such as "
            '{"query": "a question", "documents": ["a text", "another"]} '
            '(or a pair ["a question", ["a text", "another"]])'
        )

    return extract


def _extract(ctx: Context, shape: str) -> Extract:
    args = ctx.args
    if shape == "embed":
        return _text_field(args.field, args.input)
    if shape == "rerank":
        return _rerank_group(args.input)
    return _chat_request(args.field, args.input)


def _job(ctx: Context, shape: str, items: Iterator[Any]) -> BatchJob:
    args = ctx.args
    batch = ctx.client.batch
    common: dict[str, Any] = {
        "concurrency": args.concurrency,
        "checkpoint": args.output,
        "progress": False if args.no_progress or ctx.json else None,
    }
    if ctx.option("max_retries") is not None:  # else the job's own default, which is higher
        common["max_retries"] = ctx.option("max_retries")
    extra = ctx.body_options()
    if shape == "embed":
        if args.dimensions is not None:
            extra["dimensions"] = args.dimensions
        return batch.embed(
            items, model=ctx.model("embed"), batch_size=args.batch_size, **common, **extra
        )
    if shape == "rerank":
        if args.top_n is not None:
            extra["top_n"] = args.top_n
        return batch.rerank(items, model=ctx.model("rerank"), **common, **extra)
    return batch.chat(items, model=ctx.model(), **common, **extra)


class _Failures:
    """The items that failed in this run, grouped by reason, to say what happened."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.first: dict[str, BabyAPIError] = {}

    def add(self, error: BabyAPIError) -> None:
        reason = f"{error.code} {error.status} {error.message}"
        self.count[reason] += 1
        self.first.setdefault(reason, error)

    def describe(self, shape: str, base_url: str) -> list[str]:
        lines: list[str] = []
        for reason, count in self.count.most_common(_SHOWN_REASONS):
            items = "1 item" if count == 1 else f"{count} items"
            action = f"{shape} of {items}"
            lines.append(describe_error(self.first[reason], action=action, base_url=base_url))
        others = len(self.count) - _SHOWN_REASONS
        if others > 0:
            lines.append(f"babyapi {shape}: and {others} other reasons")
        return lines


def _kept_failures(path: str) -> int:
    """How many failed items the output file records (a failure that may pass is not kept)."""
    try:
        with open(path, "rb") as data:
            return sum(1 for line in data if _KEPT_ERROR.match(line))
    except OSError:
        return 0


def _where_failures_are(failed: int, kept: int, output: str) -> str:
    if kept >= failed:
        return f"their errors are in {output}"
    rerun = "run the same command again to retry them"
    if kept == 0:
        return f"none is kept in {output}: {rerun}"
    return (
        f"{kept} are kept in {output} with their error; the other {failed - kept} are not: {rerun}"
    )


def _run(job: BatchJob, failures: _Failures, shape: str, output: str) -> BatchSummary:
    try:
        # Closed at once on Ctrl-C, so the job stops and its summary is known.
        with contextlib.closing(
            cast("Generator[BatchItem, None, None]", job.as_completed())
        ) as items:
            for item in items:
                if item.error is not None and not item.resumed:
                    failures.add(item.error)
    except KeyboardInterrupt:
        done = job.summary
        kept = (done.succeeded + done.failed) if done is not None else 0
        print(
            f"babyapi {shape}: interrupted; {kept} items are kept in {output}, "
            "run the same command again to resume",
            file=sys.stderr,
            flush=True,
        )
        raise
    assert job.summary is not None
    return job.summary


def run_batch(ctx: Context, shape: str) -> int:
    """Run the job to the end and print a summary (``--json``: one JSON object)."""
    args = ctx.args
    if not args.output:
        raise UsageError("--input needs --output FILE (it is also the checkpoint to resume from)")
    _check_output(args.output)
    source = _Input(args.input, shape)
    extract = _extract(ctx, shape)
    _check_input(source, extract)
    failures = _Failures()
    summary = _run(_job(ctx, shape, _items(source, extract)), failures, shape, args.output)
    report = summary._asdict()
    if ctx.json:
        ctx.out.json(report)
    else:
        resumed = f", {summary.resumed} from an earlier run" if summary.resumed else ""
        ctx.out.write(
            f"{summary.succeeded} of {summary.total} items done{resumed}, {summary.failed} "
            f"failed, in {summary.elapsed_s:.1f}s -> {args.output}"
        )
        ctx.out.end_line()
    if not summary.failed:
        return EXIT_OK
    where = _where_failures_are(summary.failed, _kept_failures(args.output), args.output)
    print(f"babyapi {shape}: {summary.failed} items failed; {where}", file=sys.stderr)
    for line in failures.describe(shape, ctx.base_url()):
        print(line, file=sys.stderr)
    return EXIT_API_ERROR
