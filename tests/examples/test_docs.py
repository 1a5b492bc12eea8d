"""The Python snippets of the structured-output and tool pages run, in order, as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("structured.md", ["UNSUPPORTED_SCHEMA_TYPE Wave.amplitude", "OUTPUT_TRUNCATED", "Porto"]),
        ("tools.md", ['tool {"city": "Lisbon"', "TOOL_FAILED service down", "get_weather"]),
    ],
)
def test_page_snippets_run(page: str, expected: list[str], server_env: dict[str, str]) -> None:
    code = "\n".join(_BLOCK.findall((DOCS / page).read_text(encoding="utf-8")))
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**server_env, "BABYAPI_DEFAULT_MODEL": "mistral"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for words in expected:
        assert words in done.stdout, done.stdout
