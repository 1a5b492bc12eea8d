"""The drill suite: production-scale runs against the local server, run by ``make drills``.

Every test in this directory is marked ``drill``; ``make test`` leaves them out (pyproject's
``-m "not drill"``) and ``make drills`` runs only them. Shared here:

- ``drill_server``: the local server (httptools) in its own process for the whole session,
  so client threads and the server do not share a GIL and the client's memory is its own;
- ``make_client``: sync or async clients on that server, closed when the test ends;
- ``figures``: a drill records what it measured; the table is printed at the end of the run
  and is what docs/reliability.md shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, List, NamedTuple, Union

import pytest

from babyapi import AsyncBabyAPI, BabyAPI
from server_process import ServerProcess  # pyright: ignore[reportImplicitRelativeImport]

DRILL_KEY = "drill-key"
# Generous: a drill is bounded by its own sizes; this only stops a wedged run.
DRILL_TIMEOUT_S = 600
_HERE = Path(__file__).resolve().parent


class Figure(NamedTuple):
    """One measured value of one drill."""

    drill: str
    figure: str
    value: str


_FIGURES: List[Figure] = []


class Figures:
    """Where a drill records its figures, in the order they are printed."""

    def add(self, drill: str, figure: str, value: object) -> None:
        _FIGURES.append(Figure(drill, figure, str(value)))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.drill)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(DRILL_TIMEOUT_S))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("drill figures")
    terminalreporter.write_line("| drill | figure | value |")
    terminalreporter.write_line("|---|---|---|")
    for row in _FIGURES:
        terminalreporter.write_line(f"| {row.drill} | {row.figure} | {row.value} |")


@pytest.fixture(scope="session")
def drill_server() -> Iterator[ServerProcess]:
    with ServerProcess(DRILL_KEY) as server:
        yield server


@pytest.fixture
def figures() -> Figures:
    return Figures()


AnyClient = Union[BabyAPI, AsyncBabyAPI]


@pytest.fixture
def make_client(drill_server: ServerProcess) -> Iterator[Callable[..., Any]]:
    """``make_client(**settings)`` (or ``make_client(kind="async", ...)``) on the drill server."""
    made: List[AnyClient] = []

    def make(kind: str = "sync", **settings: Any) -> Any:
        settings.setdefault("api_key", DRILL_KEY)
        settings.setdefault("base_url", drill_server.base_url)
        client: AnyClient = AsyncBabyAPI(**settings) if kind == "async" else BabyAPI(**settings)
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, AsyncBabyAPI):
            asyncio.run(client.aclose())
        else:
            client.close()
