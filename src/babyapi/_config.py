"""Client configuration: constructor arguments and the environment, merged into one frozen value."""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Optional, Sequence, Union

from babyapi._budget import RetryBudget
from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi._validation import (
    check_api_key,
    check_base_url,
    check_flag,
    check_headers,
    check_max_retries,
    check_seconds,
    check_text,
)

__all__ = ["DEFAULT_BASE_URL", "BaseURL", "ClientConfig", "build_config"]

if TYPE_CHECKING:
    from babyapi._observe import Observer

    # Several servers are the rarer case: their module loads when a client names two or more.
    from babyapi._servers import Server

#: What ``base_url=`` takes: one URL, or several servers (URLs or ``Server``s).
BaseURL = Union[str, "Server", Sequence[Union[str, "Server"]]]

DEFAULT_BASE_URL = "https://api.babyapi.org"
DEFAULT_TIMEOUT_S = 60.0
# The pool of a client we build: up to 100 connections, and every one of them may stay open
# idle (aiohttp keeps all of its own too). httpx's default of 20 idle is worse than it looks:
# httpcore 1.0 closes a connection going idle whenever the pool holds more than 20 in all
# (it counts every connection as idle), so above 20 calls at once connections churn (against
# a real server each is a new TCP and TLS handshake; 50 calls, twice: 80 connections instead
# of 50), and httpcore's issue 1110 race (a surplus-idle close of a connection a waiting
# request was just given) can hang a call until its read timeout. More than 100 does not pay
# on httpx: httpcore rescans every connection and queued request each time a request comes
# or goes (1,000 connections, AsyncOpenAI's setting, measured 0.6x the calls/s). See
# docs/async.md, "AsyncBabyAPI on httpx".
MAX_CONNECTIONS = 100
MAX_IDLE_CONNECTIONS = MAX_CONNECTIONS
# Servers on uvicorn (vLLM, LiteLLM) and cpp-httplib (llama.cpp) close a connection left idle
# for 5 s, the keep-alive httpx uses too. A client keeping it as long may send on it just as
# the server closes it, and lose the request ("Server disconnected without sending a
# response"); streams are never retried, so that race fails them. We let go a second earlier.
KEEPALIVE_S = 4.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_RETRY_BASE_DELAY_S = 0.25
DEFAULT_RETRY_BUDGET = RetryBudget()


