"""Run babyapi and its peers side by side; write RESULTS.md and results.png.

Usage: ``.venv/bin/python benchmarks/run.py [--quick] [--out DIR] [--rounds N]
[--clients a,b] [--scenarios a,b] [--profile-missed]`` (``make bench`` runs it
with no arguments; ``--quick`` is the smoke-test mode: tiny counts, one round,
output into a temporary directory unless ``--out`` says otherwise).

Method: one fast local server (benchmarks/server.py) on 127.0.0.1; every
(client, scenario, round) runs in a fresh process (benchmarks/clients.py);
rounds are interleaved, each round in a rotated client order; the median of
the rounds is reported, and every figure also as a ratio to the floor, raw
httpx (+ httpx-sse for streams). The SSE decoder figures come from
benchmarks/bench_sse.py's ``run()``, itself run in a fresh process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEER_VERSION = "0.2.0"
PEER_NAME = f"babyapi-{PEER_VERSION}"
PEER_DIR = HERE / ".peers" / PEER_NAME
WORK_DIR = HERE / ".work"
CORE_CLIENTS = ("httpx", "openai", PEER_NAME, "babyapi")
# Async-only columns: raw aiohttp (the ceiling), AsyncBabyAPI pinned to httpx, and the
# option the aiohttp transport was chosen over (httpx with the httpx-aiohttp transport).
ASYNC_CLIENTS = ("aiohttp", "babyapi-httpx", "httpx-aiohttp", "babyapi-httpx-aiohttp")
# Sync-only columns: BabyAPI on the standard library, and raw http.client (its floor).
SYNC_CLIENTS = ("babyapi-stdlib", "http.client")
CLIENTS = CORE_CLIENTS + ASYNC_CLIENTS + SYNC_CLIENTS
FLOOR = "httpx"
BEFORE = "babyapi-before"
SUBJECT = "babyapi"
ASYNC_CEILING = "aiohttp"
SCENARIOS = ("import", "chat", "stream", "async", "async_1k", "astream", "curve", "memory", "sse")
# Which columns each scenario measures (a new column adds itself here).
SCENARIO_CLIENTS = {
    "import": CORE_CLIENTS,
    "chat": CORE_CLIENTS + SYNC_CLIENTS,
    "stream": (*CORE_CLIENTS, "babyapi-stdlib"),
    "memory": CORE_CLIENTS,
    "async": CLIENTS,
    "async_1k": ("httpx", "babyapi", "aiohttp", "babyapi-httpx"),
    "astream": ("httpx", "babyapi", "aiohttp", "babyapi-httpx"),
    "curve": ("httpx", "babyapi", "aiohttp", "babyapi-httpx"),
}
# The clients.py scenario each harness scenario runs (async_1k is async at 1,024).
CHILD_SCENARIO = {"async_1k": "async"}
IMPORT_MODULES = {"httpx": "httpx", "openai": "openai", PEER_NAME: "babyapi", "babyapi": "babyapi"}
CHILD_TIMEOUT_S = 300.0
FLAT_MB = 1.0
MEM_EXTRA_MB = 1.0

# One measurement (or {"skipped": ...} / {"error": ...}) per client process.
Sample = Dict[str, Any]
Samples = Dict[str, List[Sample]]


@dataclass(frozen=True)
class Config:
    """How much work each figure does."""

    rounds: int = 5
    import_rounds: int = 20
    chat_n: int = 500
    chat_warmup: int = 50
    stream_n: int = 4
    stream_chunks: int = 2000
    stream_warmup: int = 1
    # Enough calls per sample (1,536 at 256) that a busy machine's scheduling evens out.
    async_batches: int = 6
    async_concurrency: int = 256
    async_warmup: int = 1
    async_rounds: int = 5
    async_1k_concurrency: int = 1024
    async_1k_batches: int = 2
    async_1k_rounds: int = 3
    astream_n: int = 8
    astream_rounds: int = 3
    curve_levels: str = "1,4,16,64,256,1024"
    curve_calls: int = 1024
    memory_n: int = 10_000
    memory_warmup: int = 200
    memory_rounds: int = 1
    sse_rounds: int = 15
    sse_huge_rounds: int = 5


FULL = Config()
QUICK = Config(
    rounds=1,
    import_rounds=1,
    chat_n=20,
    chat_warmup=2,
    stream_n=1,
    stream_chunks=50,
    stream_warmup=0,
    async_batches=1,
    async_concurrency=8,
    async_warmup=0,
    async_rounds=1,
    async_1k_concurrency=16,
    async_1k_rounds=1,
    astream_n=1,
    astream_rounds=1,
    curve_levels="1,4",
    curve_calls=8,
    memory_n=100,
    memory_warmup=5,
    memory_rounds=1,
    sse_rounds=1,
    sse_huge_rounds=1,
)


@dataclass(frozen=True)
class Figure:
    """One reported number per client: ``metric`` of ``scenario``, median of rounds."""

    key: str
    title: str
    scenario: str
    metric: str
    unit: str
    higher_is_better: bool
    # Memory growth is compared as a difference to the floor, not a ratio
    # (the floor's growth can be ~0).
    as_difference: bool = False


def figures(cfg: Config) -> List[Figure]:
    return [
        Figure("import", "import, minus interpreter start", "import", "import_ms", "ms", False),
        Figure(
            "chat_cpu", "chat round trip, client CPU/call", "chat", "cpu_us_per_call", "µs", False
        ),
        Figure("chat_wall", "chat round trip, wall/call", "chat", "wall_us_per_call", "µs", False),
        Figure(
            "stream_rate",
            f"stream of {cfg.stream_chunks:,} chunks, chunks/s",
            "stream",
            "chunks_per_s",
            "chunks/s",
            True,
        ),
        Figure("stream_cpu", "stream, client CPU/chunk", "stream", "cpu_us_per_chunk", "µs", False),
        Figure(
            "async_rate",
            f"async, {cfg.async_concurrency} concurrent, calls/s",
            "async",
            "calls_per_s",
            "calls/s",
            True,
        ),
        Figure("async_cpu", "async, client CPU/call", "async", "cpu_us_per_call", "µs", False),
        Figure(
            "async_peak",
            "async, peak RSS growth over the measured calls",
            "async",
            "peak_rss_growth_mb",
            "MB",
            False,
            as_difference=True,
        ),
        Figure(
            "async_1k_rate",
            f"async, {cfg.async_1k_concurrency:,} concurrent, calls/s",
            "async_1k",
            "calls_per_s",
            "calls/s",
            True,
        ),
        Figure(
            "async_1k_cpu",
            f"async, {cfg.async_1k_concurrency:,} concurrent, CPU/call",
            "async_1k",
            "cpu_us_per_call",
            "µs",
            False,
        ),
        Figure(
            "astream_rate",
            f"async stream of {cfg.stream_chunks:,} chunks, chunks/s",
            "astream",
            "chunks_per_s",
            "chunks/s",
            True,
        ),
        Figure(
            "astream_cpu", "async stream, CPU/chunk", "astream", "cpu_us_per_chunk", "µs", False
        ),
        *(
            Figure(
                f"curve_{level}",
                f"async curve, {int(level):,} concurrent, calls/s",
                "curve",
                f"calls_per_s_at_{level}",
                "calls/s",
                True,
            )
            for level in cfg.curve_levels.split(",")
        ),
        Figure(
            "mem_growth",
            f"RSS growth over {cfg.memory_n:,} calls",
            "memory",
            "rss_growth_mb",
            "MB",
            False,
            as_difference=True,
        ),
        Figure(
            "mem_peak",
            f"peak RSS growth over {cfg.memory_n:,} calls",
            "memory",
            "peak_rss_growth_mb",
            "MB",
            False,
            as_difference=True,
        ),
        Figure(
            "mem_flat",
            f"RSS growth, calls {cfg.memory_n // 2:,}-{cfg.memory_n:,}",
            "memory",
            "rss_growth_second_half_mb",
            "MB",
            False,
            as_difference=True,
        ),
    ]


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def child_env(extra_path: Optional[Path] = None) -> Dict[str, str]:
    """The environment for every child: same for all clients, loopback only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BABYAPI_", "OPENAI_"))}
    # Installed packages have cached bytecode; so must the editable checkout.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPATH", None)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return env


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """Terminate, then kill if it does not exit in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class BenchServer:
    """benchmarks/server.py as a subprocess; a context manager that stops it."""

    def __init__(self) -> None:
        self.proc: Optional[subprocess.Popen[str]] = None
        self.port = 0

    def __enter__(self) -> BenchServer:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        try:
            self.port = self._read_port(self.proc)
        except BaseException:
            stop_process(self.proc)
            raise
        return self

    @staticmethod
    def _read_port(proc: subprocess.Popen[str]) -> int:
        line: List[str] = []
        assert proc.stdout is not None
        stdout = proc.stdout
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=15)
        if not line or not line[0]:
            raise RuntimeError("benchmark server did not start")
        return int(json.loads(line[0])["port"])

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def run_json(cmd: List[str], env: Dict[str, str], timeout: float = CHILD_TIMEOUT_S) -> Sample:
    """Run one child; its last stdout line is the JSON result."""
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    try:
        result = json.loads(lines[-1])
    except ValueError:
        return {"error": f"not JSON: {lines[-1][:200]}"}
    if not isinstance(result, dict):
        return {"error": "not a JSON object"}
    return result


def log(msg: str, started: float) -> None:
    sys.stderr.write(f"[{time.monotonic() - started:6.1f}s] {msg}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

IMPORT_SNIPPET = (
    "import time\n"
    "t0 = time.perf_counter()\n"
    "import {module}\n"
    "t1 = time.perf_counter()\n"
    "import json\n"
    "print(json.dumps({{'import_ms': (t1 - t0) * 1e3, 'file': {module}.__file__}}))\n"
)


def import_sample(client: str) -> Sample:
    """Time ``import X`` inside a fresh interpreter, so interpreter start is excluded."""
    module = IMPORT_MODULES[client]
    peer = PEER_DIR if client == PEER_NAME else None
    sample = run_json(
        [sys.executable, "-c", IMPORT_SNIPPET.format(module=module)], child_env(peer), 60
    )
    if "error" in sample:
        return {"skipped": f"cannot import {module}"}
    if peer is not None and not str(sample.get("file", "")).startswith(str(peer)):
        return {"skipped": f"{PEER_NAME} not installed in {peer}"}
    return sample


def interpreter_start_ms() -> float:
    """Wall time of a bare ``python -c pass`` (for context in RESULTS.md)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=child_env(), check=True)
    return (time.perf_counter() - t0) * 1e3


