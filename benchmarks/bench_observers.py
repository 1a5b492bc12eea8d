"""What watching calls costs, side by side in one run: nothing attached, a UsageTracker,
OpenTelemetry on the API's no-op providers, OpenTelemetry with the SDK; and, given
``--baseline-src``, babyapi from another source tree (the code before a change), which shows
that the hooks cost nothing while no observer is attached.

Usage: ``.venv/bin/python benchmarks/bench_observers.py [--rounds 5] [--baseline-src DIR]``
(DIR is a ``src`` folder, such as a checkout of main's). Each (variant, scenario, round) runs
in a fresh process (benchmarks/clients.py); rounds are interleaved in a rotated order; the
table shows medians and the ratio to babyapi with nothing attached.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from run import HERE, BenchServer, Sample, child_env, interleaved, log, run_json

# Variant name -> the BABYAPI_BENCH_OBSERVE value benchmarks/clients.py reads.
VARIANTS = {"off": "", "usage": "usage", "otel (no-op)": "otel", "otel (sdk)": "otel-sdk"}
BASELINE = "baseline tree, off"
FIGURES = {"chat": "cpu_us_per_call", "stream": "cpu_us_per_chunk"}


def sample(variant: str, scenario: str, port: int, n: int, baseline: Optional[Path]) -> Sample:
    env = child_env()
    env["BABYAPI_BENCH_OBSERVE"] = VARIANTS.get(variant, "")
    if variant == BASELINE and baseline is not None:
        env["PYTHONPATH"] = str(baseline)
    args = (
        ["--n", str(n), "--warmup", "50"]
        if scenario == "chat"
        else ["--n", "4", "--chunks", "2000", "--warmup", "1"]
    )
    result = run_json(
        [sys.executable, str(HERE / "clients.py"), "babyapi", scenario, "--port", str(port), *args],
        env,
    )
    if variant == BASELINE and baseline is not None and "error" not in result:
        result["from"] = str(baseline)
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="The cost of observers, side by side.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=1000, help="chat calls per process")
    parser.add_argument("--baseline-src", type=Path, help="another babyapi src folder to compare")
    args = parser.parse_args(argv)
    variants = list(VARIANTS) + ([BASELINE] if args.baseline_src else [])
    started = time.monotonic()
    rows: Dict[str, Dict[str, float]] = {v: {} for v in variants}
    with BenchServer() as server:
        for scenario, figure in FIGURES.items():
            samples = interleaved(
                variants,
                args.rounds,
                lambda v, s=scenario: sample(v, s, server.port, args.n, args.baseline_src),
                scenario,
                started,
            )
            for variant, got in samples.items():
                values = [s[figure] for s in got if figure in s]
                if values:
                    rows[variant][scenario] = statistics.median(values)
                else:
                    log(f"{scenario}: {variant}: {got[-1] if got else 'no sample'}", started)
    print(f"babyapi observers, medians of {args.rounds} rounds, CPU in the client process\n")
    print("| variant | chat CPU/call (µs) | ratio | stream CPU/chunk (µs) | ratio |")
    print("|---|---|---|---|---|")
    off = rows["off"]
    for variant in variants:
        cells = []
        for scenario in FIGURES:
            value = rows[variant].get(scenario)
            base = off.get(scenario)
            cells.append("-" if value is None else f"{value:,.1f}")
            cells.append("-" if value is None or not base else f"{value / base:.2f}x")
        print(f"| {variant} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
