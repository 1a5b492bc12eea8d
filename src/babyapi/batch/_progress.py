"""Progress of a job: a tqdm bar on a terminal, and a callback for programs."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, NamedTuple, Optional

from babyapi._errors import InvalidArgumentError

__all__ = ["BatchProgress", "ProgressReporter"]


class BatchProgress(NamedTuple):
    """How far a job has come; handed to ``on_progress`` after every request."""

    done: int
    failed: int
    resumed: int
    total: Optional[int]
    elapsed_s: float
    concurrency: int

    @property
    def rate(self) -> float:
        """Items finished per second in this run (resumed items not counted)."""
        return (self.done - self.resumed) / self.elapsed_s if self.elapsed_s > 0 else 0.0


ProgressCallback = Callable[[BatchProgress], None]


def _make_bar(total: Optional[int], show: Optional[bool]) -> Any:
    if show is False or (show is None and not _stderr_is_terminal()):
        return None
    try:
        tqdm = importlib.import_module("tqdm.auto").tqdm
    except ImportError:
        if show is None:
            return None
        raise InvalidArgumentError(
            "progress=True needs tqdm: pip install 'babyapi[progress]'.", code="INVALID_OPTIONS"
        ) from None
    return tqdm(total=total, unit="item", dynamic_ncols=True, file=sys.stderr, smoothing=0.1)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressReporter:
    """Feeds the bar and the callback; the bar appears only on a terminal unless asked."""

    def __init__(
        self,
        total: Optional[int],
        show: Optional[bool],
        callback: Optional[ProgressCallback],
    ) -> None:
        self._bar = _make_bar(total, show)
        self._callback = callback
        self._shown_failed = 0

    def update(self, progress: BatchProgress, newly_done: int) -> None:
        bar = self._bar
        if bar is not None:
            if progress.failed != self._shown_failed:
                self._shown_failed = progress.failed
                bar.set_postfix(failed=progress.failed, refresh=False)
            bar.update(newly_done)
        if self._callback is not None:
            self._callback(progress)

    @property
    def watched(self) -> bool:
        """Whether anyone reads progress (else the engine need not compute it)."""
        return self._bar is not None or self._callback is not None

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
