"""babyapi embed|rerank|chat --input F --output F: batch jobs from the command line."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from cli_harness import CLI


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _indexes(path: Path) -> list[int]:
    return sorted(json.loads(line)["index"] for line in path.read_text().splitlines())


def test_embed_a_jsonl_file_then_resume_it(cli: CLI, tmp_path: Path) -> None:
    docs = _write(
        tmp_path / "docs.jsonl", [{"text": f"doc {i}"} if i % 2 else f"doc {i}" for i in range(120)]
    )
    out = tmp_path / "vectors.jsonl"
    args = [
        "embed",
        "--input",
        str(docs),
        "--output",
        str(out),
        "--concurrency",
        "4",
        "--batch-size",
        "8",
    ]
    first = cli.run(*args)
    assert first.returncode == 0, first.stderr
    assert "120 of 120 items done, 0 failed" in first.stdout
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert _indexes(out) == list(range(120))
    assert all(len(line["embedding"]) > 0 for line in lines)
    again = cli.run(*args, "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["resumed"] == 120 and summary["requests"] == 0
    assert _indexes(out) == list(range(120))


def test_field_picks_what_is_embedded(cli: CLI, tmp_path: Path) -> None:
    docs = _write(tmp_path / "docs.jsonl", [{"body": "cats"}, {"body": "dogs"}])
    out = tmp_path / "v.jsonl"
    missing = cli.run("embed", "--input", str(docs), "--output", str(out))
    assert missing.returncode == 2
    assert "line 1" in missing.stderr and '"text"' in missing.stderr and "--field" in missing.stderr
    assert not out.exists() and not out.with_name("v.jsonl.index").exists()
    chosen = cli.run("embed", "--input", str(docs), "--output", str(out), "--field", "body")
    assert chosen.returncode == 0, chosen.stderr
    assert _indexes(out) == [0, 1]


def test_rerank_and_chat_jobs(cli: CLI, tmp_path: Path) -> None:
    groups = _write(tmp_path / "g.jsonl", [{"query": "cats", "documents": ["a cat", "stocks"]}] * 3)
    ranked = cli.run("rerank", "--input", str(groups), "--output", str(tmp_path / "r.jsonl"))
    assert ranked.returncode == 0, ranked.stderr
    assert all(
        "results" in json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()
    )
    prompts = _write(
        tmp_path / "p.jsonl",
        ["hello", {"text": "hi"}, {"messages": [{"role": "user", "content": "yo"}]}],
    )
    chat = cli.run(
        "chat", "--input", str(prompts), "--output", str(tmp_path / "c.jsonl"), "--max-tokens", "3"
    )
    assert chat.returncode == 0, chat.stderr
    answers = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert sorted(a["index"] for a in answers) == [0, 1, 2]
    assert all(a["response"]["choices"][0]["message"]["content"] for a in answers)


def test_failed_items_are_reported_and_kept(cli: CLI, tmp_path: Path) -> None:
    docs = _write(tmp_path / "docs.jsonl", ["fine", 7, "also fine"])
    out = tmp_path / "v.jsonl"
    result = cli.run("embed", "--input", str(docs), "--output", str(out))
    assert result.returncode == 1
    assert "1 items failed" in result.stderr and str(out) in result.stderr
    errors = [json.loads(line) for line in out.read_text().splitlines() if "error" in line]
    assert errors == [
        {
            "index": 1,
            "error": {
                "message": "embedding inputs must be strings, got int; convert items to text "
                "before handing them to the job.",
                "code": "INVALID_ITEM",
                "status": None,
                "name": "BabyAPIError",
            },
        }
    ]


def test_usage_errors(cli: CLI, tmp_path: Path) -> None:
    docs = _write(tmp_path / "docs.jsonl", ["a"])
    no_output = cli.run("embed", "--input", str(docs))
    assert no_output.returncode == 2 and "--output" in no_output.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"ok"\n{not json\n')
    broken = cli.run("embed", "--input", str(bad), "--output", str(tmp_path / "o.jsonl"))
    assert broken.returncode == 2 and "line 2" in broken.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    nothing = cli.run("embed", "--input", str(empty), "--output", str(tmp_path / "e.jsonl"))
    assert nothing.returncode == 2 and "nothing to do" in nothing.stderr
    absent = cli.run(
        "embed", "--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "n.jsonl")
    )
    assert absent.returncode == 2 and "cannot read" in absent.stderr


def test_ctrl_c_keeps_finished_results_and_the_rerun_resumes(cli: CLI, tmp_path: Path) -> None:
    docs = _write(tmp_path / "docs.jsonl", [f"document number {i}" for i in range(3_000)])
    out = tmp_path / "v.jsonl"
    args = ["embed", "--input", str(docs), "--output", str(out), "--dimensions", "8"]
    child = cli.popen(*args, "--batch-size", "2", "--concurrency", "1")
    try:
        for _ in range(400):  # bounded: wait until some results are on disk
            if out.exists() and out.stat().st_size > 0:
                break
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=20)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 130
    assert "interrupted" in stderr and "resume" in stderr
    kept = len(out.read_text().splitlines())
    assert 0 < kept < 3_000
    finish = cli.run(*args, "--json", "--batch-size", "64", timeout=50)
    assert finish.returncode == 0, finish.stderr
    assert json.loads(finish.stdout)["resumed"] == kept
    assert _indexes(out) == list(range(3_000))
