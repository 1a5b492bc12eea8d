"""babyapi tokenize and babyapi score against the local server."""

from __future__ import annotations

import json

from cli_harness import CLI


def test_tokenize_prints_the_count_and_the_room_left(cli: CLI) -> None:
    result = cli.run("tokenize", "-m", "mistral", "How many tokens is this?")
    assert result.returncode == 0, result.stderr
    first, ids = result.stdout.splitlines()
    assert first == "6 tokens of 4096 (4090 left)"
    assert len(ids.split()) == 6


def test_tokenize_chat_counts_the_template_and_reads_stdin(cli: CLI) -> None:
    result = cli.run("tokenize", "--json", "--chat", "-m", "mistral", input="Hi there\n")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["count"] == 8 == len(answer["tokens"])


def test_tokenize_strings_shows_each_token(cli: CLI) -> None:
    result = cli.run("tokenize", "--strings", "-m", "mistral", "Hi, world")
    assert result.returncode == 0, result.stderr
    assert "'Hi'" in result.stdout and "','" in result.stdout


def test_score_lists_documents_in_their_order(cli: CLI) -> None:
    docs = ["A calm API.", "The miller kept a notebook of every storm."]
    result = cli.run("score", "-m", "qwen3-reranker", "storm notebook", *docs)
    assert result.returncode == 0, result.stderr
    rows = [line.split(None, 2) for line in result.stdout.splitlines()]
    assert [row[2] for row in rows if row[0].isdigit()] == docs
    scores = {row[2]: float(row[1]) for row in rows if row[0].isdigit()}
    assert scores[docs[1]] > scores[docs[0]]


def test_score_without_documents_is_a_usage_error(cli: CLI) -> None:
    result = cli.run("score", "-m", "qwen3-reranker", "storm")
    assert result.returncode == 2
    assert "nothing to score" in result.stderr
