"""Every file a page names exists: links, and repository paths such as `examples/x.py`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
# A repository path in code spans: `examples/observability.py`, `tests/drills/` (not globs).
_REPO_PATH = re.compile(
    r"`((?:examples|benchmarks|tests|src|docs|interop|\.ci)/[A-Za-z0-9_./-]*[A-Za-z0-9_/-])`"
)


def named_files(page: Path) -> list[tuple[str, Path]]:
    """(as written, where it points) for each local link and repository path on a page."""
    text = page.read_text(encoding="utf-8")
    found = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor on the same page
        found.append((target, page.parent / target.split("#", 1)[0]))
    found += [(path, ROOT / path) for path in _REPO_PATH.findall(text)]
    return found


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_file_a_page_names_exists(page: Path) -> None:
    missing = [written for written, path in named_files(page) if not path.exists()]
    assert missing == [], f"{page.relative_to(ROOT)} names files that do not exist"


def test_the_check_sees_links_and_code_spans(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "See [x](other.md#part), [web](https://example.org/docs/a.md), [here](#top),\n"
        "`examples/nothing_here.py`, `src/babyapi/_*.py` and `tests/drills/`.\n",
        encoding="utf-8",
    )
    assert [written for written, _ in named_files(page)] == [
        "other.md#part",
        "examples/nothing_here.py",
        "tests/drills/",
    ]
