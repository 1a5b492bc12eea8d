"""Imports point down the layer order of docs/architecture.md, and no module imports itself back.

Every import counts: at module level, under ``TYPE_CHECKING`` and inside functions. The order
is read from the fenced block after ``<!-- layer order -->`` on that page, so the page a
contributor reads and the rule this test checks are the same list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "babyapi"
PAGE = ROOT / "docs" / "architecture.md"
MARKER = "<!-- layer order -->"


class Import(NamedTuple):
    importer: str
    imported: str
    line: int


def layer_order(text: str) -> list[list[str]]:
    """The layers, top first: each line of the block names its modules before any prose."""
    lines = text.splitlines()
    start = lines.index(MARKER) + 1
    assert lines[start].startswith("```"), f"{MARKER} must be followed by a fenced block"
    layers: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            return layers
        names: list[str] = []
        for word in line.split():
            if not word.startswith("babyapi"):
                break
            names.append(word)
        if names:
            layers.append(names)
    raise AssertionError(f"the block after {MARKER} in {PAGE.name} is not closed")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    """Every babyapi module ``path`` imports, wherever the import statement sits."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from babyapi.server import tokens`` imports the module ``tokens``; the package
            # itself counts only when a name is taken from it.
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            targets = [name for name in submodules if name in known]
            if len(targets) < len(submodules):
                targets.append(base)
        else:
            continue
        for target in targets:
            if target in known and target != name:
                yield Import(name, target, node.lineno)


def layer_of(name: str, order: list[list[str]]) -> int:
    """The index of the layer naming ``name``: exactly, or as ``package.*`` (the longest wins)."""
    best, best_length = -1, -1
    for index, layer in enumerate(order):
        for entry in layer:
            if entry == name:
                return index
            if entry.endswith(".*"):
                package = entry[:-2]
                if (name == package or name.startswith(package + ".")) and len(
                    package
                ) > best_length:
                    best, best_length = index, len(package)
    return best


def upward_imports(order: list[list[str]]) -> list[str]:
    found = modules()
    problems: list[str] = []
    for name, path in found.items():
        layer = layer_of(name, order)
        if layer < 0:
            problems.append(f"{name} is in no layer: add it to the list in docs/architecture.md")
            continue
        for imp in imports_of(name, path, set(found)):
            if layer_of(imp.imported, order) < layer:
                problems.append(
                    f"{path.relative_to(ROOT)}:{imp.line}: {name} imports {imp.imported}, "
                    "a layer above it"
                )
    return problems


def cycles() -> list[list[str]]:
    """Import cycles among babyapi modules (each found once, from its first module)."""
    found = modules()
    graph = {
        name: sorted({imp.imported for imp in imports_of(name, path, set(found))})
        for name, path in found.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in graph[name]:
            if state.get(target) == 1:
                loops.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name)
    return loops


def test_every_import_points_down_the_layer_order() -> None:
    order = layer_order(PAGE.read_text(encoding="utf-8"))
    assert upward_imports(order) == []


def test_no_module_imports_itself_back() -> None:
    assert [" -> ".join(loop) for loop in cycles()] == []


def test_the_order_names_only_modules_that_exist() -> None:
    order = layer_order(PAGE.read_text(encoding="utf-8"))
    found = modules()
    stale = [
        entry
        for layer in order
        for entry in layer
        if not any(layer_of(name, [[entry]]) == 0 for name in found)
    ]
    assert stale == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: the core importing the client is reported, with its line."""
    order = layer_order(PAGE.read_text(encoding="utf-8"))
    core = PACKAGE / "_errors.py"
    fake = tmp_path / "_errors.py"
    fake.write_text("def f():\n    from babyapi._client import BabyAPI\n", encoding="utf-8")
    found = modules()
    ups = [
        imp
        for imp in imports_of("babyapi._errors", fake, set(found))
        if layer_of(imp.imported, order) < layer_of("babyapi._errors", order)
    ]
    assert ups == [Import("babyapi._errors", "babyapi._client", 2)]
    assert core.exists()
