"""Terminal detection, colour and tables: styled only for a terminal, plain for pipes."""

from __future__ import annotations

import json
import os
import select
import shutil
import sys
from typing import IO, Any, Mapping, Optional, Sequence

_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def is_terminal(stream: Optional[IO[str]]) -> bool:
    """True when the stream is an interactive terminal."""
    if stream is None:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_color(stream: Optional[IO[str]], environ: Optional[Mapping[str, str]] = None) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def clip(text: str, width: int) -> str:
    """One line of at most ``width`` characters, with an ellipsis when cut."""
    flat = " ".join(text.split())
    if width <= 1 or len(flat) <= width:
        return flat[: max(width, 0)] if width <= 1 else flat
    return flat[: width - 1] + "…"


def _write_all(stream: IO[str], text: str) -> None:
    """Write and flush all of ``text``; a reader that went away raises BrokenPipeError.

    Unbuffered (``python -u``, PYTHONUNBUFFERED), sys.stdout hands big writes straight to
    the pipe and drops what the reader's exit cut off without an error, so the command
    would exit 0 instead of 141. Writing the bytes ourselves sees every short write.
    """
    raw = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if raw is None or not isinstance(encoding, str):
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    if os.linesep != "\n":  # what the text layer would have translated (Windows)
        text = text.replace("\n", os.linesep)
    data = memoryview(text.encode(encoding, getattr(stream, "errors", None) or "strict"))
    while data:
        written = raw.write(data)
        if written is None:  # a non-blocking stream that is full: wait for room
            select.select([], [raw], [], 1.0)
            continue
        data = data[written:]
    raw.flush()


class Output:
    """Where a command writes its results; knows if it may use colour and tables."""

    def __init__(
        self, stream: Optional[IO[str]] = None, environ: Optional[Mapping[str, str]] = None
    ) -> None:
        self.stream: IO[str] = stream if stream is not None else sys.stdout
        self.terminal = is_terminal(self.stream)
        self.color = wants_color(self.stream, environ)
        self._at_line_start = True

    def style(self, text: str, *names: str) -> str:
        """``text`` wrapped in ANSI styles when colour is on."""
        if not self.color or not names:
            return text
        codes = ";".join(_STYLES[name] for name in names)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def write(self, text: str) -> None:
        """Write text as is and flush it, so streamed tokens appear at once."""
        if not text:
            return
        _write_all(self.stream, text)
        self._at_line_start = text.endswith("\n")

    def line(self, text: str = "") -> None:
        """Write one line."""
        self.write(text + "\n")

    def end_line(self) -> None:
        """Finish a partly written line (after streamed text), so the next output starts fresh."""
        if not self._at_line_start:
            self.write("\n")

    def json(self, value: Any) -> None:
        """Machine-readable output: indented for a terminal, one line for a pipe."""
        indent = 2 if self.terminal else None
        self.line(json.dumps(value, indent=indent, ensure_ascii=False))

    def width(self) -> int:
        """Columns of the terminal (80 when unknown)."""
        return shutil.get_terminal_size((80, 24)).columns

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """An aligned table with a header on a terminal; tab-separated rows for a pipe."""
        if not self.terminal:
            for row in rows:
                self.line("\t".join(" ".join(cell.split()) for cell in row))
            return
        cells = [[" ".join(cell.split()) for cell in row] for row in rows]
        widths = [len(h) for h in headers]
        for row in cells:
            for i, cell in enumerate(row[:-1]):
                widths[i] = max(widths[i], len(cell))
        # The last column takes what is left of the terminal and is clipped to it.
        used = sum(widths[:-1]) + 2 * (len(headers) - 1)
        widths[-1] = max(10, self.width() - used - 1)
        header = "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()
        self.line(self.style(header, "bold"))
        for row in cells:
            parts = [cell.ljust(w) for cell, w in zip(row[:-1], widths)]
            parts.append(clip(row[-1], widths[-1]))
            self.line("  ".join(parts).rstrip())
