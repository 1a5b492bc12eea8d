"""Shared fixtures for the whole test suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Test modules import helpers as top-level modules (``from scripted_server import
# Reply``).  pytest's default "prepend" import mode already puts this directory on
# sys.path, but other modes (importlib) do not, so make it explicit.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from scripted_server import ScriptedServer  # noqa: E402  # pyright: ignore[reportImplicitRelativeImport]

# On a loaded 2-core machine generating an example can take seconds: timing is not what the
# property tests check, so neither a per-example deadline nor the too-slow check may fail them.
settings.register_profile(
    "loaded-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("loaded-machine")

# Prints how many examples each Hypothesis property test ran (tests/property_counts.py).
pytest_plugins = ["property_counts"]


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """A fresh server per test: startup is a bind plus one thread, i.e. ~1 ms."""
    with ScriptedServer() as server:
        yield server
