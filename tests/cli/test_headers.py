"""-H 'Name: value' sends a header with any API command (here: a local server fault drill)."""

from __future__ import annotations

import pytest
from cli_harness import CLI

COMMANDS = {
    "chat": ["chat", "-m", "mistral", "Hi"],
    "infer": ["infer", "-m", "mistral", "Hi"],
    "complete": ["complete", "-m", "mistral", "Hi"],
    "complete --stream": ["complete", "--stream", "-m", "mistral", "Hi"],
    "embed": ["embed", "-m", "qwen3-embedding", "Hi"],
    "rerank": ["rerank", "-m", "qwen3-reranker", "query", "a doc"],
    "models": ["models"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=list(COMMANDS))
def test_header_reaches_the_server(cli: CLI, command: list[str]) -> None:
    result = cli.run(*command, "-H", "x-babyapi-fault: 418")
    assert result.returncode == 1, result.stdout
    assert "HTTP 418" in result.stderr


def test_header_before_the_command_and_repeated(cli: CLI) -> None:
    before = cli.run("-H", "x-babyapi-fault: 418", "models")
    assert before.returncode == 1 and "HTTP 418" in before.stderr
    failed = cli.run(
        "models", "-H", "x-request-id: mine", "-H", "x-babyapi-fault: 503", "--max-retries", "0"
    )
    assert failed.returncode == 1
    assert "request id mine" in failed.stderr  # the server echoes the id it was sent


@pytest.mark.parametrize("bad", ["no-colon", ": value", "bad header: x"])
def test_a_bad_header_is_bad_usage(offline_cli: CLI, bad: str) -> None:
    result = offline_cli.run("models", "-H", bad)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "header" in result.stderr.lower()
