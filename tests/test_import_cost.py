"""``import babyapi`` loads the shells, the resources and the core, and no capability.

Capabilities (batch jobs, tools, structured outputs, the Responses API, integrations, and any
added later) load on first use; docs/architecture.md says how to attach a new one so.
"""

from __future__ import annotations

import json
import subprocess
import sys

# What `import babyapi` may load: everything else under babyapi waits for first use.
ALLOWED_PREFIXES = ("babyapi._", "babyapi.resources")
CAPABILITIES = (
    "babyapi.batch",
    "babyapi.tools",
    "babyapi.structured",
    "babyapi._schema",
    "babyapi.resources.responses",
    "babyapi.integrations",
    "babyapi.cli",
    "babyapi.server",
    "babyapi._aiohttp",
)
HEAVY = ("anyio", "asyncio", "aiohttp", "pydantic", "opentelemetry", "ray")


def _loaded_by_import(module: str = "babyapi") -> list[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_import_babyapi_loads_no_capability_and_nothing_heavy() -> None:
    loaded = _loaded_by_import()
    ours = [name for name in loaded if name.startswith("babyapi.")]
    assert [
        name for name in ours if any(name == c or name.startswith(c + ".") for c in CAPABILITIES)
    ] == []
    assert [name for name in ours if not name.startswith(ALLOWED_PREFIXES)] == []
    # What httpx itself loads is not ours to avoid (httpx 0.25's httpcore imports anyio).
    by_httpx = set(_loaded_by_import("httpx"))
    assert [name for name in HEAVY if name in loaded and name not in by_httpx] == []


def test_a_capability_loads_when_first_used() -> None:
    code = (
        "import sys, babyapi\n"
        "client = babyapi.BabyAPI(api_key='k', base_url='http://127.0.0.1:9')\n"
        "before = 'babyapi.batch' in sys.modules\n"
        "client.batch\n"
        "print(before, 'babyapi.batch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"]
