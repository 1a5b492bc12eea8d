"""`make demo`: start a local BabyAPI server on a free port, run the quick start against it, stop it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from babyapi.server import LocalServer

HERE = Path(__file__).resolve().parent


def main() -> int:
    with LocalServer(api_key="demo-key") as server:
        print(f"Local BabyAPI server on {server.base_url}\n")
        env = {**os.environ, "BABYAPI_API_KEY": "demo-key", "BABYAPI_BASE_URL": server.base_url}
        env.pop("BABY_API_KEY", None)
        return subprocess.run(
            [sys.executable, str(HERE / "quickstart.py")], env=env, timeout=300
        ).returncode


if __name__ == "__main__":
    raise SystemExit(main())
