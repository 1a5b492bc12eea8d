"""Docstrings read for a tool's description and its parameters' notes.

Google (``Args:``), NumPy (``Parameters`` underlined) and Sphinx (``:param x:``) styles.
"""

from __future__ import annotations

import inspect
import re
from typing import Optional, cast

__all__ = ["docstring_parts"]

_SECTION_RE = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Returns?|Raises|Yields|Examples?|Notes?)\s*:?$"
)
_PARAM_SECTIONS = ("args", "arguments", "parameters", "params", "keyword args")
# Google ``name (type): text`` and NumPy ``name : type`` lines open a parameter's note.
_GOOGLE_PARAM_RE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_PARAM_RE = re.compile(r"^(\w+)\s+:\s*[^:]*$")
_SPHINX_PARAM_RE = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def docstring_parts(doc: str) -> tuple[str, dict[str, str]]:
    """The summary and per-parameter notes of a Google, NumPy or Sphinx style docstring."""
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    notes: dict[str, str] = {}
    section: Optional[str] = None
    base: Optional[int] = None
    current: Optional[str] = None
    for index, line in enumerate(lines):
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        heading = _SECTION_RE.match(text)
        underlined = index + 1 < len(lines) and set(lines[index + 1].strip()) == {"-"}
        if (heading or underlined) and text and indent == 0:
            section, base, current = (heading.group(1) if heading else text).lower(), None, None
            continue
        if not text or set(text) == {"-"}:
            summary.extend([""] if section is None else [])
            continue
        sphinx = _SPHINX_PARAM_RE.match(text)
        if sphinx or text.startswith(":"):
            section, current = "sphinx", sphinx.group(1) if sphinx else None
            if current:
                notes[current] = sphinx.group(2).strip() if sphinx else ""
            continue
        if section is None:
            summary.append(line)
            continue
        if section == "sphinx" or section in _PARAM_SECTIONS:
            base = indent if base is None else base
            numpy = _NUMPY_PARAM_RE.match(text)
            google = None if numpy else _GOOGLE_PARAM_RE.match(text)
            if section != "sphinx" and indent <= base and (numpy or google):
                current = str(cast("re.Match[str]", numpy or google).group(1))
                notes[current] = google.group(2).strip() if google else ""
            elif current:
                notes[current] = f"{notes[current]} {text}".strip()
    first = "\n".join(summary).strip().split("\n\n")[0]
    return " ".join(first.split()), notes
