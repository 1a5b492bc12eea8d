"""UsageTracker: tokens, calls, errors and retries summed per model, without OpenTelemetry."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Optional, cast

import httpx

from babyapi._observe import Answer, CallInfo, CallWatch, Observer, Outcome

if TYPE_CHECKING:
    from babyapi._retry import Decision

__all__ = ["ModelUsage", "UsageTracker", "token_counts"]


class ModelUsage(NamedTuple):
    """The sums for one model (or for all of them)."""

    calls: int = 0
    """Calls that ended: answered, failed, cancelled or closed early."""
    errors: int = 0
    """Calls that raised an error (cancellations are not errors)."""
    cancelled: int = 0
    """Calls cancelled, or streams closed before their end."""
    retries: int = 0
    """Attempts sent again after a failed one."""
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    calls_without_usage: int = 0
    """Answered calls whose answer reported no usage (a stream without its usage chunk)."""

    def __add__(self, other: object) -> ModelUsage:
        if not isinstance(other, ModelUsage):
            return NotImplemented
        return ModelUsage(*(a + b for a, b in zip(self, other)))


class TokenCounts(NamedTuple):
    input: int
    output: int
    total: int


def token_counts(answer: Optional[Mapping[str, Any]]) -> Optional[TokenCounts]:
    """The usage an answer reports (OpenAI's names, or input/output names); None without one."""
    usage = answer.get("usage") if answer is not None else None
    if not isinstance(usage, Mapping):
        return None
    fields = cast("Mapping[str, Any]", usage)
    given_in = _count(fields, "prompt_tokens", "input_tokens")
    given_out = _count(fields, "completion_tokens", "output_tokens")
    given_total = _count(fields, "total_tokens")
    if given_in is None and given_out is None and given_total is None:
        return None
    tokens_in, tokens_out = given_in or 0, given_out or 0
    return TokenCounts(tokens_in, tokens_out, given_total or tokens_in + tokens_out)


def _count(usage: Mapping[str, Any], *names: str) -> Optional[int]:
    for name in names:
        value = usage.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


class UsageTracker(Observer):
    """Sums tokens, calls, errors and retries per model over every call of the clients it watches.

    Attach it with ``BabyAPI(observers=[tracker])``; ``with_options`` copies keep it. Safe to
    share between threads and tasks. Calls that name no model (``models.list``) are not counted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, ModelUsage] = {}
        self._servers: dict[str, ModelUsage] = {}

    def watch(self, call: CallInfo) -> Optional[CallWatch]:
        model = call.model
        return _UsageWatch(self, model, server_of(call.url)) if model is not None else None

    def by_model(self) -> dict[str, ModelUsage]:
        """A snapshot: model name -> its sums."""
        with self._lock:
            return dict(self._models)

    def by_server(self) -> dict[str, ModelUsage]:
        """A snapshot: server (``scheme://host:port``) -> its sums, for a client of several servers.

        A call counts for the server its last attempt went to (the one that answered, or the
        last one tried); its retries count there too, wherever they were sent.
        """
        with self._lock:
            return dict(self._servers)

    def total(self) -> ModelUsage:
        """The sums over all models."""
        return sum(self.by_model().values(), ModelUsage())

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._models.clear()
            self._servers.clear()

    def add(self, model: str, usage: ModelUsage, server: Optional[str] = None) -> None:
        """Add one call's figures to a model's sums (and its server's, when given)."""
        with self._lock:
            self._models[model] = self._models.get(model, ModelUsage()) + usage
            if server is not None:
                self._servers[server] = self._servers.get(server, ModelUsage()) + usage

    def __repr__(self) -> str:
        return f"UsageTracker({self.total()})"

    def __getstate__(self) -> dict[str, Any]:
        # A pickled client takes a copy along: counts made in another process stay there.
        return {"models": self.by_model(), "servers": self.by_server()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._models = dict(state["models"])
        self._servers = dict(state.get("servers", {}))


def server_of(url: httpx.URL) -> str:
    """The server a URL points at, as ``scheme://host:port``."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{url.host}:{port}"


class _UsageWatch(CallWatch):
    __slots__ = ("_model", "_retries", "_server", "_tracker")

    def __init__(self, tracker: UsageTracker, model: str, server: str) -> None:
        self._tracker = tracker
        self._model = model
        self._server = server
        self._retries = 0

    def routed(self, url: httpx.URL) -> None:
        self._server = server_of(url)

    def attempt_ended(self, retries: int, outcome: Outcome, decision: Optional[Decision]) -> None:
        if decision is not None and decision.retry:
            self._retries += 1

    def succeeded(self, answer: Answer) -> None:
        self._record(answer, answered=True)

    def failed(self, error: BaseException, answer: Answer) -> None:
        self._record(answer, errors=1)

    def cancelled(self, answer: Answer) -> None:
        self._record(answer, cancelled=1)

    def closed_early(self, answer: Answer) -> None:
        self._record(answer, cancelled=1)

    def _record(
        self, answer: Answer, *, answered: bool = False, errors: int = 0, cancelled: int = 0
    ) -> None:
        # Tokens a failed or cut-short stream reported before it stopped were still spent.
        tokens = token_counts(answer())
        self._tracker.add(
            self._model,
            ModelUsage(
                calls=1,
                errors=errors,
                cancelled=cancelled,
                retries=self._retries,
                input_tokens=tokens.input if tokens else 0,
                output_tokens=tokens.output if tokens else 0,
                total_tokens=tokens.total if tokens else 0,
                calls_without_usage=int(answered and tokens is None),
            ),
            self._server,
        )
