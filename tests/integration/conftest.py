"""The ``driver`` fixture: every integration test runs once per client kind (see drivers.KINDS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers import KINDS, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]


@pytest.fixture(params=KINDS)
def driver(request: pytest.FixtureRequest, scripted_server: ScriptedServer) -> Iterator[Driver]:
    d = Driver(request.param, scripted_server)
    yield d
    d.close()
