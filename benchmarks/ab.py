"""A/B in one run: this tree's babyapi against another git ref's, on the same local server.

Usage: ``python benchmarks/ab.py [--ref main] [--scenarios chat,async] [--rounds 5]``

The other ref's ``src/`` is exported (``git archive``) to a temporary directory; each
(round, side, scenario) runs ``benchmarks/clients.py babyapi SCENARIO`` in a fresh process
with ``PYTHONPATH`` pointing at that side's ``src/``, the sides alternating, so that a busy
moment of a shared machine falls on both. Prints the median CPU time per call of each side
and their ratio (this / ref): below 1.0 is faster. CPU time, not wall time: it is what a
change to the client costs, and what a loaded machine disturbs least.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List

from run import BenchServer  # pyright: ignore[reportImplicitRelativeImport]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Calls per sample (async: batches of 64 calls each).
CALLS = {"chat": 2000, "async": 20}


def export(ref: str, into: Path) -> Path:
    """``src/`` of ``ref``, unpacked under ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    tar_path = into / "src.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into)  # our own repository's tree
    return into / "src"


def measure(src: Path, scenario: str, port: int, scale: float) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    args = ["--n", str(max(1, int(CALLS[scenario] * scale)))]
    if scenario == "async":
        args += ["--concurrency", "64"]
    done = subprocess.run(
        [sys.executable, str(HERE / "clients.py"), "babyapi", scenario, "--port", str(port), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(json.loads(done.stdout.splitlines()[-1])["cpu_us_per_call"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main")
    parser.add_argument("--scenarios", default="chat,async")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="scale the calls per sample")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    with tempfile.TemporaryDirectory() as tmp, BenchServer() as server:
        sides = {args.ref: export(args.ref, Path(tmp)), "this tree": ROOT / "src"}
        samples: Dict[str, Dict[str, List[float]]] = {s: {n: [] for n in sides} for s in scenarios}
        for _ in range(args.rounds):
            for scenario in scenarios:
                for name, src in sides.items():
                    samples[scenario][name].append(measure(src, scenario, server.port, args.scale))
    print(f"| scenario | {args.ref} (CPU us/call) | this tree | this / {args.ref} |")
    print("|---|---|---|---|")
    for scenario in scenarios:
        before = statistics.median(samples[scenario][args.ref])
        after = statistics.median(samples[scenario]["this tree"])
        print(f"| {scenario} | {before:.1f} | {after:.1f} | {after / before:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
