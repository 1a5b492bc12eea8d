"""One function per command; the client is imported only when a command runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from babyapi.cli.errors import EXIT_OK, CommandError, UsageError
from babyapi.cli.output import Output

if TYPE_CHECKING:
    from babyapi import BabyAPI, Stream

SAMPLING_FIELDS = (
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "stop",
    "presence_penalty",
    "frequency_penalty",
)


class Context:
    """What a command needs: its arguments, its output, and a client made on first use."""

    def __init__(self, args: argparse.Namespace, out: Output) -> None:
        self.args = args
        self.out = out
        self._client: Optional[BabyAPI] = None

    def option(self, name: str, default: Any = None) -> Any:
        """A parsed option; common options are absent from the namespace when not given."""
        return getattr(self.args, name, default)

    @property
    def json(self) -> bool:
        return bool(self.option("json", False))

    @property
    def client(self) -> BabyAPI:
        if self._client is None:
            from babyapi import BabyAPI

            kwargs: Dict[str, Any] = {}
            if self.option("api_key") is not None:
                kwargs["api_key"] = self.option("api_key")
            if self.option("base_url") is not None:
                kwargs["base_url"] = self.option("base_url")
            if self.option("timeout") is not None:
                kwargs["timeout_s"] = self.option("timeout")
            if self.option("max_retries") is not None:
                kwargs["max_retries"] = self.option("max_retries")
            self._client = BabyAPI(**kwargs)
        return self._client

    def base_url(self) -> str:
        """The server URL the command talks to, for error messages."""
        url = self.option("base_url") or os.environ.get("BABYAPI_BASE_URL")
        return str(url or "https://api.babyapi.org").rstrip("/")

    def stream_options(self) -> Optional[Dict[str, Any]]:
        """Streams have no timeout unless --timeout bounds each wait for data."""
        timeout = self.option("timeout")
        return None if timeout is None else {"timeout_s": timeout}

    def model(self, kind: Optional[str] = None) -> str:
        """The model to use; ``kind`` ("embed", "rerank") prefers a listed model of that kind.

        Order: -m/--model; then, for generation, BABYAPI_DEFAULT_MODEL; then the
        server's model list: for embed/rerank the first id that contains the
        kind, else (and for generation) the first id listed.
        """
        chosen = self.option("model")
        if not chosen and kind is None:
            chosen = os.environ.get("BABYAPI_DEFAULT_MODEL")
        if chosen:
            return str(chosen)
        listing = self.client.models.list()
        ids = [
            str(item["id"])
            for item in listing.get("data") or []
            if isinstance(item, dict) and item.get("id")
        ]
        if not ids:
            raise UsageError(
                f"no model: {self.base_url()} lists none; pass -m MODEL"
                + ("" if kind else " or set BABYAPI_DEFAULT_MODEL")
            )
        preferred = [i for i in ids if kind and kind in i.lower()]
        self.args.model = (preferred or ids)[0]
        return str(self.args.model)

    def body_options(self) -> Dict[str, Any]:
        """Sampling options and -o KEY=VALUE fields that were given, as JSON body fields."""
        body: Dict[str, Any] = {}
        for name in SAMPLING_FIELDS:
            value = self.option(name)
            if value is not None:
                body[name] = value
        for key, raw in self.option("extra", []) or []:
            try:
                body[key] = json.loads(raw)
            except ValueError:
                body[key] = raw
        return body

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def read_stdin() -> str:
    """All of standard input ('' when there is none)."""
    if sys.stdin is None:
        return ""
    return sys.stdin.read()


def stdin_is_piped() -> bool:
    """True when standard input is a pipe or file rather than a terminal or absent."""
    if sys.stdin is None:
        return False
    try:
        return not sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def prompt_from(args: argparse.Namespace, *, interactive_ok: bool = False) -> Optional[str]:
    """The prompt: the words given, '-' for stdin, or piped stdin; None means interactive."""
    words: List[str] = list(args.prompt)
    if words == ["-"] or (not words and stdin_is_piped()):
        text = read_stdin().rstrip("\n")
        if not text.strip():
            raise UsageError("no prompt: standard input was empty")
        return text
    if words:
        return " ".join(words)
    if interactive_ok:
        return None
    raise UsageError("no prompt: give PROMPT or pipe text on standard input")


def lines_from(paths: List[str]) -> List[str]:
    """Non-empty lines of each file ('-' is standard input)."""
    found: List[str] = []
    for path in paths:
        if path == "-":
            text = read_stdin()
        else:
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise UsageError(f"cannot read --file {path}: {exc.strerror}") from exc
        found.extend(line.strip() for line in text.splitlines() if line.strip())
    return found


def stream_text(stream: Stream, out: Output, parts: Optional[List[str]] = None) -> str:
    """Write a stream's text to ``out`` as it arrives; return all of it.

    ``parts`` collects the pieces as they come, so a caller keeps what arrived
    before a Ctrl-C.
    """
    pieces: List[str] = [] if parts is None else parts
    with stream:
        for text in stream.text_deltas():
            out.write(text)
            pieces.append(text)
    return "".join(pieces)


def chat(ctx: Context) -> int:
    """babyapi chat: one streamed answer, or an interactive session."""
    args = ctx.args
    prompt = prompt_from(args, interactive_ok=not ctx.json)
    if prompt is None:
        from babyapi.cli.chat import ChatSession

        return ChatSession(ctx).run()
    messages: List[Dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    model = ctx.model()
    if ctx.json:
        ctx.out.json(
            ctx.client.chat.completions.create(model=model, messages=messages, **ctx.body_options())
        )
        return EXIT_OK
    stream = ctx.client.chat.completions.stream(
        model=model, messages=messages, request_options=ctx.stream_options(), **ctx.body_options()
    )
    stream_text(stream, ctx.out)
    ctx.out.end_line()
    return EXIT_OK


def infer(ctx: Context) -> int:
    """babyapi infer: POST /infer and print its output."""
    prompt = prompt_from(ctx.args)
    result = ctx.client.baby.infer({"prompt": prompt, "model": ctx.model(), **ctx.body_options()})
    if ctx.json:
        ctx.out.json(result)
    else:
        ctx.out.write(str(result.get("output", "")))
        ctx.out.end_line()
    return EXIT_OK


def complete(ctx: Context) -> int:
    """babyapi complete: a text completion, streamed with --stream."""
    prompt = prompt_from(ctx.args)
    model = ctx.model()
    options = ctx.body_options()
    completions = ctx.client.completions
    if not ctx.args.stream:
        result = completions.create(model=model, prompt=prompt, **options)
        if ctx.json:
            ctx.out.json(result)
        else:
            choices = result.get("choices") or [{}]
            ctx.out.write(str(choices[0].get("text") or ""))
            ctx.out.end_line()
        return EXIT_OK
    stream = completions.stream(
        model=model, prompt=prompt, request_options=ctx.stream_options(), **options
    )
    if ctx.json:
        with stream:
            for event in stream:
                if not event.done and event.data is not None:
                    ctx.out.json(event.data)
        return EXIT_OK
    stream_text(stream, ctx.out)
    ctx.out.end_line()
    return EXIT_OK


def _vector_preview(vector: Any, count: int = 3) -> str:
    if isinstance(vector, str):
        return f"base64 ({len(vector)} chars)"
    if not isinstance(vector, list):
        return "?"
    shown = ", ".join(f"{float(x):.4f}" for x in vector[:count])
    return f"[{shown}{', …' if len(vector) > count else ''}]"


def embed(ctx: Context) -> int:
    """babyapi embed: one vector per input, as JSON or a short table."""
    args = ctx.args
    texts: List[str] = list(args.texts) + lines_from(args.file)
    if not texts and not args.file and stdin_is_piped():
        texts = lines_from(["-"])
    if not texts:
        raise UsageError("nothing to embed: give TEXT arguments, --file F, or pipe lines on stdin")
    body = ctx.body_options()
    if args.dimensions is not None:
        body["dimensions"] = args.dimensions
    result = ctx.client.embeddings.create(model=ctx.model("embed"), input=texts, **body)
    if ctx.json:
        ctx.out.json(result)
        return EXIT_OK
    items = sorted(result.get("data") or [], key=lambda item: int(item.get("index", 0)))
    rows = []
    for position, item in enumerate(items):
        index = int(item.get("index", position))
        vector = item.get("embedding")
        size = len(vector) if isinstance(vector, list) else 0
        text = texts[index] if 0 <= index < len(texts) else ""
        rows.append([str(index), str(size), _vector_preview(vector), text])
    ctx.out.table(["INDEX", "DIMS", "VECTOR", "TEXT"], rows)
    return EXIT_OK


def _document_text(result: Dict[str, Any], documents: List[str]) -> str:
    document = result.get("document")
    if isinstance(document, dict) and isinstance(document.get("text"), str):
        return str(document["text"])
    if isinstance(document, str):
        return document
    index = result.get("index")
    if isinstance(index, int) and 0 <= index < len(documents):
        return documents[index]
    return ""


def rerank(ctx: Context) -> int:
    """babyapi rerank: documents ranked by relevance to a query."""
    args = ctx.args
    documents: List[str] = list(args.documents) + lines_from(args.file)
    if not documents:
        raise UsageError("nothing to rank: give DOC arguments or --file F")
    body = ctx.body_options()
    if args.top_n is not None:
        body["top_n"] = args.top_n
    result = ctx.client.rerank.create(
        model=ctx.model("rerank"), query=args.query, documents=documents, **body
    )
    if ctx.json:
        ctx.out.json(result)
        return EXIT_OK
    results = [r for r in result.get("results") or [] if isinstance(r, dict)]
    results.sort(key=lambda r: float(r.get("relevance_score") or 0.0), reverse=True)
    rows = [
        [
            str(rank),
            f"{float(r.get('relevance_score') or 0.0):.4f}",
            str(r.get("index", "")),
            _document_text(r, documents),
        ]
        for rank, r in enumerate(results, start=1)
    ]
    ctx.out.table(["RANK", "SCORE", "INDEX", "DOCUMENT"], rows)
    return EXIT_OK


def models(ctx: Context) -> int:
    """babyapi models: the ids of the server's models."""
    listing = ctx.client.models.list()
    if ctx.json:
        ctx.out.json(listing)
        return EXIT_OK
    items = [m for m in listing.get("data") or [] if isinstance(m, dict)]
    if ctx.out.terminal:
        ctx.out.table(
            ["ID", "OWNED BY"],
            [[str(m.get("id", "")), str(m.get("owned_by") or "")] for m in items],
        )
    else:
        for item in items:
            ctx.out.line(str(item.get("id", "")))
    return EXIT_OK


COMMANDS: Dict[str, Callable[[Context], int]] = {
    "chat": chat,
    "infer": infer,
    "complete": complete,
    "embed": embed,
    "rerank": rerank,
    "models": models,
}


def serve(argv: List[str]) -> int:
    """babyapi serve: hand the rest of the command line to babyapi.server."""
    try:
        from babyapi import server
    except ImportError as exc:
        raise CommandError(
            "babyapi serve needs the server extra: pip install 'babyapi[server]'"
        ) from exc
    parser = argparse.ArgumentParser(
        prog="babyapi serve", description="Run the local BabyAPI-compatible server."
    )
    server.add_serve_arguments(parser)
    return server.run_from_args(parser.parse_args(argv))