def interleaved(
    clients: List[str], rounds: int, one: Callable[[str], Sample], label: str, started: float
) -> Samples:
    """``rounds`` rounds; each round runs every client once, in a rotated order."""
    samples: Samples = {c: [] for c in clients}
    active = list(clients)
    for r in range(rounds):
        order = active[r % len(active) :] + active[: r % len(active)] if active else []
        for client in order:
            sample = one(client)
            samples[client].append(sample)
            if "skipped" in sample or "error" in sample:
                reason = sample.get("skipped") or sample.get("error")
                log(f"{label}: {client}: {reason}", started)
                active.remove(client)
        log(f"{label}: round {r + 1}/{rounds} done", started)
    return samples


def scenario_args(scenario: str, cfg: Config) -> List[str]:
    if scenario == "chat":
        return ["--n", str(cfg.chat_n), "--warmup", str(cfg.chat_warmup)]
    if scenario == "stream":
        return [
            "--n",
            str(cfg.stream_n),
            "--chunks",
            str(cfg.stream_chunks),
            "--warmup",
            str(cfg.stream_warmup),
        ]
    if scenario == "async":
        return [
            "--n",
            str(cfg.async_batches),
            "--concurrency",
            str(cfg.async_concurrency),
            "--warmup",
            str(cfg.async_warmup),
        ]
    if scenario == "async_1k":
        return [
            "--n",
            str(cfg.async_1k_batches),
            "--concurrency",
            str(cfg.async_1k_concurrency),
            "--warmup",
            str(cfg.async_warmup),
        ]
    if scenario == "astream":
        return [
            "--n",
            str(cfg.astream_n),
            "--chunks",
            str(cfg.stream_chunks),
            "--warmup",
            str(cfg.stream_warmup),
        ]
    if scenario == "curve":
        return ["--n", str(cfg.curve_calls), "--levels", cfg.curve_levels]
    return ["--n", str(cfg.memory_n), "--warmup", str(cfg.memory_warmup)]


