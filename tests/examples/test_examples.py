"""Every script in examples/ runs against the local server and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_quickstart_runs_every_documented_example(server_env: dict[str, str]) -> None:
    out = run("quickstart.py", server_env)
    sections = [line for line in out.splitlines() if line.startswith("=== ")]
    assert len(sections) == 17
    assert "Index 1: 1024 dimensions" in out
    # The seed's Errors example shows the server's answer to an empty messages list.
    errors = out.split("=== errors")[1].splitlines()[1]
    assert "'status': 400" in errors
    # The server echoes the x-request-id the client sent.
    assert re.search(r"'request_id': '[0-9a-f]{32}'", errors)
    rerank = [
        line for line in out.splitlines() if line.startswith("Index ") and "relevance_score" in line
    ]
    assert rerank[-1].startswith("Index 1:")  # the weather document ranks last


def test_streaming_example(server_env: dict[str, str]) -> None:
    out = run("streaming.py", server_env)
    assert "finish_reason:" in out and "'total_tokens'" in out
    # The local server echoes the x-request-id the client sent: 32 hex digits.
    assert re.search(r"first event from request [0-9a-f]{32} -> ", out)


def test_async_example(server_env: dict[str, str]) -> None:
    out = run("async_client.py", server_env)
    assert out.count(" -> ") == 3


def test_errors_and_retries_example(server_env: dict[str, str]) -> None:
    out = run("errors_and_retries.py", server_env)
    assert "after two 503s:" in out
    assert "proxy page: 502 Bad Gateway from 127.0.0.1" in out
    assert "unknown model:" in out
    assert "the server asks to wait 1.0 s" in out
    assert "timeout: TIMEOUT" in out


@pytest.mark.timeout(240)  # every example in turn, each its own interpreter (and servers)
def test_demo_runs_every_example() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABY")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    ran = re.findall(r"^##### examples/(\S+)$", done.stdout, re.M)
    assert ran == sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "demo.py")
    assert "=== context manager ===" in done.stdout  # the quick start ran to its end
    assert "after two 503s:" in done.stdout
    assert "Traceback" not in done.stderr


def test_make_demo_installs_only_what_the_demo_needs() -> None:
    """`make demo` sets up babyapi with its server extra, without the test and lint tools."""
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", "demo"],
        cwd=EXAMPLES.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    commands = done.stdout.splitlines()
    installs = [line for line in commands if "pip install" in line]
    assert installs, done.stdout
    assert all("'.[server]'" in line for line in installs), installs
    assert not any(tool in done.stdout for tool in ("[test]", "pytest", "mypy", "ruff"))
    (run,) = [line for line in commands if "examples/demo.py" in line]
    python = run.split()[0]
    assert any(line.startswith(python) and "pip install" in line for line in installs)


def test_batch_jobs_example_resumes_where_it_stopped(server_env: dict[str, str]) -> None:
    out = run("batch_jobs.py", server_env)
    stopped = int(out.split("first run stopped after ")[1].split()[0])
    assert stopped >= 500
    assert f"rerun: {stopped} resumed, {2000 - stopped} new, 0 failed" in out
    assert "checkpoint holds 2000 lines, one per item" in out


def test_readme_says_what_make_demo_runs() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("`make demo` installs") :].split("\n\n")[1]
    listed = re.findall(r"^\| `([\w.]+\.py)` \|", section, re.M)
    assert listed == sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "demo.py")


def test_structured_outputs_example(server_env: dict[str, str]) -> None:
    out = run("structured_outputs.py", server_env)
    assert "trip: 6 days in Lisbon (autumn)" in out
    assert "stop: Porto for 3 nights" in out
    assert "final: Lisbon" in out
    assert "json schema: {'city': 'Porto', 'rating':" in out
    assert "cut: OUTPUT_TRUNCATED:" in out


def test_tools_example(server_env: dict[str, str]) -> None:
    out = run("tools.py", server_env)
    assert "model called get_weather({'city': 'Lisbon', 'unit': 'celsius'})" in out
    assert 'tool answered {"city": "Lisbon", "temperature": 21, "unit": "celsius"}' in out
    assert "after 2 rounds: " in out
    assert "streamed: " in out
    assert 'async: 2 tools answered at once: [\'9.5\', \'{"city": "Rome"' in out


def test_observability_example_prints_spans_metrics_and_usage(server_env: dict[str, str]) -> None:
    out = run("observability.py", server_env)
    assert '"name": "chat mistral"' in out and '"name": "embeddings qwen3-embedding"' in out
    assert '"name": "answer the user"' in out  # the application's span, parent of the calls
    assert "gen_ai.client.token.usage" in out  # the metrics reader printed
    assert re.search(r"^usage mistral: 2 calls, \d+ in, \d+ out$", out, re.M)
    assert "usage qwen3-embedding: 1 calls" in out
    assert "usage total: 3 calls, 0 errors" in out


def test_observability_example_without_the_sdk_still_counts_usage(
    server_env: dict[str, str],
) -> None:
    """As in `make demo`, whose environment has no OpenTelemetry SDK."""
    block_sdk = (
        "import runpy, sys; sys.modules['opentelemetry.sdk'] = None; "
        f"runpy.run_path({str(EXAMPLES / 'observability.py')!r}, run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", block_sdk],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "OpenTelemetry skipped: pip install 'babyapi[otel]' opentelemetry-sdk" in done.stdout
    assert "usage total: 3 calls, 0 errors" in done.stdout


def test_responses_example(server_env: dict[str, str]) -> None:
    out = run("responses.py", server_env)
    assert "create: completed" in out or "create: incomplete" in out
    assert "stream events: response.created ... response.completed" in out
    assert "parse: {'name': 'Lisbon', 'population': 545000}" in out
    assert "previous_response_id: True" in out
    assert "background: queued -> completed" in out
    assert "run_tools: 2 rounds, continued by previous_response_id" in out
    assert re.search(r"async stream: [1-9]\d* text deltas", out)


def test_replicas_example_loses_no_call_to_a_killed_server(server_env: dict[str, str]) -> None:
    out = run("replicas.py", server_env)
    assert "none failed" in out
    after_kill = out.split("Killed the server on port ")[1]
    killed = after_kill.split(";")[0]
    # Calls after the kill were answered by the other two; after the restart it answers again.
    assert f"'{killed}'" not in after_kill.split("\n")[1]
    assert f"'{killed}'" in out.split("Started it again")[1].split("\n")[1]
