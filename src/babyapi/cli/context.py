"""What every command shares: options, the client made on first use, prompts and streams."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import uuid
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    cast,
)

from babyapi.cli.errors import UsageError
from babyapi.cli.output import Output

if TYPE_CHECKING:
    from babyapi import BabyAPI, SSEEvent, Stream

# Opens one attempt of a stream, given its request options.
StartStream = Callable[[Dict[str, Any]], "Stream[Any]"]

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
            urls = self.option("base_url")
            if urls:
                kwargs["base_url"] = urls[0] if len(urls) == 1 else urls
            if self.option("timeout") is not None:
                kwargs["timeout_s"] = self.option("timeout")
            if self.option("max_retries") is not None:
                kwargs["max_retries"] = self.option("max_retries")
            if self.headers():
                kwargs["default_headers"] = self.headers()
            self._client = BabyAPI(**kwargs)
        return self._client

    def headers(self) -> Dict[str, str]:
        """The -H 'Name: value' headers, later ones winning."""
        pairs: List[Tuple[str, str]] = self.option("headers", []) or []
        return dict(pairs)

    def base_url(self) -> str:
        """The server URL the command talks to, for error messages."""
        urls = self.option("base_url") or [os.environ.get("BABYAPI_BASE_URL") or ""]
        return ", ".join(u.rstrip("/") for u in urls if u) or "https://api.babyapi.org"

    def stream_options(self) -> Dict[str, Any]:
        """Streams have no timeout unless --timeout bounds each wait for data.

        Every attempt of one streamed answer carries the same Idempotency-Key (unless -H set
        one), as the SDK's own retries of a JSON call do.
        """
        options: Dict[str, Any] = {}
        timeout = self.option("timeout")
        if timeout is not None:
            options["timeout_s"] = timeout
        if not any(name.lower() == "idempotency-key" for name in self.headers()):
            options["headers"] = {"Idempotency-Key": str(uuid.uuid4())}
        return options

    def stream_text(
        self, path: str, start: StartStream, parts: Optional[List[str]] = None
    ) -> Dict[str, Any]:
        """Stream an answer's text to the output as it arrives; return the whole answer.

        ``parts`` collects the pieces as they come, so a caller keeps what arrived before a
        Ctrl-C.
        """
        from babyapi._accumulate import text_of_chunk

        pieces: List[str] = [] if parts is None else parts
        stream, events = self.open_stream(path, start)
        with stream:
            for event in events:
                text = text_of_chunk(event.data)
                if text:
                    self.out.write(text)
                    pieces.append(text)
            answer: Dict[str, Any] = stream.final()
        return answer

    def open_stream(self, path: str, start: StartStream) -> Tuple[Stream[Any], Iterator[SSEEvent]]:
        """Open a stream and its events; retry what fails before any data arrives.

        The SDK never retries a stream; this command line does, as --max-retries promises,
        with the SDK's own rule for what to retry, how long to wait and when to give up.
        """
        from babyapi import APIConnectionError, BabyAPIError
        from babyapi._call import decide_after_error, give_up

        api = self.client._api
        options = self.stream_options()
        retries = 0
        while True:
            stream: Optional[Stream[Any]] = None
            try:
                stream = start(options)
                first = next(stream, None)
                return stream, itertools.chain([] if first is None else [first], stream)
            except BabyAPIError as error:
                if stream is not None:
                    stream.close()
                    if not isinstance(error, APIConnectionError):
                        raise  # the server's own error event: data did arrive
                decision = decide_after_error(
                    error,
                    "POST",
                    path,
                    retries_done=retries,
                    max_retries=api.config.max_retries,
                    base_delay_s=api.config.retry_base_delay_s,
                    clocks=api.clocks,
                    ledger=api.retry_ledger,
                )
                if not decision.retry:
                    raise give_up(error, retries, decision)  # noqa: B904 - the error itself, not a new one
            time.sleep(decision.wait_s)
            retries += 1

    def note_if_cut(self, answer: Mapping[str, Any]) -> None:
        """Say so on stderr when the answer stopped at the length limit the user did not set."""
        choices: object = answer.get("choices")
        first: object = answer
        if isinstance(choices, list) and choices:
            first = cast("List[object]", choices)[0]
        reason = (
            cast("Dict[str, object]", first).get("finish_reason")
            if isinstance(first, dict)
            else None
        )
        if answer.get("status") == "incomplete":  # a Responses API answer cut short
            reason = "length"
        if reason == "length" and self.option("max_tokens") is None:
            self.out.end_line()
            print(
                "babyapi: the answer stopped at the server's default length limit; "
                "--max-tokens N allows more",
                file=sys.stderr,
                flush=True,
            )

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
        ids = [str(item["id"]) for item in listing.get("data") or [] if item.get("id")]
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
        extra: List[Tuple[str, str]] = self.option("extra", []) or []
        for key, raw in extra:
            try:
                body[key] = json.loads(raw)
            except ValueError:
                body[key] = raw
        return body

    def responses_options(self) -> Dict[str, Any]:
        """``body_options()`` for the Responses API, where the length limit is max_output_tokens."""
        body = self.body_options()
        if "max_tokens" in body:
            body["max_output_tokens"] = body.pop("max_tokens")
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


def optional_prompt(args: argparse.Namespace) -> Optional[str]:
    """The prompt: the words given, '-' for stdin, or piped stdin; None when there is none."""
    words: List[str] = list(args.prompt)
    if words == ["-"] or (not words and stdin_is_piped()):
        text = read_stdin().rstrip("\n")
        if not text.strip():
            raise UsageError("no prompt: standard input was empty")
        return text
    return " ".join(words) if words else None


def required_prompt(args: argparse.Namespace) -> str:
    """The prompt, which this command cannot do without."""
    prompt = optional_prompt(args)
    if prompt is None:
        raise UsageError("no prompt: give PROMPT or pipe text on standard input")
    return prompt


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
