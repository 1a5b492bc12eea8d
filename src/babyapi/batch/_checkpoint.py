"""Resumable results on disk: a JSONL file of finished items and an index beside it.

The data file holds one JSON object per finished item, ``{"index": i, "<result key>": ...}`` or
``{"index": i, "error": {...}}``, in the order items finished. The index file starts with a header
naming the job (kind, model, parameters) and then lists ``<item index> <input hash>`` for every
line written, so a rerun can tell that it is the same job on the same inputs.

Exactly once, even after SIGKILL: a line is only complete with its newline, and a data line
only counts once the index holds its input hash (data is written first, then the index). A rerun
cuts a torn last line from both files and the data lines whose hash never reached the index, so
an item is done if and only if its complete line and its fingerprint are both on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from array import array
from typing import IO, Any, Mapping, Optional, cast

from babyapi._errors import BabyAPIError

__all__ = ["Checkpoint", "input_hash"]

FORMAT = "babyapi-batch/1"
_INDEX_PREFIX = re.compile(rb'\{"index": (\d+)')
_UNKNOWN = 0


def input_hash(item: Any) -> int:
    """A 63-bit fingerprint of one input item (never 0, which means "unknown")."""
    raw = item.encode() if isinstance(item, str) else _canonical(item).encode()
    value = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big") >> 1
    return value or 1


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _mismatch(path: str, what: str) -> BabyAPIError:
    return BabyAPIError(
        f"the checkpoint {path} was written by a different job ({what}); pass another "
        "checkpoint path, or delete the file and its .index to start over.",
        code="CHECKPOINT_MISMATCH",
    )


def _write_failed(path: str, exc: OSError) -> BabyAPIError:
    return BabyAPIError(
        f"could not write the checkpoint {path} ({exc.strerror or exc}); finished results "
        "written so far are kept, fix the location and run the job again to resume.",
        code="CHECKPOINT_WRITE_FAILED",
        cause=exc,
    )


class Checkpoint:
    """The finished items of one job on disk; opened once per run."""

    def __init__(self, path: str, header: Mapping[str, Any]) -> None:
        self.path = path
        self.index_path = path + ".index"
        # As JSON gives it back: a tuple field (stop=("a", "b")) must compare equal on resume.
        self._header: dict[str, Any] = json.loads(json.dumps({"format": FORMAT, **header}))
        self._offsets = array("q")  # item index -> offset of its line in the data file, or -1
        self._hashes = array("q")  # item index -> input hash recorded for it, or 0
        self._failed: set[int] = set()
        self.done = 0
        self._data: Optional[IO[bytes]] = None
        self._index: Optional[IO[str]] = None
        self._reader: Optional[IO[bytes]] = None

    # -- opening ----------------------------------------------------------------------------

    def open(self) -> None:
        """Load what an earlier run finished, then open both files for appending."""
        try:
            if os.path.exists(self.path):
                if not os.path.isfile(self.path):
                    raise _mismatch(self.path, "it is not a regular file")
                if os.path.getsize(self.path) == 0:
                    # Nothing finished yet (say, the server refused every request): whatever
                    # job wrote the header, this one may start over, with its fix.
                    self._start_index()
                self._check_header()
                self._load_index()
                self._scan_data()
            else:
                self._start_index()
            self._data = open(self.path, "ab")  # noqa: SIM115  (closed by close())
            self._index = open(self.index_path, "a", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            self.close()
            raise _write_failed(self.path, exc) from None

    def _start_index(self) -> None:
        with open(self.index_path, "w", encoding="utf-8") as index:
            index.write(json.dumps(self._header, sort_keys=True) + "\n")

    def _check_header(self) -> None:
        try:
            with open(self.index_path, encoding="utf-8") as index:
                header = json.loads(index.readline() or "null")
        except FileNotFoundError:
            raise _mismatch(self.path, f"it has no {os.path.basename(self.index_path)}") from None
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise _mismatch(self.path, "its index is not a babyapi batch index")
        written = cast("dict[str, Any]", header)
        if written.get("format") != FORMAT:
            raise _mismatch(self.path, "its index is not a babyapi batch index")
        for key, value in self._header.items():
            if written.get(key) != value:
                raise _mismatch(self.path, f"{key} {written.get(key)!r}, not {value!r}")

    def _load_index(self) -> None:
        with open(self.index_path, "r+b") as index:
            offset = len(index.readline())
            for line in index:
                if not line.endswith(b"\n"):
                    break  # torn by a kill: its hash may be cut short, so it says nothing
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                    _put(self._hashes, int(parts[0]), int(parts[1]), _UNKNOWN)
                offset += len(line)
            index.truncate(offset)

    def _scan_data(self) -> None:
        with open(self.path, "r+b") as data:
            offset = 0
            for line in data:
                if not line.endswith(b"\n"):
                    break  # torn by a kill mid-write: the item is not done
                match = _INDEX_PREFIX.match(line)
                if match is not None:
                    index = int(match.group(1))
                    if _get(self._hashes, index, _UNKNOWN) == _UNKNOWN:
                        # Killed between the data and the index write: this line and those
                        # after it were never fingerprinted, so the input they answer is unknown.
                        break
                    if _get(self._offsets, index, -1) < 0:
                        _put(self._offsets, index, offset, -1)
                        self.done += 1
                        if line.startswith(b', "error": ', match.end()):
                            self._failed.add(index)
                offset += len(line)
            data.truncate(offset)

    # -- during the run ---------------------------------------------------------------------

    def finished(self, index: int, item_hash: int) -> bool:
        """Whether an earlier run finished this item; refuses an item whose input changed."""
        if _get(self._offsets, index, -1) < 0:
            return False
        if _get(self._hashes, index, _UNKNOWN) != item_hash:
            raise _mismatch(self.path, f"item {index} is not the input it was written for")
        return True

    def failed_before(self, index: int) -> bool:
        """Whether an earlier run recorded this item as failed."""
        return index in self._failed

    def stored(self, index: int) -> dict[str, Any]:
        """The line an earlier run wrote for this item."""
        if self._reader is None:
            self._reader = open(self.path, "rb")  # noqa: SIM115  (closed by close())
        self._reader.seek(_get(self._offsets, index, -1))
        value: dict[str, Any] = json.loads(self._reader.readline())
        return value

    def write(self, lines: list[tuple[int, int, dict[str, Any]]]) -> None:
        """Append finished items: (index, input hash, line object) each, data before index."""
        assert self._data is not None and self._index is not None
        try:
            self._data.write(b"".join(_encode(line) for _, _, line in lines))
            self._data.flush()
            self._index.write("".join(f"{index} {digest}\n" for index, digest, _ in lines))
            self._index.flush()
        except OSError as exc:
            raise _write_failed(self.path, exc) from None
        self.done += len(lines)

    def close(self) -> None:
        for handle in (self._data, self._index, self._reader):
            if handle is not None:
                # A full disk can fail the last flush; what was flushed before is kept.
                with contextlib.suppress(OSError):
                    handle.close()
        self._data = self._index = self._reader = None


def _encode(line: dict[str, Any]) -> bytes:
    # "index" first, so a rerun finds it without parsing a whole embedding.
    return (json.dumps(line, ensure_ascii=False, separators=(", ", ": ")) + "\n").encode()


def _get(values: array[int], index: int, missing: int) -> int:
    return values[index] if index < len(values) else missing


def _put(values: array[int], index: int, value: int, missing: int) -> None:
    if index >= len(values):
        values.extend([missing] * (index + 1 - len(values)))
    values[index] = value
