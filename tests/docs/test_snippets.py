"""Every ```python block in README.md and docs/ runs as written against the local server.

A page reads top to bottom, so its blocks run in order in one fresh interpreter (a later
block may use the ``client`` an earlier one made): one subprocess per page, with a timeout. The environment points the SDK at a local server started here
(``BABYAPI_BASE_URL``, ``BABYAPI_API_KEY``), and any request to another host fails fast
through a dead proxy, so no snippet reaches the network.

A block that cannot run here says so on its first line, visibly, with a reason:
``# Not run by the docs tests: <reason>``. Use it sparingly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from babyapi.server import LocalServer

ROOT = Path(__file__).resolve().parents[2]
SKIP_MARKER = "# Not run by the docs tests:"
MAX_SKIPPED = 3
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


class Snippet(NamedTuple):
    page: str
    line: int
    code: str

    @property
    def skip_reason(self) -> str | None:
        first = self.code.lstrip().splitlines()[0] if self.code.strip() else ""
        if not first.startswith(SKIP_MARKER):
            return None
        return first[len(SKIP_MARKER) :].strip()


def pages() -> list[Path]:
    """README.md and every Markdown page under docs/, found anew on each run."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def python_blocks(path: Path) -> list[Snippet]:
    """The fenced blocks whose language is python, in page order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        language = (opening["info"].split() or [""])[0].strip("{}.").lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        if language in ("python", "py", "python3"):
            rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
            found.append(Snippet(rel, i + 1, textwrap.dedent("\n".join(body)) + "\n"))
        i = j + 1
    return found


def all_snippets() -> list[Snippet]:
    return [snippet for page in pages() for snippet in python_blocks(page)]


class PageRun(NamedTuple):
    """How far a page got: the lines of the blocks that ran, and what went wrong."""

    passed: dict[int, str]  # block line -> what it wrote on stderr
    failed_line: int | None
    stderr: str


_DONE = "@@docs-block-done "
_PAGE_RUNS: dict[str, PageRun] = {}


def _script(snippets: list[Snippet]) -> str:
    """One program that runs a page's blocks in order, reporting each block that finishes."""
    parts = ["import sys as _docs_sys"]
    for snippet in snippets:
        where = f"{snippet.page}:{snippet.line}"
        parts.append(
            f"exec(compile({snippet.code!r}, {where!r}, 'exec'))\n"
            f"_docs_sys.stdout.flush()\n"
            f"_docs_sys.stderr.write({_DONE + str(snippet.line) + chr(10)!r})"
        )
    return "\n".join(parts) + "\n"


def run_page(page: str, env: dict[str, str], cwd: Path) -> PageRun:
    """Run every runnable block of a page in one fresh interpreter, once per test session."""
    if page in _PAGE_RUNS:
        return _PAGE_RUNS[page]
    blocks = [s for s in SNIPPETS if s.page == page and s.skip_reason is None]
    try:
        done = subprocess.run(
            [sys.executable, "-c", _script(blocks)],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=30 + 15 * len(blocks),
        )
        stderr, returncode = done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        raw = exc.stderr or b""
        stderr = (raw.decode() if isinstance(raw, bytes) else raw) + "\n(timed out)"
        returncode = -1
    passed: dict[int, str] = {}
    own: list[str] = []
    for line in stderr.splitlines():
        if line.startswith(_DONE):
            passed[int(line[len(_DONE) :])] = "\n".join(own)
            own = []
        else:
            own.append(line)
    failed = (
        None if returncode == 0 else next((b.line for b in blocks if b.line not in passed), None)
    )
    output = "\n".join(line for line in stderr.splitlines() if not line.startswith(_DONE))
    _PAGE_RUNS[page] = PageRun(passed, failed, output)
    return _PAGE_RUNS[page]


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with LocalServer(api_key="docs-key") as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BABYAPI_", "BABY_API"))}
        dead_proxy = "http://127.0.0.1:9"  # port 9 (discard) is closed: other hosts fail at once
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[name] = env[name.lower()] = dead_proxy
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env.update(
            BABYAPI_BASE_URL=server.base_url,
            BABYAPI_API_KEY="docs-key",
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env["HOME"] = str(tmp_path_factory.mktemp("home"))
        yield env


SNIPPETS = all_snippets()


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"{s.page}:{s.line}" for s in SNIPPETS])
def test_snippet_runs(snippet: Snippet, server_env: dict[str, str], tmp_path: Path) -> None:
    if snippet.skip_reason is not None:
        pytest.skip(f"{snippet.page}:{snippet.line}: {snippet.skip_reason}")
    run = run_page(snippet.page, server_env, tmp_path)
    where = f"{snippet.page}:{snippet.line}"
    if snippet.line in run.passed:
        own_stderr = run.passed[snippet.line]
        assert "Traceback" not in own_stderr, f"{where} printed a traceback:\n{own_stderr}"
        return
    if run.failed_line == snippet.line:
        pytest.fail(f"{where} failed:\n{run.stderr[-4000:]}")
    pytest.fail(
        f"{where} did not run: the block at line {run.failed_line} of the page failed first"
    )


def test_every_page_with_python_is_collected() -> None:
    """Pages added later are picked up without touching this file."""
    with_python = {
        page.relative_to(ROOT).as_posix()
        for page in pages()
        if re.search(r"^[ \t]*```python", page.read_text(encoding="utf-8"), re.M)
    }
    assert with_python == {s.page for s in SNIPPETS}
    assert "README.md" in with_python


def test_skips_are_rare_and_say_why() -> None:
    skipped = [s for s in SNIPPETS if s.skip_reason is not None]
    assert len(skipped) <= MAX_SKIPPED, [f"{s.page}:{s.line}" for s in skipped]
    for snippet in skipped:
        assert snippet.skip_reason, f"{snippet.page}:{snippet.line}: the skip marker needs a reason"


def test_extraction_reads_fences_like_markdown(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```python\nprint(1)\n```\n\n```bash\necho no\n```\n\n"
        '!!! note\n    ```python title="x"\n    print(2)\n    ```\n\n'
        "````markdown\n```python\nprint('inside a markdown sample')\n```\n````\n",
        encoding="utf-8",
    )
    blocks = python_blocks(page)
    assert [b.code for b in blocks] == ["print(1)\n", "print(2)\n"]
