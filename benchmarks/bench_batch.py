"""Corpus-scale jobs: the batch engine against hand-written loops, side by side in one run.

Usage: ``.venv/bin/python benchmarks/bench_batch.py [--items N] [--rounds R] [--out DIR] [--quick]``
(``make bench`` runs it after run.py). It starts the local BabyAPI server (babyapi[server])
in its own process, then measures, each (client, round) in a fresh process, rounds
interleaved with the client order rotated, medians reported:

- embeddings, batches of 64, 16 in flight: the batch engine (``client.batch.embed`` on the
  sync client), ``asyncio.gather`` over ``AsyncOpenAI`` with a semaphore (the hand-written
  loop the engine replaces; it asks base64 and decodes, as openai-python does), and a raw
  aiohttp gather loop asking base64 and decoding it to floats (the ceiling on that server);
  plus a plain loop of ``embeddings.create`` calls (one text per call, on a subset);
- chat, short prompts, ``max_tokens=8``, 16 in flight: ``client.batch.chat`` against the same
  two loops;
- the engine's embeddings throughput as concurrency goes 1 -> 64;
- peak RSS of the engine over a long generator against a short one.

Embeddings are asked with ``dimensions=64`` (``8`` for the RSS run) so parsing
1,024-dimension vectors does not drown the client's own cost. Each child first runs a small
job of the same kind, untimed, so that imports and first-use loading (process start-up, whose
cost has its own target in run.py) fall outside the figures of every client alike; the timed
job then builds its client, session and (for the engine) its event-loop thread afresh, as any
job does. Client CPU is user + system time of the client process during the timed job; the
children run with bytecode caching on (``run.child_env``), as installed packages have it.
Results replace the "Corpus-scale jobs" section of RESULTS.md and draw batch.png.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from run import child_env  # pyright: ignore[reportImplicitRelativeImport]

HERE = Path(__file__).resolve().parent
BATCH = 64
CONCURRENCY = 16
DIMENSIONS = 64
MODEL = "qwen3-embedding"
CHAT_MODEL = "mistral"
MAX_TOKENS = 8
SECTION = "## Corpus-scale jobs (benchmarks/bench_batch.py)"

CHILD = r"""
import asyncio, json, resource, sys, time
mode, url, items, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
conc, size = extra["concurrency"], extra["batch"]
def texts(count):
    return (f"short text number {i} about topic {i % 97}" for i in range(count))
def prompts(count):
    return [f"question {i}: say hi" for i in range(count)]
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
def batches(count):
    pending = list(texts(count))
    return [pending[i:i + size] for i in range(0, len(pending), size)]
def floats(text):
    import array, base64
    vector = array.array("f")
    vector.frombytes(base64.b64decode(text))
    return vector.tolist()
async def gather(one, work):
    gate = asyncio.Semaphore(conc)
    async def gated(unit):
        async with gate:
            return await one(unit)
    return sum(await asyncio.gather(*(gated(unit) for unit in work)))
def engine(count):
    from babyapi import BabyAPI
    with BabyAPI(api_key="bench", base_url=url) as client:
        summary = client.batch.embed(texts(count), model=extra["model"], batch_size=size,
                                     concurrency=conc, progress=False,
                                     dimensions=extra["dimensions"]).run()
    assert summary.succeeded == count, summary
def loop(count):
    from babyapi import BabyAPI
    with BabyAPI(api_key="bench", base_url=url) as client:
        for text in texts(count):
            client.embeddings.create(model=extra["model"], input=text, dimensions=extra["dimensions"])
def openai(count):
    from openai import AsyncOpenAI
    async def main():
        client = AsyncOpenAI(api_key="bench", base_url=url + "/v1")
        async def one(batch):
            answer = await client.embeddings.create(model=extra["model"], input=batch,
                                                    dimensions=extra["dimensions"])
            return len(answer.data)
        assert await gather(one, batches(count)) == count
        await client.close()
    asyncio.run(main())
def raw_aiohttp(count):
    import aiohttp
    async def main():
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer bench"}) as session:
            async def one(batch):
                body = {"model": extra["model"], "input": batch, "dimensions": extra["dimensions"],
                        "encoding_format": "base64"}
                async with session.post(url + "/v1/embeddings", json=body) as response:
                    answer = await response.json()
                return len([floats(entry["embedding"]) for entry in answer["data"]])
            assert await gather(one, batches(count)) == count
    asyncio.run(main())
