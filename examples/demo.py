"""`make demo`: start a local BabyAPI server on a free port, run every example against it, stop it.

The examples are the other scripts in this directory, in alphabetical order; each runs in its
own interpreter with BABYAPI_BASE_URL and BABYAPI_API_KEY pointing at the local server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

from babyapi.server import LocalServer

HERE = Path(__file__).resolve().parent
API_KEY = "demo-key"


def example_scripts() -> List[Path]:
    """Every example script but this one."""
    return sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)


def main() -> int:
    scripts = example_scripts()
    failed: List[str] = []
    with LocalServer(api_key=API_KEY) as server:
        print(f"Local BabyAPI server on {server.base_url}; running {len(scripts)} examples.")
        env = {**os.environ, "BABYAPI_API_KEY": API_KEY, "BABYAPI_BASE_URL": server.base_url}
        env.pop("BABY_API_KEY", None)
        env.pop("BABYAPI_DEFAULT_MODEL", None)
        for script in scripts:
            print(f"\n##### examples/{script.name}", flush=True)
            done = subprocess.run([sys.executable, str(script)], env=env, timeout=300)
            if done.returncode != 0:
                failed.append(script.name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nAll {len(scripts)} examples ran.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
