"""Corpus-scale embedding: the batch engine against a plain loop and AsyncOpenAI, side by side.

Usage: ``.venv/bin/python benchmarks/bench_batch.py [--items N] [--out DIR] [--quick]``
(``make bench`` runs it after run.py). It starts the local BabyAPI server (babyapi[server])
in its own process, then measures, each in a
fresh process:

- items/s and client CPU per item for: the batch engine (``client.batch.embed``), a plain loop
  of ``embeddings.create`` calls (one text per call, on a subset, the way a script is written
  first), and ``asyncio.gather`` over ``AsyncOpenAI`` with a semaphore (batches of 64, 16 at
  once: the hand-written loop the engine replaces);
- the engine's throughput as concurrency goes 1 -> 64;
- peak RSS of the engine over a 1,000,000-item generator against a 10,000-item one.

Embeddings are asked with ``dimensions=64`` (``8`` for the RSS run) so JSON parsing of
1,024-dimension vectors does not drown the client's own cost. Results replace the
"Corpus-scale jobs" section of RESULTS.md and draw batch.png.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
BATCH = 64
CONCURRENCY = 16
DIMENSIONS = 64
MODEL = "qwen3-embedding"
SECTION = "## Corpus-scale jobs (benchmarks/bench_batch.py)"

CHILD = r"""
import asyncio, json, resource, sys, time
mode, url, items, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
texts = (f"short text number {i} about topic {i % 97}" for i in range(items))
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
start_wall, start_cpu = time.perf_counter(), cpu()
if mode == "engine":
    from babyapi import BabyAPI
    with BabyAPI(api_key="bench", base_url=url) as client:
        summary = client.batch.embed(texts, model=extra["model"], batch_size=extra["batch"],
                                     concurrency=extra["concurrency"], progress=False,
                                     dimensions=extra["dimensions"]).run()
    assert summary.succeeded == items, summary
elif mode == "loop":
    from babyapi import BabyAPI
    with BabyAPI(api_key="bench", base_url=url) as client:
        for text in texts:
            client.embeddings.create(model=extra["model"], input=text, dimensions=extra["dimensions"])
elif mode == "openai":
    from openai import AsyncOpenAI
    async def main():
        client = AsyncOpenAI(api_key="bench", base_url=url + "/v1")
        gate = asyncio.Semaphore(extra["concurrency"])
        pending = list(texts)
        batches = [pending[i:i + extra["batch"]] for i in range(0, len(pending), extra["batch"])]
        async def one(batch):
            async with gate:
                answer = await client.embeddings.create(model=extra["model"], input=batch,
                                                        dimensions=extra["dimensions"])
                return len(answer.data)
        done = sum(await asyncio.gather(*(one(b) for b in batches)))
        await client.close()
        assert done == items
    asyncio.run(main())
wall, used = time.perf_counter() - start_wall, cpu() - start_cpu
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"items_per_s": items / wall, "cpu_us_per_item": used / items * 1e6,
                  "peak_rss_mib": peak_kib / 1024, "wall_s": wall}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    # The project's own runner: uvicorn's CLI with --workers answered a one-text request in
    # ~44 ms (delayed ACKs on its writes) even to raw httpx, which only measured the server.
    command = [sys.executable, "-m", "babyapi.server", "--port", str(port)]
    command += ["--log-level", "warning"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"the local server did not start on port {port}")


def measure(mode: str, url: str, items: int, **extra: Any) -> Dict[str, float]:
    settings = {
        "model": MODEL,
        "batch": BATCH,
        "concurrency": CONCURRENCY,
        "dimensions": DIMENSIONS,
    }
    settings.update(extra)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, url, str(items), json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-2000:]}")
    result: Dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(items: int, out: Path, quick: bool) -> str:
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        rows: Dict[str, Dict[str, float]] = {}
        rows["babyapi batch engine"] = measure("engine", url, items)
        rows["plain embeddings.create loop"] = measure("loop", url, max(100, items // 20))
        try:
            import openai  # noqa: F401

            rows["AsyncOpenAI + gather + semaphore"] = measure("openai", url, items)
        except ImportError:
            pass
        curve = {
            level: measure("engine", url, max(1_000, items // 5), concurrency=level)["items_per_s"]
            for level in (1, 2, 4, 8, 16, 32, 64)
        }
        small_items, big = (1_000, 10_000) if quick else (10_000, 1_000_000)
        rss_small = measure("engine", url, small_items, dimensions=8)
        rss_big = measure("engine", url, big, dimensions=8)
    finally:
        server.terminate()
        server.wait(timeout=30)
    chart = draw(curve, out)
    return report(items, rows, curve, (small_items, rss_small), (big, rss_big), chart)


def report(
    items: int,
    rows: Dict[str, Dict[str, float]],
    curve: Dict[int, float],
    small_run: tuple[int, Dict[str, float]],
    big_run: tuple[int, Dict[str, float]],
    chart: str,
) -> str:
    (small_items, small), (big_items, big) = small_run, big_run
    engine = rows["babyapi batch engine"]
    lines = [
        SECTION,
        "",
        f"{items:,} short texts, `dimensions={DIMENSIONS}`, batches of {BATCH}, concurrency "
        f"{CONCURRENCY}, the local server (`python -m babyapi.server`, one process) on the same "
        "2-core machine, so server and client share the CPU. Each figure is one fresh process.",
        "",
        "| client | items/s | vs engine | client CPU µs/item |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        ratio = row["items_per_s"] / engine["items_per_s"]
        lines.append(
            f"| {name} | {row['items_per_s']:,.0f} | {ratio:.2f}x | {row['cpu_us_per_item']:,.0f} |"
        )
    lines += ["", "Engine throughput by concurrency (batches of 64):", ""]
    lines += ["| concurrency | " + " | ".join(str(c) for c in curve) + " |"]
    lines += ["|---" * (len(curve) + 1) + "|"]
    lines += ["| items/s | " + " | ".join(f"{v:,.0f}" for v in curve.values()) + " |", ""]
    lines += [
        f"Peak RSS of the engine process: {small['peak_rss_mib']:.1f} MiB for {small_items:,} items, "
        f"{big['peak_rss_mib']:.1f} MiB for {big_items:,} items from a generator "
        f"({big['items_per_s']:,.0f} items/s): memory is bounded by the window, not the input.",
        "",
    ]
    if chart:
        lines += [f"![engine throughput by concurrency]({chart})", ""]
    return "\n".join(lines)


def draw(curve: Dict[int, float], out: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ""
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.plot(list(curve), list(curve.values()), marker="o")
    axis.set_xscale("log", base=2)
    axis.set_xlabel("concurrency (requests in flight)")
    axis.set_ylabel("items/s")
    axis.set_title("babyapi batch engine: embeddings, batches of 64")
    figure.tight_layout()
    figure.savefig(out / "batch.png", dpi=110)
    plt.close(figure)
    return "batch.png"


def merge(results: Path, section: str) -> None:
    """Replace (or add) this benchmark's section of RESULTS.md, leaving the rest alone."""
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(SECTION) + r".*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub("", text).rstrip() + "\n\n" + section.rstrip() + "\n"
    results.write_text(text, encoding="utf-8")


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke test")
    args = parser.parse_args(argv)
    items = 2_000 if args.quick else args.items
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "0")
    section = run(items, args.out, args.quick)
    merge(args.out / "RESULTS.md", section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
