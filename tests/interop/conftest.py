"""Fixtures for tests against real servers.

`make interop` starts llama.cpp's llama-server and vLLM, writes where they listen to a JSON
file and names it in BABYAPI_INTEROP_TARGETS; without that variable every test here is
skipped, so plain `make test` never needs the servers.  Each test runs once per server and
per client kind (sync, async on httpx, async on aiohttp), and records its feature's outcome
for the compatibility matrix.

To add a test: take the fixtures `target` (which server: `target.name` is "llama.cpp" or
"vllm"; `target.chat`, `.embed`, `.rerank` give base URL and model), `driver` (runs a call
on the sync or async client: `driver.call(lambda c: c.chat.completions.create(...))`), and
`record` (`record.lacks_it(err)` when the server lacks the feature, `record.note(text)` for a
deviation the test pins); mark it `@pytest.mark.feature("name")` to give it a matrix row
(titles of new rows: `interop/report.py` FEATURES, else the name is shown).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Optional

import pytest
from real_servers import (  # pyright: ignore[reportImplicitRelativeImport]
    RESULTS_ENV,
    TARGETS_ENV,
    Record,
    ServerDriver,
    Target,
    load_targets,
)

from drivers import KINDS  # pyright: ignore[reportImplicitRelativeImport]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "feature(name): the compatibility-matrix row a test checks")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    targets = load_targets()
    params = [pytest.param(t, id=t.name) for t in targets] or [
        pytest.param(
            None,
            id="no-server",
            marks=pytest.mark.skip(
                reason=f"real servers only: run `make interop` (sets {TARGETS_ENV})"
            ),
        )
    ]
    metafunc.parametrize("target", params)


@pytest.fixture(params=KINDS)
def driver(request: pytest.FixtureRequest, target: Target) -> Iterator[ServerDriver]:
    d = ServerDriver(request.param, target)
    yield d
    d.close()


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Record:
    rec = Record()
    request.node.interop_record = rec
    return rec


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    results = os.environ.get(RESULTS_ENV)
    marker = item.get_closest_marker("feature")
    target = getattr(item, "callspec", None) and item.callspec.params.get("target")
    if not results or marker is None or not isinstance(target, Target):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        rec: Optional[Record] = getattr(item, "interop_record", None)
        line = {
            "server": target.name,
            "feature": marker.args[0],
            "test": item.nodeid,
            "outcome": report.outcome,
            "lacks": rec.lacks if rec and report.passed else None,
            "notes": rec.notes if rec and report.passed else [],
        }
        with open(results, "a") as out:
            out.write(json.dumps(line) + "\n")
