"""One function per command; the client is imported only when a command runs."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Tuple, Union, cast

from babyapi._infer import CHAT_PATH, COMPLETIONS_PATH
from babyapi.cli.batch import run_batch
from babyapi.cli.chat import ChatSession
from babyapi.cli.context import (
    Context,
    lines_from,
    optional_prompt,
    required_prompt,
    stdin_is_piped,
)
from babyapi.cli.errors import EXIT_OK, CommandError, UsageError
from babyapi.cli.output import is_terminal

if TYPE_CHECKING:
    from babyapi import Stream
    from babyapi.types import ChatCompletionMessageParam, RerankResult


def chat(ctx: Context) -> int:
    """babyapi chat: one streamed answer, or an interactive session."""
    args = ctx.args
    if args.input:
        return run_batch(ctx, "chat")
    prompt = optional_prompt(args)
    if prompt is None and args.json_schema:
        raise UsageError("no prompt: --json-schema needs PROMPT or text piped on standard input")
    if prompt is None:
        if ctx.json:
            raise UsageError("no prompt: --json needs PROMPT or text piped on standard input")
        if not is_terminal(sys.stdin):
            raise UsageError("no prompt: give PROMPT, pipe text, or run in a terminal")
        return ChatSession(ctx).run()
    if args.responses:
        return _respond(ctx, prompt)
    messages: List[ChatCompletionMessageParam] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    model = ctx.model()
    body = ctx.body_options()
    if args.json_schema:
        schema = _schema_file(args.json_schema)
        parsed = ctx.client.chat.completions.parse(
            model=model, messages=messages, response_format=schema, **body
        )
        # The checked value; --json shows the whole answer it came in.
        ctx.out.json(parsed.completion if ctx.json else parsed.parsed)
        return EXIT_OK
    if ctx.json:
        ctx.out.json(ctx.client.chat.completions.create(model=model, messages=messages, **body))
        return EXIT_OK
    answer = ctx.stream_text(
        CHAT_PATH,
        # Options unpacked from a dict match every overload; the plain one is meant.
        lambda options: cast(
            Any,
            ctx.client.chat.completions.stream(
                model=model, messages=messages, request_options=options, **body
            ),
        ),
    )
    ctx.out.end_line()
    ctx.note_if_cut(answer)
    return EXIT_OK


def _respond(ctx: Context, prompt: str) -> int:
    """babyapi chat --responses PROMPT: the same, on POST /v1/responses."""
    from babyapi.resources.responses import PATH

    args = ctx.args
    body: Dict[str, Any] = {"model": ctx.model(), "input": prompt, **ctx.responses_options()}
    if args.system:
        body["instructions"] = args.system
    if args.json_schema:
        schema = _schema_file(args.json_schema)
        parsed = ctx.client.responses.parse(text_format=schema, **body)
        ctx.out.json(parsed.response if ctx.json else parsed.parsed)
        return EXIT_OK
    if ctx.json:
        ctx.out.json(ctx.client.responses.create(**body))
        return EXIT_OK
    answer = ctx.stream_text(
        PATH,
        lambda options: cast(Any, ctx.client.responses.stream(request_options=options, **body)),
    )
    ctx.out.end_line()
    ctx.note_if_cut(answer)
    return EXIT_OK


def _schema_file(path: str) -> Dict[str, object]:
    """The JSON Schema in a --json-schema file."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            schema: object = json.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read --json-schema {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise UsageError(f"--json-schema {path} is not JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise UsageError(
            f'--json-schema {path} must hold a JSON Schema object such as {{"type": "object"}}'
        )
    return cast(Dict[str, object], schema)


def infer(ctx: Context) -> int:
    """babyapi infer: POST /infer and print its output."""
    prompt = required_prompt(ctx.args)
    result = ctx.client.baby.infer({"prompt": prompt, "model": ctx.model(), **ctx.body_options()})
    if ctx.json:
        ctx.out.json(result)
    else:
        ctx.out.write(str(result.get("output", "")))
        ctx.out.end_line()
        ctx.note_if_cut(result)
    return EXIT_OK


def complete(ctx: Context) -> int:
    """babyapi complete: a text completion, streamed with --stream."""
    prompt = required_prompt(ctx.args)
    model = ctx.model()
    options = ctx.body_options()
    completions = ctx.client.completions
    if not ctx.args.stream:
        result = completions.create(model=model, prompt=prompt, **options)
        if ctx.json:
            ctx.out.json(result)
        else:
            choices = result.get("choices") or []
            ctx.out.write(str(choices[0].get("text") or "") if choices else "")
            ctx.out.end_line()
            ctx.note_if_cut(result)
        return EXIT_OK

    def start(request_options: Dict[str, Any]) -> Stream[Any]:
        return completions.stream(
            model=model, prompt=prompt, request_options=request_options, **options
        )

    if ctx.json:
        stream, events = ctx.open_stream(COMPLETIONS_PATH, start)
        with stream:
            for event in events:
                if not event.done and event.data is not None:
                    ctx.out.json(event.data)
        return EXIT_OK
    answer = ctx.stream_text(COMPLETIONS_PATH, start)
    ctx.out.end_line()
    ctx.note_if_cut(answer)
    return EXIT_OK