def client_cmd(client: str, scenario: str, port: int, cfg: Config) -> List[str]:
    return [
        sys.executable,
        str(HERE / "clients.py"),
        client,
        CHILD_SCENARIO.get(scenario, scenario),
        "--port",
        str(port),
        *scenario_args(scenario, cfg),
    ]


def run_sse(cfg: Config) -> Dict[str, Any]:
    """bench_sse.run() rows, from a fresh process; {"error"/"skipped": ...} otherwise."""
    if not (HERE / "bench_sse.py").exists():
        return {"skipped": "benchmarks/bench_sse.py not present"}
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import bench_sse\n"
        f"rows = bench_sse.run(rounds={cfg.sse_rounds}, huge_rounds={cfg.sse_huge_rounds})\n"
        "print(json.dumps({'rows': rows}))\n"
    )
    return run_json([sys.executable, "-c", code], child_env())


# ---------------------------------------------------------------------------
# Figures, ratios, targets
# ---------------------------------------------------------------------------


def medians(samples: Samples, metric: str) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for client, rows in samples.items():
        values = [float(row[metric]) for row in rows if metric in row]
        if values:
            out[client] = statistics.median(values)
    return out


def compare(fig: Figure, value: float, floor: Optional[float]) -> str:
    """The value against the floor: a ratio, or a difference for memory."""
    if floor is None:
        return "-"
    if fig.as_difference:
        return f"{value - floor:+.2f} MB"
    if floor == 0:
        return "-"
    return f"{value / floor:.2f}x"


def fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass(frozen=True)
class TargetResult:
    target: str
    measured: str
    status: str  # PASS, MISS or "n/a"


def _ratio_target(
    text: str,
    table: Dict[str, Dict[str, float]],
    key: str,
    peer: str,
    want: Callable[[float], bool],
    invert: bool = False,
    subject: str = SUBJECT,
) -> TargetResult:
    values = table.get(key, {})
    ours, theirs = values.get(subject), values.get(peer)
    if ours is None or theirs is None or ours == 0 or theirs == 0:
        return TargetResult(text, "not measured", "n/a")
    ratio = theirs / ours if invert else ours / theirs
    label = f"{peer}/{subject}" if invert else f"{subject}/{peer}"
    return TargetResult(text, f"{label} = {ratio:.2f}x", "PASS" if want(ratio) else "MISS")


