"""Help, version, bad usage (exit 2) and import laziness: no server involved."""

from __future__ import annotations

import io
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from cli_harness import CLI

from babyapi import __version__
from babyapi.cli import main


def test_version(offline_cli: CLI) -> None:
    result = offline_cli.run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"babyapi {__version__}"


def test_help_lists_commands_exit_codes_and_environment(offline_cli: CLI) -> None:
    result = offline_cli.run("--help")
    assert result.returncode == 0
    for word in ("chat", "infer", "complete", "embed", "rerank", "models", "serve"):
        assert word in result.stdout
    assert "BABYAPI_API_KEY" in result.stdout
    assert "130" in result.stdout


@pytest.mark.parametrize("command", ["chat", "infer", "complete", "embed", "rerank", "models"])
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"babyapi {command}" in capsys.readouterr().out


def test_console_script_is_installed() -> None:
    # Where pip puts this interpreter's scripts (beside it in a venv); a missing script is a
    # packaging regression, never a reason to skip.
    scripts = Path(sysconfig.get_path("scripts"))
    name = "babyapi.exe" if sys.platform == "win32" else "babyapi"
    script = scripts / name
    assert script.exists(), f"no {name} console script in {scripts}: check [project.scripts]"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 0
    assert result.stdout.startswith("babyapi ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "COMMAND"),
        (["nope"], "invalid choice"),
        (["models", "--bogus"], "unrecognized arguments"),
        (["--timeout", "-1", "models"], "must be greater than 0"),
        (["models", "--max-retries", "x"], "not an integer"),
        (["rerank"], "QUERY"),
        (["rerank", "query only"], "nothing to rank"),
        (["infer"], "no prompt"),
        (["chat", "-o", "novalue"], "KEY=VALUE"),
        (["embed", "--file", "/nonexistent/file.txt"], "cannot read --file"),
    ],
)
def test_bad_usage_exits_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In-process for speed; test_bad_usage_in_a_subprocess covers the real command.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setenv("BABYAPI_API_KEY", "test-key")
    monkeypatch.setenv("BABYAPI_BASE_URL", "http://127.0.0.1:9")
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_usage_in_a_subprocess(offline_cli: CLI) -> None:
    result = offline_cli.run("models", "--bogus")
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr


def test_empty_stdin_is_bad_usage(offline_cli: CLI) -> None:
    result = offline_cli.run("chat", input="")
    assert result.returncode == 2
    assert "no prompt" in result.stderr


def test_missing_api_key_is_bad_usage(offline_cli: CLI) -> None:
    env = offline_cli.env()
    del env["BABYAPI_API_KEY"]
    result = offline_cli.run("models", env=env)
    assert result.returncode == 2, result
    assert "BABYAPI_API_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_json_in_interactive_mode_needs_a_prompt() -> None:
    # --json has no meaning for a conversation, so it asks for a prompt instead of opening one.
    env = CLI(None).env()
    result = subprocess.run(
        [sys.executable, "-m", "babyapi", "chat", "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
    )
    assert result.returncode == 2
    assert "no prompt" in result.stderr


LAZY = """
import sys
from babyapi.cli import main
for argv in (["--help"], ["--version"], ["chat", "--help"], ["models", "-h"]):
    try:
        main(argv)
    except SystemExit:
        pass
heavy = [m for m in ("babyapi.server", "starlette", "uvicorn", "babyapi.cli.commands",
                     "babyapi.cli.chat") if m in sys.modules]
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


def test_help_imports_neither_commands_nor_server() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LAZY],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert "HEAVY=\n" in result.stderr, result.stderr


def test_server_extra_missing_names_the_pip_command() -> None:
    code = (
        "import sys\n"
        "sys.modules['starlette'] = None\n"
        "sys.modules['uvicorn'] = None\n"
        "from babyapi.cli import main\n"
        "raise SystemExit(main(['serve']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert "pip install 'babyapi[server]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_stdin_at_all_is_bad_usage(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # what Python sets when fd 0 is closed
    assert main(["chat"]) == 2
    assert "no prompt" in capsys.readouterr().err