def chat_engine(count):
    from babyapi import BabyAPI
    with BabyAPI(api_key="bench", base_url=url) as client:
        summary = client.batch.chat(prompts(count), model=extra["chat_model"], concurrency=conc,
                                    max_tokens=extra["max_tokens"], progress=False).run()
    assert summary.succeeded == count, summary
def chat_openai(count):
    from openai import AsyncOpenAI
    async def main():
        client = AsyncOpenAI(api_key="bench", base_url=url + "/v1")
        async def one(prompt):
            answer = await client.chat.completions.create(
                model=extra["chat_model"], max_tokens=extra["max_tokens"],
                messages=[{"role": "user", "content": prompt}])
            return int(answer.choices[0].message.content is not None)
        assert await gather(one, prompts(count)) == count
        await client.close()
    asyncio.run(main())
def chat_aiohttp(count):
    import aiohttp
    async def main():
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer bench"}) as session:
            async def one(prompt):
                body = {"model": extra["chat_model"], "max_tokens": extra["max_tokens"],
                        "messages": [{"role": "user", "content": prompt}]}
                async with session.post(url + "/v1/chat/completions", json=body) as response:
                    answer = await response.json()
                return int(answer["choices"][0]["message"]["content"] is not None)
            assert await gather(one, prompts(count)) == count
    asyncio.run(main())
job = {"engine": engine, "loop": loop, "openai": openai, "aiohttp": raw_aiohttp,
       "chat-engine": chat_engine, "chat-openai": chat_openai, "chat-aiohttp": chat_aiohttp}[mode]
# Process start-up is not the job's: a small job of the same kind first, untimed, loads every
# module (the import cost has its own target in run.py). The timed job then builds its client
# and session afresh, as every job does.
job(2 * size if mode in ("engine", "openai", "aiohttp") else 2 * conc)
start_wall, start_cpu = time.perf_counter(), cpu()
job(items)
wall, used = time.perf_counter() - start_wall, cpu() - start_cpu
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"items_per_s": items / wall, "cpu_us_per_item": used / items * 1e6,
                  "peak_rss_mib": peak_kib / 1024, "wall_s": wall}))