class ClientConfig(NamedTuple):
    """Everything a client needs to build requests; immutable once built."""

    api_key: Optional[str]
    base_url: str
    timeout_s: float
    max_retries: int
    retry_base_delay_s: float
    default_model: Optional[str]
    default_headers: Mapping[str, str]
    deadline_s: Optional[float]
    #: None: read timeouts are retried except on generation endpoints; True/False: everywhere.
    retry_read_timeouts: Optional[bool] = None
    # A chat model is never right for embeddings or rerank, so these have defaults of their own.
    default_embedding_model: Optional[str] = None
    default_rerank_model: Optional[str] = None
    retry_budget: Optional[RetryBudget] = DEFAULT_RETRY_BUDGET
    observers: tuple[Observer, ...] = ()
    #: Two servers or more (``base_url`` is the first); empty for a client of one server.
    servers: tuple[Server, ...] = ()

    def __repr__(self) -> str:
        # Neither the key nor header values (which may carry credentials) are shown.
        where = f"servers={list(self.servers)!r}" if self.servers else f"base_url={self.base_url!r}"
        return (
            f"ClientConfig({where}, timeout_s={self.timeout_s!r}, "
            f"max_retries={self.max_retries!r}, retry_base_delay_s={self.retry_base_delay_s!r}, "
            f"default_model={self.default_model!r}, deadline_s={self.deadline_s!r}, "
            f"retry_read_timeouts={self.retry_read_timeouts!r}, "
            f"default_embedding_model={self.default_embedding_model!r}, "
            f"default_rerank_model={self.default_rerank_model!r}, "
            f"retry_budget={self.retry_budget!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # A mappingproxy cannot be pickled: the headers travel as a dict and are frozen again.
        # Every field after them travels as it is (a tuple slice, so none can be forgotten).
        return (_frozen, (*self[:6], dict(self.default_headers), *self[7:]))

    def with_changes(self, **changes: Any) -> ClientConfig:
        """A copy with some settings changed, validated like the constructor's."""
        merged = {
            "api_key": self.api_key,
            "base_url": self.servers or self.base_url,
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
            "retry_base_delay_s": self.retry_base_delay_s,
            "default_model": self.default_model,
            "default_headers": dict(self.default_headers),
            "deadline_s": self.deadline_s,
            "retry_read_timeouts": self.retry_read_timeouts,
            "default_embedding_model": self.default_embedding_model,
            "default_rerank_model": self.default_rerank_model,
            "retry_budget": self.retry_budget,
            "observers": self.observers,
        }
        refuse_unknown_settings("with_options()", changes, merged)
        merged.update(changes)
        return ClientConfig(**_validated(**merged))


def _frozen(*fields: Any) -> ClientConfig:
    config = ClientConfig(*fields)
    return config._replace(default_headers=MappingProxyType(dict(config.default_headers)))


def build_config(
    *,
    api_key: Optional[str],
    base_url: Optional[BaseURL],
    timeout_s: float,
    max_retries: int,
    retry_base_delay_s: float,
    default_model: Optional[str],
    default_headers: Optional[Mapping[str, str]],
    deadline_s: Optional[float],
    retry_read_timeouts: Optional[bool] = None,
    default_embedding_model: Optional[str] = None,
    default_rerank_model: Optional[str] = None,
    retry_budget: Optional[RetryBudget] = DEFAULT_RETRY_BUDGET,
    observers: Optional[Iterable[Observer]] = None,
    environ: Mapping[str, str] = os.environ,
) -> ClientConfig:
    """Arguments win over the environment; the environment wins over the defaults."""
    key = check_api_key(api_key, "api_key", "INVALID_OPTIONS") or check_api_key(
        environ.get("BABYAPI_API_KEY") or environ.get("BABY_API_KEY"),
        "BABYAPI_API_KEY",
        "INVALID_OPTIONS",
    )
    given = _given_base_url(base_url)
    url = given if given is not None else _env_base_url(environ.get("BABYAPI_BASE_URL"))
    model = _model_setting(default_model, "default_model", environ)
    return ClientConfig(
        **_validated(
            api_key=key,
            base_url=url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            retry_base_delay_s=retry_base_delay_s,
            default_model=model,
            default_headers=default_headers,
            deadline_s=deadline_s,
            retry_read_timeouts=retry_read_timeouts,
            default_embedding_model=_model_setting(
                default_embedding_model, "default_embedding_model", environ
            ),
            default_rerank_model=_model_setting(
                default_rerank_model, "default_rerank_model", environ
            ),
            retry_budget=retry_budget,
            observers=observers,
        )
    )


def _given_base_url(value: Any) -> Any:
    """``base_url`` as passed (blank text counts as absent: the environment then decides)."""
    if isinstance(value, str):
        return _non_blank(value, "base_url")
    return value


def _env_base_url(value: Optional[str]) -> BaseURL:
    """BABYAPI_BASE_URL: one URL, or several separated by commas or spaces."""
    urls = (value or "").replace(",", " ").split()
    if not urls:
        return DEFAULT_BASE_URL
    return urls[0] if len(urls) == 1 else urls


def _model_setting(value: Any, name: str, environ: Mapping[str, str]) -> Optional[str]:
    """The argument, else the BABYAPI_<NAME> environment variable; blank counts as absent."""
    model = _non_blank(value, name) or environ.get("BABYAPI_" + name.upper())
    return (model or "").strip() or None


# What users of other SDKs (openai-python above all) pass, and what to do instead.
_SETTING_HINTS = {
    "timeout": "use timeout_s instead (seconds, a number)",
    "api_base": "use base_url instead",
    "base": "use base_url instead",
    "url": "use base_url instead",
    "organization": "BabyAPI has no organizations; if your server wants that header, pass "
    "default_headers={'OpenAI-Organization': ...}",
    "project": "BabyAPI has no projects; if your server wants that header, pass "
    "default_headers={'OpenAI-Project': ...}",
    "default_query": "pass extra_query={...} to each call instead",
    "api_version": "pass extra_query={'api-version': ...} to each call instead",
    "model": "use default_model instead",
    "headers": "use default_headers instead",
    "retries": "use max_retries instead",
    "deadline": "use deadline_s instead (seconds, a number)",
}


# What BabyAPI() and AsyncBabyAPI() accept; anything else gets a TypeError naming these.
CLIENT_SETTINGS = (
    "api_key",
    "base_url",
    "timeout_s",
    "max_retries",
    "retry_base_delay_s",
    "default_model",
    "default_headers",
    "deadline_s",
    "retry_read_timeouts",
    "retry_budget",
    "http_client",
    "transport",
    "observers",
    "default_embedding_model",
    "default_rerank_model",
)


def refuse_unknown_settings(where: str, given: Mapping[str, Any], valid: Iterable[str]) -> None:
    """An InvalidArgumentTypeError for setting names that do not exist, pointing at the right ones."""
    names = sorted(valid)
    unknown = sorted(set(given) - set(names))
    if not unknown:
        return
    parts = [
        f"{where} has no setting {name!r}: {_SETTING_HINTS[name]}"
        for name in unknown
        if name in _SETTING_HINTS
    ]
    others = [name for name in unknown if name not in _SETTING_HINTS]
    if others:
        parts.append(
            f"{where} has no setting {', '.join(map(repr, others))}; valid ones are {names}"
        )
    # Python answers an unknown keyword argument with a TypeError; so do we.
    raise InvalidArgumentTypeError("; ".join(parts) + ".", code="INVALID_OPTIONS")


def _validated(**settings: Any) -> dict[str, Any]:
    timeout_s = check_seconds(settings["timeout_s"], "timeout_s", allow_none=False)
    delay = settings["retry_base_delay_s"]
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay < 3600:
        number = isinstance(delay, (int, float)) and not isinstance(delay, bool)
        raise (InvalidArgumentError if number else InvalidArgumentTypeError)(
            f"retry_base_delay_s must be a number of seconds >= 0, got {delay!r}.",
            code="INVALID_OPTIONS",
        )
    url, server_key, servers = _where(settings["base_url"])
    api_key = check_api_key(settings["api_key"], "api_key", "INVALID_OPTIONS")
    if server_key is not None:
        api_key = server_key
    elif servers and api_key is None and all(server.api_key for server in servers):
        # Each server sends its own key; the client's only stands in where one has none.
        api_key = servers[0].api_key
    return {
        "api_key": api_key,
        "base_url": url,
        "timeout_s": timeout_s,
        "max_retries": check_max_retries(settings["max_retries"]),
        "retry_base_delay_s": float(delay),
        "default_model": settings["default_model"],
        "default_headers": MappingProxyType(
            check_headers(settings["default_headers"], "default_headers")
        ),
        "deadline_s": check_seconds(settings["deadline_s"], "deadline_s"),
        "retry_read_timeouts": check_flag(
            settings["retry_read_timeouts"], "retry_read_timeouts", "INVALID_OPTIONS"
        ),
        "default_embedding_model": settings["default_embedding_model"],
        "default_rerank_model": settings["default_rerank_model"],
        "retry_budget": _check_budget(settings["retry_budget"]),
        "observers": _check_observers(settings["observers"]),
        "servers": servers,
    }


def _where(value: Any) -> tuple[str, Optional[str], tuple[Server, ...]]:
    """``base_url`` as the base URL, the API key its one ``Server`` names, and the servers of
    a client of several (empty for one)."""
    if isinstance(value, str):
        return check_base_url(value), None, ()
    servers = _check_servers(value)
    if len(servers) == 1:
        return servers[0].url, servers[0].api_key, ()
    return servers[0].url, None, servers


def _check_servers(value: Any) -> tuple[Server, ...]:
    """The servers ``base_url`` names (a ``Server``, or a list of them or of URLs)."""
    from babyapi._servers import Server

    items: list[Any] = [value] if isinstance(value, Server) else _as_list(value)
    servers = tuple(item if isinstance(item, Server) else Server(item) for item in items)
    if not servers:
        raise InvalidArgumentError(
            "base_url is an empty list; pass one URL, or a list of the servers to use.",
            code="INVALID_OPTIONS",
        )
    urls = [server.url for server in servers]
    twice = sorted({url for url in urls if urls.count(url) > 1})
    if twice:
        raise InvalidArgumentError(
            f"base_url lists {', '.join(twice)} more than once; list each server once "
            "(Server(url, weight=2.0) sends one server more of the work).",
            code="INVALID_OPTIONS",
        )
    return servers


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)  # pyright: ignore[reportUnknownArgumentType]
    raise InvalidArgumentTypeError(
        "base_url must be a URL such as 'https://api.babyapi.org', or a list of them (or of "
        f"babyapi.Server(url, weight=..., api_key=...)), got {type(value).__name__}.",
        code="INVALID_OPTIONS",
    )


def _check_budget(value: Any) -> Optional[RetryBudget]:
    if value is None or isinstance(value, RetryBudget):
        return value
    raise InvalidArgumentTypeError(
        f"retry_budget must be a RetryBudget(ratio=..., min_retries=..., window_s=...) or None "
        f"(no budget), got {type(value).__name__}.",
        code="INVALID_OPTIONS",
    )


def _check_observers(value: Any) -> tuple[Observer, ...]:
    """A list of observers (a UsageTracker, the OpenTelemetry observer), kept as a tuple."""
    if value is None:
        return ()
    from babyapi._observe import Observer

    items: Any = (value,) if isinstance(value, Observer) else value
    try:
        observers = tuple(items)
    except TypeError:
        observers = (items,)
    for item in observers:
        if not isinstance(item, Observer):
            raise InvalidArgumentTypeError(
                f"observers must be a list of observers such as babyapi.UsageTracker(), got "
                f"{type(item).__name__}.",
                code="INVALID_OPTIONS",
            )
    return observers


def _non_blank(value: Any, name: str) -> Optional[str]:
    return check_text(value, name, "INVALID_OPTIONS", f"pass {name} as a string.")