def evaluate_targets(table: Dict[str, Dict[str, float]], sse: Dict[str, Any]) -> List[TargetResult]:
    """The issue's targets, each PASS, MISS or n/a (a figure that was not measured)."""
    results = [
        _ratio_target(
            "import babyapi <= 1.15x import httpx", table, "import", "httpx", lambda r: r <= 1.15
        ),
        _ratio_target(
            "import babyapi >= 5x faster than import openai",
            table,
            "import",
            "openai",
            lambda r: r >= 5,
            invert=True,
        ),
        _ratio_target(
            "chat CPU/call <= 1.15x raw httpx", table, "chat_cpu", "httpx", lambda r: r <= 1.15
        ),
        _ratio_target(
            "chat CPU/call <= 0.6x openai", table, "chat_cpu", "openai", lambda r: r <= 0.6
        ),
        _ratio_target(
            "stream chunks/s >= 0.9x httpx + httpx-sse",
            table,
            "stream_rate",
            "httpx",
            lambda r: r >= 0.9,
        ),
        _ratio_target(
            "stream chunks/s >= 1.5x openai", table, "stream_rate", "openai", lambda r: r >= 1.5
        ),
        # BabyAPI(transport="stdlib") streams at the same CPU per chunk as httpx, or less.
        _ratio_target(
            "stream CPU/chunk <= 1.0x httpx + httpx-sse (babyapi-stdlib)",
            table,
            "stream_cpu",
            "httpx",
            lambda r: r <= 1.0,
            subject="babyapi-stdlib",
        ),
    ]
    results += sse_targets(sse)
    results += [
        _ratio_target(
            "async calls/s >= 0.9x httpx.AsyncClient",
            table,
            "async_rate",
            "httpx",
            lambda r: r >= 0.9,
        ),
        _ratio_target(
            "async calls/s >= 1.3x AsyncOpenAI", table, "async_rate", "openai", lambda r: r >= 1.3
        ),
    ]
    results += async_targets(table)
    results += throughput_targets(table)
    growth = table.get("mem_growth", {})
    text = f"RSS growth <= raw httpx's + {MEM_EXTRA_MB:g} MB"
    if SUBJECT in growth and FLOOR in growth:
        extra = growth[SUBJECT] - growth[FLOOR]
        results.append(
            TargetResult(
                text,
                f"{growth[SUBJECT]:.2f} MB vs {growth[FLOOR]:.2f} MB ({extra:+.2f} MB)",
                "PASS" if extra <= MEM_EXTRA_MB else "MISS",
            )
        )
    else:
        results.append(TargetResult(text, "not measured", "n/a"))
    flat = table.get("mem_flat", {}).get(SUBJECT)
    text = f"RSS flat in the second half of the calls (<= {FLAT_MB:.0f} MB)"
    if flat is None:
        results.append(TargetResult(text, "not measured", "n/a"))
    else:
        results.append(TargetResult(text, f"{flat:+.2f} MB", "PASS" if flat <= FLAT_MB else "MISS"))
    return results


def async_targets(table: Dict[str, Dict[str, float]]) -> List[TargetResult]:
    """The fast path's targets: against httpx.AsyncClient and raw aiohttp, at 256 and 1,024."""
    out: List[TargetResult] = []
    for key, label in (("async", "256"), ("async_1k", "1,024")):
        out += [
            _ratio_target(
                f"async calls/s at {label} >= 10x httpx.AsyncClient",
                table,
                f"{key}_rate",
                FLOOR,
                lambda r: r >= 10,
            ),
            _ratio_target(
                f"async calls/s at {label} >= 0.7x raw aiohttp",
                table,
                f"{key}_rate",
                ASYNC_CEILING,
                lambda r: r >= 0.7,
            ),
            _ratio_target(
                f"async CPU/call at {label} <= 1.5x raw aiohttp",
                table,
                f"{key}_cpu",
                ASYNC_CEILING,
                lambda r: r <= 1.5,
            ),
        ]
    out.append(
        _ratio_target(
            "async stream chunks/s >= 0.9x aiohttp reading the same stream",
            table,
            "astream_rate",
            ASYNC_CEILING,
            lambda r: r >= 0.9,
        )
    )
    return out


# Sync columns other than the default BabyAPI that get a sync target row of their own when
# measured (a transport that may become the default).
SYNC_CANDIDATES = ("babyapi-stdlib",)
BATCH_SECTION = "## Corpus-scale jobs (benchmarks/bench_batch.py)"
BATCH_ANCHOR = "#corpus-scale-jobs-benchmarksbench_batchpy"


