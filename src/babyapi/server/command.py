"""Command-line entry: ``python -m babyapi.server`` and the CLI's ``babyapi serve``.

This module imports nothing heavy, so a CLI can build its parser with
``add_serve_arguments`` without loading Starlette or uvicorn.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from types import ModuleType
from typing import List, Optional

SERVER_EXTRA_HINT = "pip install 'babyapi[server]'"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def load_server_module(module_name: str) -> ModuleType:
    """Import a module that needs the `server` extra, or explain how to install it."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in ("starlette", "uvicorn"):
            raise
        raise ImportError(
            f"the local BabyAPI server needs Starlette and uvicorn: {SERVER_EXTRA_HINT}"
        ) from exc


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --host, --port, --api-key, --max-body-bytes and --log-level to a parser."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="require `Authorization: Bearer KEY` (default: no key; "
        "env BABYAPI_SERVER_API_KEY also works, and keeps the key out of `ps`)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=1_048_576,
        help="refuse request bodies larger than this with 413 (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="warning", help="uvicorn log level"
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Serve with parsed arguments until interrupted; return the exit status.

    Exit status: 1 without the server extra, 2 for a bad option, 3 when the address cannot
    be bound (in use, not permitted, unknown host); the banner is printed only once bound.
    """
    try:
        runner = load_server_module("babyapi.server.runner")
    except ImportError as exc:
        print(f"babyapi serve: {exc}", file=sys.stderr)
        return 1
    if not 0 <= args.port <= 65535:
        print(f"babyapi serve: error: --port must be 0 to 65535, got {args.port}", file=sys.stderr)
        return 2
    if args.max_body_bytes < 1:
        print("babyapi serve: error: --max-body-bytes must be at least 1", file=sys.stderr)
        return 2
    api_key = args.api_key or os.environ.get("BABYAPI_SERVER_API_KEY") or None
    try:
        sock = runner.bind(args.host, args.port)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        print(f"babyapi serve: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 3
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    access = (
        "clients must send that API key"
        if api_key
        else "no API key needed: clients may send any non-empty key"
    )
    print(
        f"BabyAPI local server on http://{host}:{port} ({access}) - Ctrl+C to stop",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn handles Ctrl+C itself; this only covers one arriving during start-up.
    with contextlib.suppress(KeyboardInterrupt):
        runner.serve(
            args.host,
            port,
            api_key,
            args.log_level,
            max_body_bytes=args.max_body_bytes,
            sock=sock,
        )
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m babyapi.server``."""
    parser = argparse.ArgumentParser(
        prog="python -m babyapi.server",
        description="Run a local BabyAPI server (no network, no GPU).",
    )
    add_serve_arguments(parser)
    return run_from_args(parser.parse_args(argv))