"""

EMBED_CLIENTS = {
    "babyapi batch engine": "engine",
    "AsyncOpenAI + gather + semaphore": "openai",
    "raw aiohttp + gather, base64": "aiohttp",
}
CHAT_CLIENTS = {
    "babyapi batch.chat": "chat-engine",
    "AsyncOpenAI + gather + semaphore": "chat-openai",
    "raw aiohttp + gather": "chat-aiohttp",
}


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
        "chat_model": CHAT_MODEL,
        "max_tokens": MAX_TOKENS,
        "batch": BATCH,
        "concurrency": CONCURRENCY,
        "dimensions": DIMENSIONS,
    }
    settings.update(extra)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, url, str(items), json.dumps(settings)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-2000:]}")
    result: Dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def paired(
    clients: Dict[str, str], url: str, items: int, rounds: int
) -> Dict[str, Dict[str, float]]:
    """Every client once per round, the order rotated each round; medians over the rounds."""
    names = list(clients)
    runs: Dict[str, List[Dict[str, float]]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            runs[name].append(measure(clients[name], url, items))
    return {
        name: {
            key: statistics.median(run[key] for run in results)
            for key in ("items_per_s", "cpu_us_per_item")
        }
        for name, results in runs.items()
    }


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def run(items: int, rounds: int, out: Path, quick: bool) -> str:
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}"
    load_start = load()
    try:
        embed = paired(EMBED_CLIENTS, url, items, rounds)
        chat = paired(CHAT_CLIENTS, url, max(500, items // 5), rounds)
        loop = measure("loop", url, max(100, items // 20))
        curve = {
            level: measure("engine", url, max(1_000, items // 5), concurrency=level)["items_per_s"]
            for level in (1, 2, 4, 8, 16, 32, 64)
        }
        small_items, big = (1_000, 10_000) if quick else (10_000, 50_000)
        rss_small = measure("engine", url, small_items, dimensions=8)
        rss_big = measure("engine", url, big, dimensions=8)
    finally:
        server.terminate()
        server.wait(timeout=30)
    chart = draw(curve, out)
    return report(
        items,
        rounds,
        (embed, chat, loop),
        curve,
        (small_items, rss_small),
        (big, rss_big),
        chart,
        (load_start, load()),
    )


def table(rows: Dict[str, Dict[str, float]], engine: str) -> List[str]:
    lines = ["| client | items/s | engine vs it | client CPU µs/item |", "|---|---|---|---|"]
    for name, row in rows.items():
        ratio = rows[engine]["items_per_s"] / row["items_per_s"]
        lines.append(
            f"| {name} | {row['items_per_s']:,.0f} | {ratio:.2f}x | {row['cpu_us_per_item']:,.1f} |"
        )
    return lines


def targets(rows: Dict[str, Dict[str, float]], engine: str, loop: str, ceiling: str) -> List[str]:
    mine, theirs, top = rows[engine], rows[loop], rows[ceiling]
    checks = [
        (
            f"{engine} items/s >= 1.2x {loop}",
            mine["items_per_s"] / theirs["items_per_s"],
            1.2,
            True,
        ),
        (
            f"{engine} items/s >= 0.9x {ceiling}",
            mine["items_per_s"] / top["items_per_s"],
            0.9,
            True,
        ),
        (
            f"{engine} CPU/item < {loop}'s",
            mine["cpu_us_per_item"] / theirs["cpu_us_per_item"],
            1.0,
            False,
        ),
    ]
    return [
        f"| {what} | {ratio:.2f}x | {'PASS' if (ratio >= bound if higher else ratio < bound) else 'MISS'} |"
        for what, ratio, bound, higher in checks
    ]


def report(
    items: int,
    rounds: int,
    measured: tuple[Dict[str, Dict[str, float]], Dict[str, Dict[str, float]], Dict[str, float]],
    curve: Dict[int, float],
    small_run: tuple[int, Dict[str, float]],
    big_run: tuple[int, Dict[str, float]],
    chart: str,
    loads: tuple[str, str],
) -> str:
    embed, chat, loop = measured
    (small_items, small), (big_items, big) = small_run, big_run
    engine, chat_engine = "babyapi batch engine", "babyapi batch.chat"
    lines = [
        SECTION,
        "",
        f"Load average (1 / 5 / 15 min) at the start {loads[0]}, at the end {loads[1]}: the "
        "machine is shared, so read the ratios (paired, same run) rather than the absolute rates.",
        "The local server (`python -m babyapi.server`, one process) runs on the same 2-core "
        f"machine, so server and client share the CPU. Medians of {rounds} rounds, each client "
        "a fresh process per round, rounds interleaved with the order rotated. Each process "
        "first runs a small untimed job of the same kind: imports and first-use loading are "
        "outside every client's figures alike.",
        "",
        f"Embeddings: {items:,} short texts, `dimensions={DIMENSIONS}`, batches of {BATCH}, "
        f"{CONCURRENCY} in flight.",
        "",
        *table(embed, engine),
        "",
        f"Chat: {max(500, items // 5):,} short prompts, `max_tokens={MAX_TOKENS}`, "
        f"{CONCURRENCY} in flight.",
        "",
        *table(chat, chat_engine),
        "",
        "| target | measured | result |",
        "|---|---|---|",
        *targets(embed, engine, "AsyncOpenAI + gather + semaphore", "raw aiohttp + gather, base64"),
        *targets(chat, chat_engine, "AsyncOpenAI + gather + semaphore", "raw aiohttp + gather"),
        "",
        f"A plain loop of `embeddings.create` calls (one text per call, no concurrency): "
        f"{loop['items_per_s']:,.0f} items/s, {loop['cpu_us_per_item']:,.0f} µs CPU/item.",
        "",
        "Engine throughput by concurrency (batches of 64):",
        "",
        "| concurrency | " + " | ".join(str(c) for c in curve) + " |",
        "|---" * (len(curve) + 1) + "|",
        "| items/s | " + " | ".join(f"{v:,.0f}" for v in curve.values()) + " |",
        "",
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
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke test")
    args = parser.parse_args(argv)
    items = 2_000 if args.quick else args.items
    section = run(items, 1 if args.quick else args.rounds, args.out, args.quick)
    merge(args.out / "RESULTS.md", section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
