"""Counts the examples each Hypothesis property test ran and prints them after the run.

The property tests are bounded (``max_examples``) so ``make test`` stays fast; the summary
shows what that bound bought: how many generated inputs each property held for.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import pytest
from hypothesis.statistics import collector

_COUNTS: dict[str, int] = {}


def _passing(stats: Mapping[str, Any]) -> int:
    """Examples that ran to the end in every phase but shrinking (which replays failures)."""
    total = 0
    for phase, details in stats.items():
        if not phase.endswith("-phase") or phase == "shrink-phase":
            continue
        total += sum(1 for case in details.get("test-cases", ()) if case["status"] == "valid")
    return total


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    if getattr(getattr(item, "obj", None), "is_hypothesis_test", False) is not True:
        return (yield)
    # Hypothesis's own plugin installs its collector outside this wrapper: chain to it.
    outer = collector.value

    def note(stats: Mapping[str, Any]) -> None:
        _COUNTS[item.nodeid] = _COUNTS.get(item.nodeid, 0) + _passing(stats)
        if outer is not None:
            outer(stats)

    with collector.with_value(note):
        return (yield)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _COUNTS:
        return
    terminalreporter.section("property tests: passing examples")
    for nodeid, count in sorted(_COUNTS.items()):
        terminalreporter.write_line(f"{count:>7}  {nodeid}")
    terminalreporter.write_line(
        f"{sum(_COUNTS.values()):>7}  in all, over {len(_COUNTS)} property tests"
    )
