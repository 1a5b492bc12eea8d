"""The ``babyapi`` command: chat, infer, complete, embed, rerank, models and serve.

Start-up time matters, so this module imports only argparse; the client is
imported when a command runs, and ``babyapi.server`` only when ``serve`` runs.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Callable, List, Optional

if TYPE_CHECKING:
    import argparse

    from babyapi.cli.parser import Parsers

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while starting up is as quiet as one later
        from babyapi.cli.errors import EXIT_INTERRUPTED

        return EXIT_INTERRUPTED


def _main(argv: Optional[List[str]]) -> int:
    from babyapi.cli.parser import build_parser

    parser, parsers = build_parser()
    args, extra = parser.parse_known_args(argv)
    command: Optional[str] = args.command
    if command is None:
        parser.print_help(sys.stderr)
        return 2
    if command != "serve" and extra:
        parsers[command].error(f"unrecognized arguments: {' '.join(extra)}")
    return _run(args, extra, parsers)


def _run(args: argparse.Namespace, extra: List[str], parsers: Parsers) -> int:
    from babyapi.cli import errors
    from babyapi.cli.output import Output

    debug = bool(getattr(args, "debug", False))
    out = Output(sys.stdout)
    ctx = None
    try:
        if args.command == "serve":
            from babyapi.cli.commands import serve

            return serve(extra)
        from babyapi.cli.commands import COMMANDS
        from babyapi.cli.context import Context

        ctx = Context(args, out)
        return COMMANDS[args.command](ctx)
    except KeyboardInterrupt:
        _quietly(out.end_line)
        return errors.EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return errors.EXIT_BROKEN_PIPE
    except errors.UsageError as exc:
        parsers[args.command].print_usage(sys.stderr)
        _fail(f"babyapi {args.command}: error: {exc}", debug)
        return errors.EXIT_USAGE
    except errors.CommandError as exc:
        _fail(f"babyapi: {exc}", debug)
        return errors.EXIT_API_ERROR
    except Exception as exc:
        from babyapi import BabyAPIError

        _quietly(out.end_line)
        if isinstance(exc, BabyAPIError):
            base_url = ctx.base_url() if ctx is not None else None
            _fail(errors.describe_error(exc, action=args.command, base_url=base_url), debug)
            return errors.exit_code_for(exc)
        _fail(
            f"babyapi: {args.command} failed unexpectedly: {type(exc).__name__}: {exc}"
            + ("" if debug else " (run with --debug for the traceback)"),
            debug,
        )
        return errors.EXIT_API_ERROR
    finally:
        if ctx is not None:
            _quietly(ctx.close)


def _fail(message: str, debug: bool) -> None:
    """The one-line error on stderr; the traceback first when --debug is on."""
    if debug:
        import traceback

        traceback.print_exc()
    print(message, file=sys.stderr, flush=True)


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        action()


def _silence_stdout() -> None:
    # Python would report the broken pipe again when it flushes stdout at exit.
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
