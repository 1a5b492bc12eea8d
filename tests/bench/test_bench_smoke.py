"""The benchmark harness runs end to end; its figures are not judged here."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


run = _load("run")
server = _load("server")


@pytest.mark.bench  # minutes of measuring on a shared machine: `make bench` runs it
@pytest.mark.timeout(600)
def test_quick_run_measures_floor_and_babyapi(tmp_path: Path) -> None:
    # The floor, the subject and the async ceiling: other peers add nothing to the harness.
    cmd = [
        sys.executable,
        str(BENCH_DIR / "run.py"),
        "--quick",
        "--out",
        str(tmp_path),
        "--clients",
        "httpx,babyapi,aiohttp",
        "--scenarios",
        "import,chat,stream,async,astream,curve,memory",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=590)
    assert done.returncode == 0, done.stderr

    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "## Figures" in text
    assert "## Targets (babyapi)" in text
    medians = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["medians"]
    for key in ("import", "chat_cpu", "chat_wall", "stream_rate", "mem_growth"):
        assert set(medians[key]) == {"httpx", "babyapi"}, (key, done.stderr)
    for key in ("async_rate", "astream_rate", "curve_1", "curve_4"):
        assert set(medians[key]) == {"httpx", "babyapi", "aiohttp"}, (key, done.stderr)
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "results.png").stat().st_size > 0


def test_sse_response_carries_n_chunks_then_done() -> None:
    body = server.response_for(
        b"POST", b"/v1/chat/completions", b'{"stream": true, "max_tokens": 3}'
    )
    assert body.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in body
    assert body.count(b"data: {") == 3
    assert body.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")
    assert server.response_for(b"POST", b"/v1/chat/completions", b"{}") == server.CHAT_RESPONSE
    assert server.response_for(b"GET", b"/anything", b"") == server.GENERIC_RESPONSE


def test_targets_pass_miss_and_not_measured() -> None:
    table = {
        "import": {"httpx": 100.0, "openai": 1000.0, "babyapi": 110.0},
        "chat_cpu": {"httpx": 100.0, "openai": 150.0, "babyapi": 120.0, "babyapi-stdlib": 50.0},
        "mem_growth": {"httpx": 1.0, "babyapi": 2.0},
        "async_rate": {
            "httpx": 100.0,
            "aiohttp": 1000.0,
            "babyapi": 900.0,
            "openai": 100.0,
            "babyapi-httpx": 120.0,
        },
        "async_cpu": {"aiohttp": 100.0, "babyapi": 200.0},
        "mem_flat": {"httpx": 0.0, "babyapi": 3.0},
    }
    sse = {
        "rows": [
            {
                "workload": "chat: ...",
                "decoder": "babyapi",
                "ms": 5.0,
                "x httpx-sse": 2.5,
                "x openai": 1.5,
            },
            {"workload": "huge: ...", "decoder": "babyapi", "ms": 40.0},
        ]
    }
    status = {t.target: t.status for t in run.evaluate_targets(table, sse)}
    assert status["import babyapi <= 1.15x import httpx"] == "PASS"
    assert status["import babyapi >= 5x faster than import openai"] == "PASS"
    assert status["chat CPU/call <= 1.15x raw httpx"] == "MISS"
    assert status["chat CPU/call <= 0.6x openai"] == "MISS"
    assert status["stream chunks/s >= 0.9x httpx + httpx-sse"] == "n/a"
    assert status["SSE decoder MB/s >= 2x httpx-sse's"] == "PASS"
    assert status["SSE decoder MB/s >= 2x openai's"] == "MISS"
    assert status["one 8 MiB event in 1 KiB chunks well under 100 ms"] == "PASS"
    assert status["RSS growth <= raw httpx's + 1 MB"] == "PASS"
    assert status["async calls/s at 256 >= 10x httpx.AsyncClient"] == "MISS"
    assert status["async calls/s at 256 >= 0.7x raw aiohttp"] == "PASS"
    assert status["async CPU/call at 256 <= 1.5x raw aiohttp"] == "MISS"
    assert status["async calls/s at 1,024 >= 10x httpx.AsyncClient"] == "n/a"
    assert status["RSS flat in the second half of the calls (<= 1 MB)"] == "MISS"
    # Throughput at the floor: the stricter bounds, the httpx pool and the sync transports.
    assert status["import babyapi <= 1.10x import httpx"] == "PASS"
    assert status["async calls/s at 256 >= 0.9x raw aiohttp"] == "PASS"
    assert status["async CPU/call at 256 <= 1.2x raw aiohttp"] == "MISS"
    assert status["async calls/s at 1,024 >= 0.9x raw aiohttp"] == "n/a"
    on_httpx = (
        "async on httpx (transport='httpx', default pool limits) calls/s at 256 >= 1.3x AsyncOpenAI"
    )
    assert status[on_httpx] == "MISS"
    assert status["sync chat CPU/call <= 0.6x raw httpx (BabyAPI, default transport)"] == "MISS"
    assert status["sync chat CPU/call <= 0.6x raw httpx (babyapi-stdlib)"] == "PASS"
    measured = {t.target: t.measured for t in run.evaluate_targets(table, sse)}
    assert measured[on_httpx] == "babyapi-httpx/openai = 1.20x"


def test_a_rewrite_keeps_the_batch_section(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    batch = f"{run.BATCH_SECTION}\n\n| target | measured | result |\n| a | 1.30x | PASS |\n"
    results.write_text(f"# old\n\n## Targets (babyapi)\n\nold rows\n\n{batch}", encoding="utf-8")
    assert run.kept_batch_section(results) == batch
    results.write_text(f"# old\n\n{batch}\n## Later\n\nmore\n", encoding="utf-8")
    assert run.kept_batch_section(results) == batch + "\n"
    assert run.kept_batch_section(tmp_path / "missing.md") == ""


@pytest.mark.timeout(150)
def test_ab_compares_this_tree_with_a_ref_in_one_run() -> None:
    done = subprocess.run(
        [
            *(sys.executable, str(BENCH_DIR / "ab.py"), "--ref", "HEAD", "--scenarios", "chat"),
            *("--rounds", "1", "--scale", "0.05"),
        ],
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert done.returncode == 0, done.stderr
    row = done.stdout.splitlines()[-1].split("|")
    assert row[1].strip() == "chat"
    before, after, ratio = (float(cell) for cell in row[2:5])
    assert before > 0 and after > 0 and ratio == pytest.approx(after / before, rel=0.01)
