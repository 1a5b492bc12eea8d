"""What tests/interop knows about the real servers under test, and a driver aimed at them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple, Optional

import pytest

from babyapi import BabyAPIError
from drivers import AnyClient, Driver  # pyright: ignore[reportImplicitRelativeImport]

TARGETS_ENV = "BABYAPI_INTEROP_TARGETS"
RESULTS_ENV = "BABYAPI_INTEROP_RESULTS"


class Endpoint(NamedTuple):
    """Where one role (chat, embed, rerank) is served, and the model name to ask for."""

    base_url: str
    model: str


class Target(NamedTuple):
    """One real server: "llama.cpp" or "vllm", with an endpoint per role."""

    name: str
    title: str
    version: str
    chat: Endpoint
    embed: Endpoint
    rerank: Endpoint
    # A LoRA adapter for the chat model, where the server can load one at run time.
    lora_path: Optional[str] = None


def require_servers() -> None:
    """Skip the calling test module unless `make interop` named the servers."""
    if not os.environ.get(TARGETS_ENV, "").strip():
        pytest.skip(
            f"real servers only: run `make interop` (it sets {TARGETS_ENV})",
            allow_module_level=True,
        )


def load_targets() -> list[Target]:
    """Read the servers from the file (or inline JSON) that BABYAPI_INTEROP_TARGETS names."""
    raw = os.environ.get(TARGETS_ENV, "").strip()
    if not raw:
        return []
    spec = json.loads(raw if raw.startswith("{") else Path(raw).read_text())
    return [
        Target(
            name=s["name"],
            title=s.get("title", s["name"]),
            version=s.get("version", ""),
            **{role: Endpoint(**s["endpoints"][role]) for role in ("chat", "embed", "rerank")},
            lora_path=s.get("lora_path"),
        )
        for s in spec["servers"]
    ]


class ServerDriver(Driver):
    """The shared test driver, aimed at a real server and keeping real time (for deadlines)."""

    def __init__(self, kind: str, target: Target) -> None:
        self.target = target
        super().__init__(kind, SimpleNamespace(base_url=target.chat.base_url))  # type: ignore[arg-type]

    def install_fake_time(self, client: AnyClient) -> None:
        """Real servers take real time: keep the client's own clocks."""

    def client_for(self, endpoint: Endpoint, **kwargs: Any) -> AnyClient:
        """A client on the server that hosts `endpoint`."""
        return self.make(base_url=endpoint.base_url, **kwargs)


def quote(error: BabyAPIError) -> str:
    """The server's own answer behind an error: status and body as sent."""
    body = error.response.text if error.response is not None else error.message
    return f"HTTP {error.status} {body.strip()}"


class Record:
    """What a test learnt about its server, for the matrix: a missing feature, deviations."""

    def __init__(self) -> None:
        self.lacks: Optional[str] = None
        self.notes: list[str] = []

    def lacks_it(self, answer: BabyAPIError | str) -> None:
        """The server does not have this feature; keep its own answer."""
        self.lacks = quote(answer) if isinstance(answer, BabyAPIError) else answer

    def note(self, text: str) -> None:
        """A deviation from OpenAI's behaviour that the test pins."""
        self.notes.append(text)
