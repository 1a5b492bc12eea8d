"""babyapi chat --json-schema FILE: JSON that fits the schema, checked, or a clear error."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import CLI

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
}


def schema_file(tmp_path: Path, content: str) -> str:
    path = tmp_path / "schema.json"
    path.write_text(content, encoding="utf-8")
    return str(path)


def test_prints_the_checked_json(cli: CLI, tmp_path: Path) -> None:
    path = schema_file(tmp_path, json.dumps(SCHEMA))
    result = cli.run("chat", "--json-schema", path, "A 4 day trip to Rome")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"city": "Rome", "days": 4}


def test_json_prints_the_whole_answer(cli: CLI, tmp_path: Path) -> None:
    path = schema_file(tmp_path, json.dumps(SCHEMA))
    result = cli.run("chat", "--json", "--json-schema", path, "A 4 day trip to Rome")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert json.loads(body["choices"][0]["message"]["content"]) == {"city": "Rome", "days": 4}


def test_a_cut_answer_says_to_raise_max_tokens(cli: CLI, tmp_path: Path) -> None:
    path = schema_file(tmp_path, json.dumps(SCHEMA))
    result = cli.run("chat", "--json-schema", path, "--max-tokens", "3", "A trip to Rome")
    assert result.returncode == 1
    assert "OUTPUT_TRUNCATED" in result.stderr and "raise --max-tokens" in result.stderr
    assert result.stdout == ""


def test_bad_schema_files_are_usage_errors(cli: CLI, tmp_path: Path) -> None:
    for content, words in [
        ("{not json", "is not JSON"),
        ("[1, 2]", "must hold a JSON Schema object"),
    ]:
        result = cli.run("chat", "--json-schema", schema_file(tmp_path, content), "Hi")
        assert result.returncode == 2
        assert words in result.stderr
    result = cli.run("chat", "--json-schema", str(tmp_path / "missing.json"), "Hi")
    assert result.returncode == 2 and "cannot read --json-schema" in result.stderr


def test_an_unsupported_schema_is_the_servers_400(cli: CLI, tmp_path: Path) -> None:
    schema = {"type": "string", "pattern": "^a$"}
    result = cli.run("chat", "--json-schema", schema_file(tmp_path, json.dumps(schema)), "Hi")
    assert result.returncode == 1
    assert "HTTP 400" in result.stderr and "pattern" in result.stderr