def _vector_preview(vector: Union[List[float], str, None], count: int = 3) -> Tuple[int, str]:
    """Dimensions and the first values of a vector (base64 when the server sent that)."""
    if isinstance(vector, str):
        return 0, f"base64 ({len(vector)} chars)"
    values = vector or []
    shown = ", ".join(f"{float(x):.4g}" for x in values[:count])
    return len(values), f"[{shown}{', …' if len(values) > count else ''}]"


def embed(ctx: Context) -> int:
    """babyapi embed: one vector per input, as JSON or a short table."""
    args = ctx.args
    if args.input:
        return run_batch(ctx, "embed")
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
    rows: List[List[str]] = []
    for position, item in enumerate(items):
        index = int(item.get("index", position))
        size, preview = _vector_preview(item.get("embedding"))
        text = texts[index] if 0 <= index < len(texts) else ""
        rows.append([str(index), str(size), preview, text])
    ctx.out.table(["INDEX", "DIMS", "VECTOR", "TEXT"], rows)
    return EXIT_OK


def _document_text(result: RerankResult, documents: List[str]) -> str:
    """The text the server echoed, else the document the result's index points at."""
    # Servers differ (notes: vLLM echoes {"text": ...}, some send a bare string): check at runtime.
    document: object = result.get("document")
    if isinstance(document, str) and document:
        return document
    if isinstance(document, dict):
        text = cast("Dict[str, object]", document).get("text")
        if isinstance(text, str) and text:
            return text
    index = result.get("index", -1)
    if 0 <= index < len(documents):
        return documents[index]
    return ""


def rerank(ctx: Context) -> int:
    """babyapi rerank: documents ranked by relevance to a query."""
    args = ctx.args
    if args.input:
        return run_batch(ctx, "rerank")
    if args.query is None:
        raise UsageError("give QUERY and documents, or --input FILE for a batch job")
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
    results = list(result.get("results") or [])
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


def tokenize(ctx: Context) -> int:
    """babyapi tokenize: the token count, the context length and the ids."""
    args = ctx.args
    text = required_prompt(args)
    model = ctx.model()
    body = ctx.body_options()
    tokenizer = ctx.client.tokenizer
    if args.chat:
        messages: List[ChatCompletionMessageParam] = [{"role": "user", "content": text}]
        counted = tokenizer.tokenize(
            messages=messages, model=model, return_token_strs=args.strings, extra_body=body
        )
    else:
        counted = tokenizer.tokenize(
            text, model=model, return_token_strs=args.strings, extra_body=body
        )
    if ctx.json:
        ctx.out.json(counted)
        return EXIT_OK
    limit = counted.get("max_model_len")
    room = f" of {limit} ({limit - counted['count']} left)" if isinstance(limit, int) else ""
    ctx.out.line(f"{counted['count']} tokens{room}")
    strings = counted.get("token_strs")
    if args.strings and strings:
        ctx.out.table(
            ["ID", "TOKEN"], [[str(t), repr(s)] for t, s in zip(counted["tokens"], strings)]
        )
    else:
        ctx.out.line(" ".join(str(t) for t in counted["tokens"]))
    return EXIT_OK


def score(ctx: Context) -> int:
    """babyapi score: a score per document, in the documents' order."""
    args = ctx.args
    documents: List[str] = list(args.documents) + lines_from(args.file)
    if not documents:
        raise UsageError("nothing to score: give DOC arguments or --file F")
    result = ctx.client.score.create(
        model=ctx.model("rerank"), queries=args.query, documents=documents, **ctx.body_options()
    )
    if ctx.json:
        ctx.out.json(result)
        return EXIT_OK
    rows: List[List[str]] = []
    for position, item in enumerate(result.get("data") or []):
        index = item.get("index", position)
        known = isinstance(index, int) and 0 <= index < len(documents)
        score = item.get("score")
        shown = f"{score:.4f}" if isinstance(score, (int, float)) else str(score)
        rows.append([str(index), shown, documents[index] if known else ""])
    rows.sort(key=lambda row: int(row[0]) if row[0].isdigit() else len(documents))
    ctx.out.table(["INDEX", "SCORE", "DOCUMENT"], rows)
    return EXIT_OK


def models(ctx: Context) -> int:
    """babyapi models: the ids of the server's models."""
    listing = ctx.client.models.list()
    if ctx.json:
        ctx.out.json(listing)
        return EXIT_OK
    items = list(listing.get("data") or [])
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
    "tokenize": tokenize,
    "score": score,
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
