"""babyapi chat --responses: the same command on POST /v1/responses."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import CLI, PtySession

GEN = "babyapi-tiny"


def test_a_prompt_streams_the_answer(cli: CLI) -> None:
    result = cli.run("chat", "--responses", "-m", GEN, "--system", "Be brief.", "Say hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr == ""


def test_json_prints_the_response_object(cli: CLI) -> None:
    result = cli.run("chat", "--responses", "--json", "-m", GEN, "--max-tokens", "4", "Hi")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["object"] == "response"
    assert body["status"] == "incomplete"
    assert body["usage"]["output_tokens"] == 4
    assert body["output_text"]


def test_a_cut_answer_says_how_to_allow_more(cli: CLI) -> None:
    result = cli.run("chat", "--responses", "-m", GEN, "-o", "max_output_tokens=2", "Hi")
    assert result.returncode == 0, result.stderr
    assert "--max-tokens N allows more" in result.stderr


def test_json_schema_prints_the_checked_json(cli: CLI, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    result = cli.run("chat", "--responses", "--json-schema", str(path), "A 4 day trip to Rome")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"city": "Rome", "days": 4}


def test_a_session_answers_turn_after_turn(cli: CLI) -> None:
    session: PtySession = cli.pty("chat", "--responses", "-m", GEN)
    try:
        session.read_until("Ctrl-D to exit")
        session.read_until("> ")
        for line in ("Hello there", "And again"):
            session.send(line + "\n")
            session.read_until("> ")
        session.send("\x04")
        assert session.wait() == 0
    finally:
        session.close()
