"""``babyapi embed|rerank|chat --input F --output F``: a batch job from a JSONL file.

The output file is the job's checkpoint: one JSON line per input item with its zero-based
``index`` and its result (or ``error``); running the same command again resumes the job.
"""

from __future__ import annotations

import json
import sys
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, cast

from babyapi.cli.errors import EXIT_API_ERROR, EXIT_OK, CommandError, UsageError

if TYPE_CHECKING:
    from babyapi.batch import BatchJob
    from babyapi.cli.context import Context

__all__ = ["run_batch"]

Extract = Callable[[Any, int], Any]


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """Numbered non-empty lines of a file ('-' is stdin), read as the job needs them."""
    try:
        handle: IO[str] = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read --input {path}: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _items(path: str, extract: Extract) -> Iterator[Any]:
    for number, line in _lines(path):
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"line {number} of {path} is not JSON ({exc})") from None
        yield extract(value, number)


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


def _as_is(value: Any, number: int) -> Any:
    return value


def _job(ctx: Context, shape: str) -> BatchJob:
    args = ctx.args
    batch = ctx.client.batch
    common: dict[str, Any] = {
        "concurrency": args.concurrency,
        "checkpoint": args.output,
        "progress": False if args.no_progress or ctx.json else None,
    }
    extra = ctx.body_options()
    if shape == "embed":
        if args.dimensions is not None:
            extra["dimensions"] = args.dimensions
        items = _items(args.input, _text_field(args.field, args.input))
        return batch.embed(
            items, model=ctx.model("embed"), batch_size=args.batch_size, **common, **extra
        )
    if shape == "rerank":
        if args.top_n is not None:
            extra["top_n"] = args.top_n
        return batch.rerank(
            _items(args.input, _as_is), model=ctx.model("rerank"), **common, **extra
        )
    items = _items(args.input, _chat_request(args.field, args.input))
    return batch.chat(items, model=ctx.model(), **common, **extra)


def run_batch(ctx: Context, shape: str) -> int:
    """Run the job to the end and print a summary (``--json``: one JSON object)."""
    args = ctx.args
    if not args.output:
        raise UsageError("--input needs --output FILE (it is also the checkpoint to resume from)")
    job = _job(ctx, shape)
    try:
        summary = job.run()
    except KeyboardInterrupt:
        done = job.summary
        kept = (done.succeeded + done.failed) if done is not None else 0
        print(
            f"babyapi {shape}: interrupted; {kept} items are kept in {args.output}, "
            "run the same command again to resume",
            file=sys.stderr,
            flush=True,
        )
        raise
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
    if summary.total == 0:
        raise CommandError(f"nothing to do: {args.input} has no items")
    if summary.failed:
        print(
            f"babyapi {shape}: {summary.failed} items failed; their errors are in {args.output}",
            file=sys.stderr,
        )
        return EXIT_API_ERROR
    return EXIT_OK
