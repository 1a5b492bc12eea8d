"""Each command against the local server: plain output, piped stdin and --json."""

from __future__ import annotations

import json
from pathlib import Path

from cli_harness import CLI

from scripted_server import Reply, ScriptedServer

GEN = "babyapi-tiny"


def test_models_plain_lists_one_id_per_line(cli: CLI) -> None:
    result = cli.run("models")
    assert result.returncode == 0, result.stderr
    ids = result.stdout.split()
    assert "mistral" in ids
    assert "qwen3-embedding" in ids
    assert "\x1b[" not in result.stdout  # no colour and no table for a pipe


def test_models_json_before_or_after_the_command(cli: CLI) -> None:
    for args in (["models", "--json"], ["--json", "models"]):
        result = cli.run(*args)
        assert result.returncode == 0, result.stderr
        listing = json.loads(result.stdout)
        assert listing["object"] == "list"
        assert any(m["id"] == "mistral" for m in listing["data"])


def test_chat_with_a_prompt_streams_an_answer(cli: CLI) -> None:
    result = cli.run("chat", "-m", GEN, "Say", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stdout.endswith("\n")
    assert result.stderr == ""


def _answering(server: ScriptedServer, text: str) -> None:
    server.script(Reply.sse([{"choices": [{"index": 0, "delta": {"content": text}}]}]))


def test_chat_reads_piped_stdin(scripted_server: ScriptedServer) -> None:
    _answering(scripted_server, "Servers serve.")
    cli = CLI(scripted_server.base_url)
    result = cli.run("chat", "-m", GEN, "--system", "Be brief.", input="Tell me about servers.\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Servers serve.\n"
    (request,) = scripted_server.requests
    assert request.json()["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Tell me about servers."},
    ]


def test_chat_dash_reads_stdin(scripted_server: ScriptedServer) -> None:
    _answering(scripted_server, "Hello back.")
    cli = CLI(scripted_server.base_url)
    result = cli.run("chat", "-m", GEN, "-", input="Hello from a pipe")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello back.\n"
    (request,) = scripted_server.requests
    assert request.json()["messages"] == [{"role": "user", "content": "Hello from a pipe"}]


def test_chat_json_is_a_chat_completion(cli: CLI) -> None:
    result = cli.run("chat", "--json", "-m", GEN, "--max-tokens", "8", "Hi")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["model"] == GEN
    assert body["choices"][0]["message"]["content"]


def test_default_model_comes_from_the_environment(cli: CLI) -> None:
    result = cli.run("chat", "--json", "Hi", env=cli.env(BABYAPI_DEFAULT_MODEL="mixtral"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "mixtral"


def test_default_model_is_the_first_listed(cli: CLI) -> None:
    result = cli.run("chat", "--json", "Hi")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "mistral"


def test_infer_prints_the_output(cli: CLI) -> None:
    result = cli.run("infer", "-m", GEN, "--max-tokens", "16", "--temperature", "0", "Hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_infer_json_has_output_and_usage(cli: CLI) -> None:
    result = cli.run("infer", "--json", "-m", GEN, "--max-tokens", "5", "Hello")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert isinstance(body["output"], str)
    assert body["usage"]["completion_tokens"] <= 5


def test_complete_plain_and_streamed(cli: CLI) -> None:
    plain = cli.run("complete", "-m", GEN, "--max-tokens", "12", "Once upon a time")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip()
    streamed = cli.run("complete", "--stream", "-m", GEN, "--max-tokens", "12", "Once")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout.strip()


def test_complete_json_stream_is_one_json_object_per_line(cli: CLI) -> None:
    result = cli.run("complete", "--stream", "--json", "-m", GEN, "--max-tokens", "6", "Hi")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events
    assert all("choices" in event for event in events if event.get("choices") is not None)


def test_embed_json_has_one_vector_per_input(cli: CLI, tmp_path: Path) -> None:
    listing = tmp_path / "texts.txt"
    listing.write_text("third text\n\nfourth text\n")
    result = cli.run("embed", "--json", "first", "second", "--file", str(listing))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["model"] == "qwen3-embedding"
    assert len(body["data"]) == 4
    assert all(len(item["embedding"]) > 0 for item in body["data"])


def test_embed_summary_and_piped_lines(cli: CLI) -> None:
    result = cli.run("embed", "--dimensions", "8", input="alpha\nbeta\n")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == ["0", "1"]
    assert [row[1] for row in rows] == ["8", "8"]
    assert [row[3] for row in rows] == ["alpha", "beta"]


def test_rerank_ranks_documents(cli: CLI) -> None:
    docs = [
        "The weather is nice today.",
        "BabyAPI is a tiny hosted LLM API.",
        "BabyAPI supports OpenAI-compatible endpoints.",
    ]
    result = cli.run("rerank", "What is BabyAPI?", *docs)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(rows) == 3
    scores = [float(row[1]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert {row[3] for row in rows} == set(docs)
    assert [row[0] for row in rows] == ["1", "2", "3"]


def test_embed_summary_shows_real_values(cli: CLI) -> None:
    result = cli.run("embed", "BabyAPI makes LLMs easy.")
    assert result.returncode == 0, result.stderr
    (row,) = [line.split("\t") for line in result.stdout.splitlines()]
    shown = [float(x) for x in row[2].strip("[]").replace("…", "").split(",") if x.strip()]
    assert len(shown) == 3 and all(x != 0.0 for x in shown), row[2]


def test_readme_rerank_example_ranks_the_relevant_document_first(cli: CLI) -> None:
    """No word is shared with the query, yet the API document wins with a clear score."""
    result = cli.run(
        "rerank",
        "What is BabyAPI?",
        "A tiny hosted LLM API.",
        "The weather is nice.",
        "--top-n",
        "1",
    )
    assert result.returncode == 0, result.stderr
    (row,) = [line.split("\t") for line in result.stdout.splitlines()]
    rank, score, index, document = row
    assert (rank, index, document) == ("1", "0", "A tiny hosted LLM API.")
    assert float(score) >= 0.2


def test_rerank_top_n_and_json(cli: CLI) -> None:
    result = cli.run("rerank", "--json", "--top-n", "1", "query", "a doc", "another doc")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert len(body["results"]) == 1
    plain = cli.run("rerank", "--top-n", "1", "query", "a doc", "another doc")
    assert len(plain.stdout.splitlines()) == 1


def test_an_answer_cut_at_the_default_length_says_so(cli: CLI) -> None:
    cut = cli.run("complete", "-m", "mistral", "--temperature", "0", "Once upon a time")
    assert cut.returncode == 0, cut.stderr
    assert cut.stdout.strip()
    assert "--max-tokens" in cut.stderr  # the local server, like vLLM, stops at 16 tokens
    chosen = cli.run("complete", "-m", "mistral", "--max-tokens", "4", "Once upon a time")
    assert chosen.returncode == 0 and chosen.stderr == ""


def test_base_url_given_twice_spreads_calls_and_fails_over(cli: CLI, offline_cli: CLI) -> None:
    dead = offline_cli.base_url
    assert dead is not None and cli.base_url is not None
    for _ in range(3):
        result = cli.run(
            "--base-url", dead, "--base-url", cli.base_url, "chat", "--json", "-m", GEN, "Hi"
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["choices"][0]["message"]["content"]
    together = f"{dead},{cli.base_url}"
    result = cli.run("models", env=cli.env(BABYAPI_BASE_URL=together))
    assert result.returncode == 0, result.stderr
    assert "mistral" in result.stdout.split()