def throughput_targets(table: Dict[str, Dict[str, float]]) -> List[TargetResult]:
    """The targets of "Throughput at the floor" (import, async, httpx pool, sync transport).

    Its batch-job targets are bench_batch.py's, in that benchmark's own section of RESULTS.md
    (its own run, with its load figures): one row here points there.
    """
    out = [
        _ratio_target(
            "import babyapi <= 1.10x import httpx", table, "import", FLOOR, lambda r: r <= 1.10
        )
    ]
    for key, label in (("async", "256"), ("async_1k", "1,024")):
        out += [
            _ratio_target(
                f"async calls/s at {label} >= 0.9x raw aiohttp",
                table,
                f"{key}_rate",
                ASYNC_CEILING,
                lambda r: r >= 0.9,
            ),
            _ratio_target(
                f"async CPU/call at {label} <= 1.2x raw aiohttp",
                table,
                f"{key}_cpu",
                ASYNC_CEILING,
                lambda r: r <= 1.2,
            ),
        ]
    out.append(
        _ratio_target(
            "async on httpx (transport='httpx', default pool limits) calls/s at 256 "
            ">= 1.3x AsyncOpenAI",
            table,
            "async_rate",
            "openai",
            lambda r: r >= 1.3,
            subject="babyapi-httpx",
        )
    )
    # `babyapi` is BabyAPI() as it comes, on whichever sync transport is its default.
    sync = [(SUBJECT, "BabyAPI, default transport")]
    sync += [(c, c) for c in SYNC_CANDIDATES if c in table.get("chat_cpu", {})]
    for subject, label in sync:
        out.append(
            _ratio_target(
                f"sync chat CPU/call <= 0.6x raw httpx ({label})",
                table,
                "chat_cpu",
                FLOOR,
                lambda r: r <= 0.6,
                subject=subject,
            )
        )
    out.append(
        TargetResult(
            "batch embeddings and batch.chat: >= 1.2x the AsyncOpenAI loop, >= 0.9x the raw "
            "aiohttp loop, CPU/item below the AsyncOpenAI loop's",
            f"in [Corpus-scale jobs]({BATCH_ANCHOR}) below (benchmarks/bench_batch.py)",
            "see below",
        )
    )
    return out


def kept_batch_section(results: Path) -> str:
    """bench_batch.py's section of an existing RESULTS.md, kept when run.py rewrites the rest."""
    if not results.exists():
        return ""
    text = results.read_text(encoding="utf-8")
    start = text.find(BATCH_SECTION)
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(BATCH_SECTION))
    return text[start:] if end < 0 else text[start : end + 1]


def _sse_row(rows: List[Dict[str, Any]], workload: str, decoder: str) -> Optional[Dict[str, Any]]:
    for row in rows:
        if str(row.get("workload", "")).startswith(workload) and row.get("decoder") == decoder:
            return row
    return None


