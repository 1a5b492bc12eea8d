"""babyapi embed|rerank|chat --input: what a new user meets when the input, the output or the
server is not what the job needs. Usage errors are found before any output file is made."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import CLI

from babyapi import BabyAPIError
from babyapi.cli.errors import describe_error


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _no_output_files(out: Path) -> bool:
    return not out.exists() and not out.with_name(out.name + ".index").exists()


def test_a_server_that_is_down_is_named_and_the_file_is_not_said_to_hold_errors(
    offline_cli: CLI, tmp_path: Path
) -> None:
    docs = _write(tmp_path / "d.jsonl", [f"doc {i}" for i in range(20)])
    out = tmp_path / "o.jsonl"
    result = offline_cli.run(
        "embed", "--input", str(docs), "--output", str(out), "-m", "e", "--max-retries", "0"
    )
    assert result.returncode == 1, result.stderr
    assert "0 of 20 items done, 20 failed" in result.stdout
    assert "Connection refused" in result.stderr
    assert f"check that {offline_cli.base_url} is reachable" in result.stderr
    assert "their errors are in" not in result.stderr, "the file holds none of them"
    assert f"none is kept in {out}: run the same command again to retry them" in result.stderr
    assert out.read_text() == ""


def test_failures_kept_in_the_file_are_said_to_be_there(cli: CLI, tmp_path: Path) -> None:
    docs = _write(tmp_path / "d.jsonl", ["fine", 7, 8])
    out = tmp_path / "o.jsonl"
    result = cli.run("embed", "--input", str(docs), "--output", str(out))
    assert result.returncode == 1
    assert f"2 items failed; their errors are in {out}" in result.stderr
    assert "babyapi: embed of 2 items failed: embedding inputs must be strings" in result.stderr
    assert "code INVALID_ITEM" in result.stderr
    assert "fix those items" in result.stderr and "reachable" not in result.stderr


def test_an_output_in_a_missing_folder_is_a_usage_error_not_a_network_one(
    cli: CLI, tmp_path: Path
) -> None:
    docs = _write(tmp_path / "d.jsonl", ["a"])
    result = cli.run("embed", "--input", str(docs), "--output", str(tmp_path / "no" / "o.jsonl"))
    assert result.returncode == 2
    assert "cannot write --output" in result.stderr and "does not exist" in result.stderr
    assert "reachable" not in result.stderr


def test_a_checkpoint_that_cannot_be_written_gets_advice_about_the_file() -> None:
    error = BabyAPIError(
        "could not write the checkpoint o.jsonl (No space left on device); finished results "
        "written so far are kept, fix the location and run the job again to resume.",
        code="CHECKPOINT_WRITE_FAILED",
    )
    line = describe_error(error, action="embed", base_url="http://127.0.0.1:9")
    assert "No space left on device" in line
    assert "check that --output names a file you can write" in line
    assert "reachable" not in line


def test_json_output_into_a_reader_that_stops_early_exits_141(cli: CLI) -> None:
    # One JSON line far bigger than a pipe's buffer; the reader takes 100 bytes and leaves.
    texts = [f"text number {i}" for i in range(60)]
    for unbuffered in ("1", ""):
        env = cli.env(PYTHONUNBUFFERED=unbuffered)
        if not unbuffered:
            env.pop("PYTHONUNBUFFERED")
        child = subprocess.Popen(
            [sys.executable, "-m", "babyapi", "embed", "--json", *texts],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert child.stdout is not None and child.stderr is not None
            assert child.stdout.read(100).startswith(b"{")
            child.stdout.close()
            stderr = child.stderr.read()
            child.stderr.close()
            assert child.wait(timeout=20) == 141, (unbuffered, stderr)
            assert stderr == b"", "a closed pipe is not an error to report"
        finally:
            child.kill()
            child.wait()


def test_an_empty_input_is_a_usage_error_and_makes_no_files(cli: CLI, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    out = tmp_path / "o.jsonl"
    result = cli.run("embed", "--input", str(empty), "--output", str(out))
    assert result.returncode == 2
    assert f"nothing to do: --input {empty} has no items" in result.stderr
    assert _no_output_files(out)


@pytest.mark.parametrize("command", ["embed", "rerank", "chat"])
def test_a_line_that_is_not_json_makes_no_files(cli: CLI, tmp_path: Path, command: str) -> None:
    bad = tmp_path / "bad.jsonl"
    good = {"query": "q", "documents": ["a"]} if command == "rerank" else "ok"
    bad.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n{not json\n")
    out = tmp_path / "o.jsonl"
    result = cli.run(command, "--input", str(bad), "--output", str(out))
    assert result.returncode == 2
    assert f"line 3 of {bad} is not JSON" in result.stderr
    assert _no_output_files(out), "a usage error leaves nothing to resume"


@pytest.mark.parametrize(
    ("command", "points_to"),
    [("embed", "--file F"), ("rerank", "QUERY --file F"), ("chat", "jq -R .")],
)
def test_a_plain_text_input_points_to_what_takes_plain_text(
    cli: CLI, tmp_path: Path, command: str, points_to: str
) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("first note\nsecond note\n")
    result = cli.run(command, "--input", str(plain), "--output", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2
    assert f"line 1 of {plain} is not JSON" in result.stderr
    assert f"jq -R . {plain}" in result.stderr
    assert points_to in result.stderr


@pytest.mark.parametrize(
    "line",
    [["q", ["a"], "c"], "just a string", {"query": "q"}, {"text": "x", "documents": ["a"]}],
    ids=["triple", "string", "no documents", "no query"],
)
def test_rerank_lines_of_the_wrong_shape_are_caught_up_front(
    cli: CLI, tmp_path: Path, line: object
) -> None:
    fine: list[object] = [{"query": "q", "documents": ["a"]}, ["q", ["a", "b"]]] * 150
    groups = _write(tmp_path / "g.jsonl", [*fine, line])
    out = tmp_path / "r.jsonl"
    result = cli.run("rerank", "--input", str(groups), "--output", str(out))
    assert result.returncode == 2, result.stderr
    assert "line 301" in result.stderr and "is not a rerank group" in result.stderr
    assert '{"query": "a question", "documents": [' in result.stderr
    assert _no_output_files(out)


def test_input_from_stdin_is_read_once_and_sent(cli: CLI, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    lines = "".join(json.dumps(f"doc {i}") + "\n" for i in range(5))
    result = cli.run("embed", "--input", "-", "--output", str(out), input=lines)
    assert result.returncode == 0, result.stderr
    indexes = sorted(json.loads(line)["index"] for line in out.read_text().splitlines())
    assert indexes == [0, 1, 2, 3, 4]
