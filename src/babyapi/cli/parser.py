"""The argparse tree of the ``babyapi`` command."""

from __future__ import annotations

import argparse
from typing import Any, Dict, Tuple

from babyapi._version import __version__

DESCRIPTION = """\
Chat, infer, embed and rerank with BabyAPI or any OpenAI-compatible server
(vLLM, llama.cpp, LiteLLM, Ollama's /v1) from the terminal."""

EPILOG = """\
environment:
  BABYAPI_API_KEY        API key (else BABY_API_KEY); --api-key wins
  BABYAPI_BASE_URL       server URL (default https://api.babyapi.org), or several separated
                         by commas; --base-url wins
  BABYAPI_DEFAULT_MODEL  model for chat, infer and complete when -m is not
                         given; without either, the first model the server
                         lists is used (embed and rerank: the first listed
                         model whose id contains "embed" or "rerank")
  NO_COLOR               set to turn off colour

exit status:
  0    success
  1    the request failed (API, network or timeout error); serve: the
       server extra is not installed
  2    bad usage (wrong arguments, no API key, no model, no prompt, an
       unreadable --file, a bad header or port, an --input line of the
       wrong shape or an empty --input)
  3    serve could not listen (the port is in use or not permitted)
  130  interrupted (Ctrl-C)
  141  standard output was closed early (babyapi models | head -1)

Run 'babyapi COMMAND --help' for a command's options."""

COMMANDS = (
    "chat",
    "infer",
    "complete",
    "embed",
    "rerank",
    "tokenize",
    "score",
    "models",
    "serve",
)

Parsers = Dict[str, argparse.ArgumentParser]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more: '0'")
    return value


def _key_value(text: str) -> Tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _header(text: str) -> Tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def _common_options() -> argparse.ArgumentParser:
    """Options every API command accepts, before or after the command name."""
    # SUPPRESS keeps a subcommand from overwriting a value given before its name.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("connection and output")
    group.add_argument(
        "--base-url",
        dest="base_url",
        metavar="URL",
        action="append",
        help="server URL (env BABYAPI_BASE_URL); repeat it to spread calls over several servers",
    )
    group.add_argument(
        "--api-key", metavar="KEY", help="API key (env BABYAPI_API_KEY; prefer the environment)"
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_float,
        help="request timeout (default 60); also bounds each wait for streamed data",
    )
    group.add_argument(
        "--max-retries",
        metavar="N",
        type=_non_negative_int,
        help="retries of failed requests (default 2); streams are retried only before any data",
    )
    group.add_argument(
        "-H",
        "--header",
        dest="headers",
        metavar="'NAME: VALUE'",
        type=_header,
        action="append",
        help="send an extra HTTP header (repeatable), e.g. -H 'x-babyapi-fault: 503'",
    )
    group.add_argument("--json", action="store_true", help="print machine-readable JSON")
    group.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return common


def _model_option(parser: argparse.ArgumentParser, kind: str = "") -> None:
    default = (
        f"the first listed model whose id contains '{kind}'"
        if kind
        else "BABYAPI_DEFAULT_MODEL, else the server's first model"
    )
    parser.add_argument("-m", "--model", help=f"model id (default: {default})")


def _extra_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--option",
        dest="extra",
        metavar="KEY=VALUE",
        type=_key_value,
        action="append",
        default=[],
        help="extra JSON body field, VALUE parsed as JSON if it can be (repeatable)",
    )


def _sampling_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sampling")
    group.add_argument("--max-tokens", metavar="N", type=_positive_int)
    group.add_argument("--temperature", metavar="T", type=float)
    group.add_argument("--top-p", metavar="P", type=float)
    group.add_argument("--top-k", metavar="K", type=int)
    group.add_argument("--stop", metavar="TEXT", action="append", help="stop sequence (repeatable)")
    group.add_argument("--presence-penalty", metavar="X", type=float)
    group.add_argument("--frequency-penalty", metavar="X", type=float)


