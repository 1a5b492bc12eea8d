"""The ``driver`` fixture: every integration test runs once per client kind (see drivers.KINDS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from babyapi.server import LocalServer
from drivers import API_KEY, KINDS, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]


@pytest.fixture(params=KINDS)
def driver(request: pytest.FixtureRequest, scripted_server: ScriptedServer) -> Iterator[Driver]:
    d = Driver(request.param, scripted_server)
    yield d
    d.close()


@pytest.fixture(scope="module")
def local_server() -> Iterator[LocalServer]:
    """The SDK's own local server, for tests of what it generates (JSON answers, tool calls)."""
    with LocalServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture(params=KINDS)
def local(request: pytest.FixtureRequest, local_server: LocalServer) -> Iterator[Driver]:
    """A driver of each client kind on the local server."""
    d = Driver(request.param, local_server)  # type: ignore[arg-type]
    yield d
    d.close()