def sse_targets(sse: Dict[str, Any]) -> List[TargetResult]:
    rows: List[Dict[str, Any]] = sse.get("rows") or []
    chat = _sse_row(rows, "chat", SUBJECT)
    huge = _sse_row(rows, "huge", SUBJECT)
    out: List[TargetResult] = []
    for peer in ("httpx-sse", "openai"):
        text = f"SSE decoder MB/s >= 2x {peer}'s"
        key = f"x {peer}"
        if chat is None or chat.get(key) is None:
            out.append(TargetResult(text, "not measured", "n/a"))
        else:
            ratio = float(chat[key])
            out.append(TargetResult(text, f"{ratio:.2f}x", "PASS" if ratio >= 2 else "MISS"))
    text = "one 8 MiB event in 1 KiB chunks well under 100 ms"
    if huge is None or huge.get("ms") is None:
        out.append(TargetResult(text, "not measured", "n/a"))
    else:
        ms = float(huge["ms"])
        out.append(TargetResult(text, f"{ms:.1f} ms", "PASS" if ms < 100 else "MISS"))
    return out


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def versions() -> Dict[str, str]:
    from importlib import metadata

    out: Dict[str, str] = {}
    for dist in ("httpx", "httpx-sse", "openai", "babyapi", "aiohttp", "httpx-aiohttp"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    peer = next(PEER_DIR.glob("babyapi-*.dist-info"), None) if PEER_DIR.exists() else None
    out[PEER_NAME] = peer.name[len("babyapi-") : -len(".dist-info")] if peer else "not installed"
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
        out["babyapi"] += f" (this repository, {sha})"
    except (OSError, subprocess.CalledProcessError):
        out["babyapi"] += " (this repository)"
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}, {cpu}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def markdown_table(headers: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def figures_table(
    figs: List[Figure], table: Dict[str, Dict[str, float]], clients: List[str]
) -> str:
    headers = ["figure", "unit"] + [f"{c} (floor)" if c == FLOOR else c for c in clients]
    rows: List[List[str]] = []
    for fig in figs:
        values = table.get(fig.key, {})
        if not values:
            continue
        floor = values.get(FLOOR)
        arrow = "↑" if fig.higher_is_better else "↓"
        row = [f"{fig.title} {arrow}", fig.unit]
        for client in clients:
            value = values.get(client)
            row.append("-" if value is None else f"{fmt(value)} ({compare(fig, value, floor)})")
        rows.append(row)
    return markdown_table(headers, rows)


def sse_table(sse: Dict[str, Any]) -> str:
    rows: List[Dict[str, Any]] = sse.get("rows") or []
    if not rows:
        return f"Not run: {sse.get('skipped') or sse.get('error') or 'no rows'}."
    headers = list(rows[0])
    body = []
    for row in rows:
        cells = []
        for h in headers:
            v = row.get(h)
            cells.append("-" if v is None else fmt(v) if isinstance(v, (int, float)) else str(v))
        body.append(cells)
    return markdown_table(headers, body)


def write_results(
    out: Path,
    cfg: Config,
    quick: bool,
    figs: List[Figure],
    table: Dict[str, Dict[str, float]],
    clients: List[str],
    sse: Dict[str, Any],
    targets: List[TargetResult],
    notes: List[str],
    context: Dict[str, str],
) -> str:
    ver = versions()
    command = ".venv/bin/python benchmarks/run.py" + (" --quick" if quick else "")
    text = f"""# babyapi benchmarks

Generated by `make bench` (`{command}`) on {context["date"]}, in {context["elapsed"]}.

- Machine: {machine()}; load average (1 / 5 / 15 min) at start {context["load"]},
  at the end {context["load_end"]} (other work shares this machine).
- Clients: babyapi {ver["babyapi"]}; babyapi {ver[PEER_NAME]} (the published release);
  httpx {ver["httpx"]} + httpx-sse {ver["httpx-sse"]} (the floor); openai {ver["openai"]};
  aiohttp {ver["aiohttp"]} (raw: the async ceiling); httpx-aiohttp {ver["httpx-aiohttp"]}.
  `babyapi` is the default AsyncBabyAPI (aiohttp when installed); `babyapi-httpx` is
  `AsyncBabyAPI(transport="httpx")`; `babyapi-httpx-aiohttp` is AsyncBabyAPI given an
  httpx.AsyncClient on the httpx-aiohttp transport.
- Server: benchmarks/server.py (raw asyncio HTTP/1.1 keep-alive, canned responses)
  on 127.0.0.1, so the client's cost dominates.
- Method: every (client, scenario, round) runs in a fresh process; rounds are
  interleaved with a rotated client order; each figure is the median of
  {cfg.rounds} rounds ({cfg.import_rounds} for import, {cfg.async_rounds} for async,
  {cfg.memory_rounds} for memory). In brackets: the ratio to the floor, raw httpx
  (memory: the difference). ↓ lower is better, ↑ higher is better.
  CPU is `time.process_time()` in the client process (user + system).
- Work per call is the same for every client: send, parse the JSON, read the
  answer text; a stream reads every chunk's `delta.content` (JSON parsed for each).
  Each client uses its default settings (connection pool included), `max_retries=0`.
- Import: `import X` timed inside a fresh interpreter (bare interpreter start,
  {context["interpreter"]}, excluded).

## Figures

{figures_table(figs, table, clients)}

## Targets (babyapi)

{markdown_table(["target", "measured", "result"], [[t.target, t.measured, t.status] for t in targets])}

## SSE decoder alone (benchmarks/bench_sse.py `run()`)

{sse_table(sse)}
"""
    if notes:
        text += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    # `make bench` runs bench_batch.py next, which replaces its section; run alone, run.py
    # keeps the last one rather than dropping the batch-job figures.
    batch = kept_batch_section(out / "RESULTS.md")
    if batch:
        text += "\n" + batch.rstrip() + "\n"
    (out / "RESULTS.md").write_text(text, encoding="utf-8")
    return text


CLIENT_COLORS = {
    "httpx": "#7f7f7f",
    "httpx-sse": "#7f7f7f",
    "openai": "#1f77b4",
    PEER_NAME: "#ff7f0e",
    "babyapi": "#2ca02c",
    "aiohttp": "#d62728",
    "babyapi-httpx": "#98df8a",
    "httpx-aiohttp": "#8c564b",
    "babyapi-httpx-aiohttp": "#bcbd22",
}


def write_chart(
    out: Path,
    figs: List[Figure],
    table: Dict[str, Dict[str, float]],
    clients: List[str],
    sse: Dict[str, Any],
) -> Optional[str]:
    """results.png: one panel per figure; None, or why no chart was drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no chart (pip install -e '.[bench]')"

    panels: List[tuple[str, Dict[str, float], Figure]] = []
    for fig in figs:
        values = {c: table[fig.key][c] for c in clients if c in table.get(fig.key, {})}
        if values and fig.scenario != "curve":
            panels.append((f"{fig.title} ({fig.unit})", values, fig))
    curve = [f for f in figs if f.scenario == "curve" and table.get(f.key)]
    for workload, metric, higher in (("chat", "MB/s", True), ("huge", "ms", False)):
        values = {}
        for decoder in ("httpx-sse", "openai", SUBJECT):
            row = _sse_row(sse.get("rows") or [], workload, decoder)
            if row is not None and row.get(metric) is not None:
                values[decoder] = float(row[metric])
        if values:
            title = "SSE decoder, chat stream" if workload == "chat" else "SSE decoder, 8 MiB event"
            fig = Figure(workload, title, "sse", metric, metric, higher)
            panels.append((f"{title} ({metric})", values, fig))
    if not panels and not curve:
        return "nothing measured: no chart"

    cols = 3
    count = len(panels) + (1 if curve else 0)
    rows = (count + cols - 1) // cols
    canvas, axes = plt.subplots(rows, cols, figsize=(cols * 5.2, rows * 3.4), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    if curve:
        draw_curve(axes.flat[len(panels)], curve, table, clients)
    for ax, (title, values, fig) in zip(axes.flat, panels):
        names = list(values)
        heights = [values[n] for n in names]
        colors = [CLIENT_COLORS.get(n, "#9467bd") for n in names]
        bars = ax.bar(range(len(names)), heights, color=colors)
        floor = values.get(FLOOR) if fig.scenario != "sse" else values.get("httpx-sse")
        labels = []
        for h in heights:
            if floor and not fig.as_difference:
                labels.append(f"{fmt(h)}\n{h / floor:.2f}x")
            elif floor is not None and fig.as_difference:
                labels.append(f"{fmt(h)}\n{h - floor:+.2f}")
            else:
                labels.append(fmt(h))
        ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
        ax.set_xticks(range(len(names)), names, fontsize=8)
        arrow = "higher is better" if fig.higher_is_better else "lower is better"
        ax.set_title(f"{title}\n{arrow}", fontsize=9)
        ax.margins(y=0.3)
        ax.tick_params(axis="y", labelsize=7)
    canvas.suptitle("babyapi vs peers (median of rounds; ratio to the floor under each value)")
    canvas.tight_layout()
    canvas.savefig(out / "results.png", dpi=110)
    plt.close(canvas)
    return None


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def draw_curve(
    ax: Any, curve: List[Figure], table: Dict[str, Dict[str, float]], clients: List[str]
) -> None:
    """calls/s against concurrency, one line per client, both axes logarithmic."""
    levels = [int(f.metric.rsplit("_", 1)[1]) for f in curve]
    for client in clients:
        points = [
            (lv, table[f.key][client]) for lv, f in zip(levels, curve) if client in table[f.key]
        ]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", label=client, color=CLIENT_COLORS.get(client, "#9467bd"))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(levels, [str(lv) for lv in levels], fontsize=7)
    ax.set_xlabel("concurrent calls", fontsize=8)
    ax.set_title("async calls/s by concurrency (calls/s)\nhigher is better", fontsize=9)
    ax.legend(fontsize=7)
    ax.tick_params(axis="y", labelsize=7)


def ensure_peer(install: bool, started: float) -> Optional[str]:
    """Install the published babyapi into benchmarks/.peers/; a note if unavailable."""
    if (PEER_DIR / "babyapi" / "__init__.py").exists():
        return None
    if not install:
        return f"{PEER_NAME} not installed in {PEER_DIR}: skipped"
    log(f"installing babyapi=={PEER_VERSION} into {PEER_DIR}", started)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "--no-deps",
        "--target",
        str(PEER_DIR),
        f"babyapi=={PEER_VERSION}",
    ]
    try:
        subprocess.run(cmd, check=True, timeout=300, capture_output=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        return f"could not install babyapi=={PEER_VERSION}: {exc}; skipped"
    return None


def profile_missed(
    targets: List[TargetResult], port: int, cfg: Config, started: float
) -> List[str]:
    """cProfile babyapi in each scenario with a missed target; paths of the reports."""
    wanted = {
        "chat CPU": "chat",
        "stream chunks/s": "stream",
        "async calls/s": "async",
        "RSS": "memory",
    }
    scenarios = sorted(
        {
            s
            for t in targets
            if t.status == "MISS"
            for k, s in wanted.items()
            if t.target.startswith(k)
        }
    )
    reports = []
    WORK_DIR.mkdir(exist_ok=True)
    for scenario in scenarios:
        prof = WORK_DIR / f"profile-{scenario}.prof"
        cmd = [*client_cmd(SUBJECT, scenario, port, cfg), "--profile", str(prof)]
        log(f"profiling babyapi {scenario}", started)
        result = run_json(cmd, child_env())
        if "error" in result:
            continue
        report = WORK_DIR / f"profile-{scenario}.txt"
        code = (
            "import pstats, sys\n"
            "s = pstats.Stats(sys.argv[1], stream=open(sys.argv[2], 'w'))\n"
            "s.sort_stats('tottime').print_stats(30)\n"
            "s.sort_stats('cumulative').print_stats(40)\n"
        )
        subprocess.run([sys.executable, "-c", code, str(prof), str(report)], check=False)
        reports.append(str(report))
    return reports


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="babyapi vs peers, side by side.")
    parser.add_argument("--quick", action="store_true", help="tiny counts, one round (smoke test)")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout's src/: adds a babyapi-before column (same-run before/after)",
    )
    parser.add_argument("--out", type=Path, help="where RESULTS.md and results.png go")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument(
        "--no-install", action="store_true", help=f"do not pip install {PEER_NAME} if missing"
    )
    parser.add_argument(
        "--profile-missed",
        action="store_true",
        help="cProfile babyapi in scenarios with a missed target (into benchmarks/.work/)",
    )
    args = parser.parse_args(argv)
    for name, allowed in (("clients", CLIENTS), ("scenarios", SCENARIOS)):
        bad = [x for x in getattr(args, name).split(",") if x not in allowed]
        if bad:
            parser.error(f"unknown {name}: {', '.join(bad)} (choose from {', '.join(allowed)})")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    cfg = QUICK if args.quick else FULL
    if args.rounds:
        cfg = replace(cfg, rounds=args.rounds, import_rounds=max(args.rounds, cfg.import_rounds))
    out: Path = args.out or (
        Path(tempfile.mkdtemp(prefix="babyapi-bench-")) if args.quick else HERE
    )
    out.mkdir(parents=True, exist_ok=True)
    clients = [c for c in CLIENTS if c in args.clients.split(",")]
    if args.before is not None:
        os.environ["BENCH_BEFORE_SRC"] = str(args.before.resolve())
        clients.insert(clients.index(SUBJECT) + 1 if SUBJECT in clients else 0, BEFORE)
        for scenario in ("chat", "stream", "async", "async_1k", "astream"):
            SCENARIO_CLIENTS[scenario] = (*SCENARIO_CLIENTS.get(scenario, CORE_CLIENTS), BEFORE)
    scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    context = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load_average(),
    }
    notes: List[str] = []
    if PEER_NAME in clients:
        note = ensure_peer(install=not (args.no_install or args.quick), started=started)
        if note:
            notes.append(note)
            clients.remove(PEER_NAME)

    figs = figures(cfg)
    all_samples: Dict[str, Samples] = {}
    sse: Dict[str, Any] = {"skipped": "not selected"}

    if "import" in scenarios:
        if not args.quick:
            for client in (c for c in clients if c in CORE_CLIENTS):  # warm-up: bytecode caches
                import_sample(client)
        starts = [interpreter_start_ms() for _ in range(min(5, cfg.import_rounds))]
        context["interpreter"] = f"{statistics.median(starts):.0f} ms wall"
        all_samples["import"] = interleaved(
            [c for c in clients if c in CORE_CLIENTS],
            cfg.import_rounds,
            import_sample,
            "import",
            started,
        )
    else:
        context["interpreter"] = "not measured"

    process_scenarios = [
        s
        for s in ("chat", "stream", "async", "async_1k", "astream", "curve", "memory")
        if s in scenarios
    ]
    rounds_for = {
        "async": cfg.async_rounds,
        "async_1k": cfg.async_1k_rounds,
        "astream": cfg.astream_rounds,
        "curve": 1,
        "memory": cfg.memory_rounds,
    }
    profiles: List[str] = []
    with BenchServer() as server:
        for scenario in process_scenarios:

            def one(client: str, scenario: str = scenario) -> Sample:
                return run_json(client_cmd(client, scenario, server.port, cfg), child_env())

            rounds = rounds_for.get(scenario, cfg.rounds)
            if args.quick or args.rounds:
                rounds = min(rounds, cfg.rounds)
            who = [c for c in clients if c in SCENARIO_CLIENTS.get(scenario, CORE_CLIENTS)]
            all_samples[scenario] = interleaved(who, rounds, one, scenario, started)
        if "sse" in scenarios:
            log("sse: bench_sse.run()", started)
            sse = run_sse(cfg)
            if "rows" not in sse:
                notes.append(f"SSE decoder: {sse.get('skipped') or sse.get('error')}")

        table: Dict[str, Dict[str, float]] = {}
        for fig in figs:
            if fig.scenario in all_samples:
                table[fig.key] = medians(all_samples[fig.scenario], fig.metric)
        targets = evaluate_targets(table, sse)
        if args.profile_missed:
            profiles = profile_missed(targets, server.port, cfg, started)

    for scenario, samples in all_samples.items():
        for client, rows in samples.items():
            for row in rows[:1]:
                if "skipped" in row or "error" in row:
                    why = row.get("skipped") or row.get("error")
                    notes.append(f"{scenario}: {client} not measured ({why})")
    if args.quick:
        notes.append("--quick: tiny counts and one round; these figures mean nothing")
    context["elapsed"] = f"{time.monotonic() - started:.0f} s"
    context["load_end"] = load_average()
    chart_note = write_chart(out, figs, table, clients, sse)
    if chart_note:
        notes.append(chart_note)
    text = write_results(out, cfg, args.quick, figs, table, clients, sse, targets, notes, context)
    raw_dir = WORK_DIR if out == HERE else out
    raw_dir.mkdir(exist_ok=True)
    (raw_dir / "results.json").write_text(
        json.dumps(
            {"config": cfg.__dict__, "samples": all_samples, "medians": table, "sse": sse},
            indent=1,
        ),
        encoding="utf-8",
    )
    print(text)
    for report in profiles:
        print(f"profile: {report}")
    print(f"wrote {out / 'RESULTS.md'}" + ("" if chart_note else f" and {out / 'results.png'}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