def _batch_options(
    parser: argparse.ArgumentParser, item: str, *, batch_size: bool = False, field: bool = True
) -> None:
    group = parser.add_argument_group(
        "batch jobs",
        f"With --input, every line of a JSONL file is one {item}; results go to --output,\n"
        "one JSON line per item with its zero-based index. Rerunning the same command\n"
        "resumes: finished items are skipped.",
    )
    group.add_argument("--input", metavar="FILE", help="JSONL input ('-' is stdin)")
    group.add_argument("--output", metavar="FILE", help="JSONL results, also the checkpoint")
    group.add_argument(
        "--concurrency", metavar="N", type=_positive_int, default=16, help="requests at once (16)"
    )
    if batch_size:
        group.add_argument(
            "--batch-size",
            metavar="N",
            type=_positive_int,
            default=64,
            help="texts per request (64)",
        )
    if field:
        group.add_argument(
            "--field", default="text", help="the field of object lines to use (default: text)"
        )
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> Tuple[argparse.ArgumentParser, Parsers]:
    """The top-level parser and each command's parser, by name."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="babyapi",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"babyapi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    parsers: Parsers = {}

    def add(name: str, help_text: str, description: str, **kwargs: Any) -> argparse.ArgumentParser:
        command = sub.add_parser(
            name,
            help=help_text,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )
        parsers[name] = command
        return command

    chat = add(
        "chat",
        "chat with a model (interactive without a prompt)",
        "With a PROMPT (or text piped on stdin), stream the answer and exit.\n"
        "With neither, start an interactive session that keeps the conversation;\n"
        "inside it: /system TEXT, /reset, /model NAME, /help, /exit.\n"
        "Ctrl-C stops a reply, Ctrl-D exits. PROMPT '-' reads stdin.\n"
        "--responses talks to POST /v1/responses instead of /v1/chat/completions.",
        parents=[common],
    )
    _model_option(chat)
    chat.add_argument("--system", metavar="TEXT", help="system prompt")
    chat.add_argument(
        "--responses",
        action="store_true",
        help="use the Responses API (POST /v1/responses); --system becomes its instructions",
    )
    chat.add_argument(
        "--json-schema",
        metavar="FILE",
        help="answer with JSON that fits the JSON Schema in FILE; prints the checked JSON",
    )
    chat.add_argument("prompt", nargs="*", metavar="PROMPT", help="the message (words are joined)")
    _sampling_options(chat)
    _extra_option(chat)
    _batch_options(chat, "prompt (a JSON string, or an object with messages or text)")

    infer = add(
        "infer",
        "one answer from POST /infer",
        "Send PROMPT (or piped stdin) to POST /infer and print the output.",
        parents=[common],
    )
    _model_option(infer)
    infer.add_argument("prompt", nargs="*", metavar="PROMPT")
    _sampling_options(infer)
    _extra_option(infer)

    complete = add(
        "complete",
        "a text completion (/v1/completions)",
        "Complete PROMPT (or piped stdin) with /v1/completions.\n"
        "With --json --stream, each event is printed as one JSON line.",
        parents=[common],
    )
    _model_option(complete)
    complete.add_argument("prompt", nargs="*", metavar="PROMPT")
    complete.add_argument("--stream", action="store_true", help="print the text as it arrives")
    _sampling_options(complete)
    _extra_option(complete)

    embed = add(
        "embed",
        "embedding vectors for texts",
        "One vector per input: each TEXT argument, then each non-empty line of\n"
        "each --file ('-' is stdin; piped stdin is read when nothing else is given).",
        parents=[common],
    )
    _model_option(embed, "embed")
    embed.add_argument("texts", nargs="*", metavar="TEXT")
    embed.add_argument("--file", action="append", default=[], metavar="F", help="(repeatable)")
    embed.add_argument("--dimensions", type=_positive_int, metavar="N", help="truncate vectors")
    _extra_option(embed)
    _batch_options(embed, "text (a JSON string, or an object with a text field)", batch_size=True)

    rerank = add(
        "rerank",
        "rank documents against a query",
        "Rank each DOC (and each non-empty line of --file) by relevance to QUERY.",
        parents=[common],
    )
    _model_option(rerank, "rerank")
    rerank.add_argument("query", nargs="?", metavar="QUERY")
    rerank.add_argument("documents", nargs="*", metavar="DOC")
    rerank.add_argument("--file", action="append", default=[], metavar="F", help="(repeatable)")
    rerank.add_argument("--top-n", type=_positive_int, metavar="N", help="keep the best N")
    _extra_option(rerank)
    _batch_options(rerank, 'group {"query": ..., "documents": [...]}', field=False)

    tokenize = add(
        "tokenize",
        "count a prompt's tokens (vLLM's /tokenize)",
        "Tokenize TEXT (or piped stdin) with the model's tokenizer: the count, the\n"
        "context length and the room left, then the token ids. --chat counts TEXT as\n"
        "one user message through the chat template. vLLM and llama-server have it.",
        parents=[common],
    )
    _model_option(tokenize)
    tokenize.add_argument("prompt", nargs="*", metavar="TEXT", help="the text (words are joined)")
    tokenize.add_argument(
        "--chat", action="store_true", help="count TEXT as a user message, template included"
    )
    tokenize.add_argument("--strings", action="store_true", help="show each token's text")
    _extra_option(tokenize)

    score = add(
        "score",
        "score documents against a query (vLLM's /score)",
        "A relevance score for QUERY against each DOC (and each non-empty line of\n"
        "--file), in the documents' order (rerank sorts by score instead).",
        parents=[common],
    )
    _model_option(score, "rerank")
    score.add_argument("query", metavar="QUERY")
    score.add_argument("documents", nargs="*", metavar="DOC")
    score.add_argument("--file", action="append", default=[], metavar="F", help="(repeatable)")
    _extra_option(score)

    add(
        "models", "list the models the server offers", "List the server's models.", parents=[common]
    )

    # Its options belong to babyapi.server, which is imported only when serve runs:
    # everything after 'serve' is handed to the server's own parser.
    add(
        "serve",
        "run a local BabyAPI-compatible server (needs babyapi[server])",
        "Run the local server. Options: babyapi serve --help.",
        add_help=False,
    )
    return parser, parsers
