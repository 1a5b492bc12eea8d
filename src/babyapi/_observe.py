"""Observers: what a client tells about each call as it goes, for usage counts and tracing.

The core defines the interface and calls it; what observers do with it (count tokens, make
OpenTelemetry spans) lives in their own modules, which the core never imports. An observer
that fails is logged once and ignored: watching a call never changes what the call returns
or raises. With no observer attached, the client skips all of this.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Optional, Union

import httpx

from babyapi._wire import Response

if TYPE_CHECKING:
    from babyapi._retry import Decision

__all__ = ["Answer", "CallInfo", "CallWatch", "Observer", "Watch", "is_cancellation"]

logger = logging.getLogger("babyapi")

Outcome = Union[Response, BaseException, None]
Fold = Callable[[], Optional[Mapping[str, Any]]]


class CallInfo(NamedTuple):
    """What an observer may know about a call; never the API key."""

    method: str
    url: httpx.URL
    path: str
    body: Optional[Mapping[str, Any]]
    stream: bool
    request_id: str

    @property
    def model(self) -> Optional[str]:
        model = self.body.get("model") if self.body is not None else None
        return model if isinstance(model, str) else None


class CallWatch:
    """Follows one call; every method does nothing unless a subclass says otherwise.

    A call ends with exactly one of ``succeeded``, ``failed``, ``cancelled`` or, for a
    stream its reader stopped reading, ``closed_early``, each given the Answer: what arrived.
    """

    __slots__ = ()

    def sending(self, retries: int) -> Optional[Mapping[str, str]]:
        """An attempt is about to be sent; headers returned go with it (the caller's own win)."""
        return None

    def routed(self, url: httpx.URL) -> None:
        """The next attempt goes to ``url`` (clients of several servers only; before ``sending``)."""

    def attempt_ended(self, retries: int, outcome: Outcome, decision: Optional[Decision]) -> None:
        """An attempt got a response or a transport error; ``decision`` is None on success."""

    def stream_opened(self, response: Response) -> None:
        """A stream's response headers arrived with a 2xx status; events follow."""

    def first_event(self) -> None:
        """A stream's first data event arrived."""

    def succeeded(self, answer: Answer) -> None:
        """The call returned its answer, or a stream reached its end."""

    def failed(self, error: BaseException, answer: Answer) -> None:
        """The call raised ``error``."""

    def cancelled(self, answer: Answer) -> None:
        """The call was interrupted (task cancelled, KeyboardInterrupt) before it ended."""

    def closed_early(self, answer: Answer) -> None:
        """The stream was closed, or dropped, before its last event."""


class Observer:
    """Watches a client's calls: ``watch`` returns a CallWatch for one call, or None to skip it."""

    _failure_logged = False

    def watch(self, call: CallInfo) -> Optional[CallWatch]:
        return None


def is_cancellation(error: BaseException) -> bool:
    """A cancelled task (asyncio, trio), a Ctrl-C or a closed generator, not a failure of the call."""
    return isinstance(error, (KeyboardInterrupt, GeneratorExit)) or type(error).__name__ in (
        "CancelledError",
        "Cancelled",
    )


def _nothing() -> None:
    return None


class Answer:
    """What a call received, folded on first demand, once, and never raising: the JSON answer,
    or a stream's chunks shaped like one (None when nothing arrived). Call it to get it."""

    __slots__ = ("_fold", "_value")

    def __init__(self, fold: Fold = _nothing) -> None:
        self._fold: Optional[Fold] = fold
        self._value: Optional[Mapping[str, Any]] = None

    def __call__(self) -> Optional[Mapping[str, Any]]:
        fold, self._fold = self._fold, None
        if fold is not None:
            try:
                self._value = fold()
            except Exception:
                logger.debug("babyapi: could not fold the answer for observers", exc_info=True)
        return self._value


class Watch:
    """One call's watches from every observer; shields the call from their failures."""

    __slots__ = ("_ended", "_watches")

    def __init__(self, watches: list[tuple[Observer, CallWatch]]) -> None:
        self._watches = watches
        self._ended = False

    @classmethod
    def open(cls, observers: tuple[Observer, ...], call: CallInfo) -> Optional[Watch]:
        """Ask each observer to watch the call; None when none wants to."""
        watches: list[tuple[Observer, CallWatch]] = []
        for observer in observers:
            try:
                watch = observer.watch(call)
            except Exception:
                _report(observer, "watch")
                continue
            if watch is not None:
                watches.append((observer, watch))
        return cls(watches) if watches else None

    def sending(self, retries: int) -> Optional[dict[str, str]]:
        headers: Optional[dict[str, str]] = None
        for observer, watch in self._watches:
            try:
                extra = watch.sending(retries)
                if extra:
                    headers = {**(headers or {}), **{k.lower(): v for k, v in extra.items()}}
            except Exception:
                _report(observer, "sending")
        return headers

    def routed(self, url: httpx.URL) -> None:
        for observer, watch in self._watches:
            try:
                watch.routed(url)
            except Exception:
                _report(observer, "routed")

    def attempt_ended(self, retries: int, outcome: Outcome, decision: Optional[Decision]) -> None:
        for observer, watch in self._watches:
            try:
                watch.attempt_ended(retries, outcome, decision)
            except Exception:
                _report(observer, "attempt_ended")

    def stream_opened(self, response: Response) -> None:
        for observer, watch in self._watches:
            try:
                watch.stream_opened(response)
            except Exception:
                _report(observer, "stream_opened")

    def first_event(self) -> None:
        for observer, watch in self._watches:
            try:
                watch.first_event()
            except Exception:
                _report(observer, "first_event")

    def end(self, error: Optional[BaseException], answer: Optional[Answer] = None) -> None:
        """The call ended: with its answer, an error, a cancellation, or a stream closed early."""
        if self._ended:
            return
        self._ended = True
        folded = answer or Answer()
        for observer, watch in self._watches:
            try:
                if error is None:
                    watch.succeeded(folded)
                elif isinstance(error, GeneratorExit):
                    watch.closed_early(folded)
                elif is_cancellation(error):
                    watch.cancelled(folded)
                else:
                    watch.failed(error, folded)
            except Exception:
                _report(observer, "end")


def _report(observer: Observer, hook: str) -> None:
    """The first failure of an observer is a warning with its traceback; later ones are debug."""
    if observer._failure_logged:
        logger.debug("observer %r failed in %s again", observer, hook, exc_info=True)
        return
    observer._failure_logged = True
    logger.warning(
        "observer %r failed in %s; the call goes on unobserved by it where it fails "
        "(later failures are logged at DEBUG)",
        observer,
        hook,
        exc_info=True,
    )
