"""Chat completions, text completions and /infer: read the body, generate, shape the answer.

Pure functions over dicts; the HTTP layer in ``app`` only moves bytes.
Shapes follow vLLM's OpenAI server.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, cast

from babyapi.server.errors import APIError, invalid
from babyapi.server.generate import (
    DEFAULT_MAX_TOKENS,
    Generation,
    SamplingParams,
    count_tokens,
    generate,
)
from babyapi.server.models import GENERATE, VISION, resolve
from babyapi.server.structured import (
    JsonAnswer,
    Structured,
    Words,
    json_text,
    pieces_of,
    plan,
)
from babyapi.server.validate import (
    Body,
    choice_count,
    include_usage,
    optional_bool,
    required_str,
    sampling_params,
)

# OpenAI's legacy completions default; vLLM keeps it.
COMPLETION_DEFAULT_MAX_TOKENS = 16
# What an image part costs in usage; real vision models charge a few hundred,
# a small constant keeps numbers readable while still counting images.
IMAGE_TOKENS = 16
# Per-message overhead of a chat template (role markers), as OpenAI counts it.
MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMING_TOKENS = 2
CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})

JSON = Dict[str, Any]


@dataclass(frozen=True)
class TextRequest:
    """A generation request, whatever endpoint it came from."""

    model: str
    prompts: Tuple[str, ...]  # one per prompt; chat has exactly one
    prompt_tokens: int
    params: SamplingParams
    n: int = 1
    stream: bool = False
    include_usage: bool = False
    echo: bool = False
    structured: Optional[Structured] = None
    # What strings in JSON answers and tool arguments are drawn from: the last user message.
    words_from: str = ""
    # Only an explicit max_tokens cuts a JSON answer: the free-text default is short.
    json_max_tokens: Optional[int] = None


@dataclass(frozen=True)
class Choice:
    """One generated choice and the prompt it answers."""

    index: int
    prompt: str
    generation: Generation
    tool_calls: Tuple[JSON, ...] = ()


def _stream_flags(body: Body) -> Tuple[bool, bool]:
    stream = bool(optional_bool(body, "stream"))
    return stream, include_usage(body)


def message_text(message: Any, index: int, vision: bool, model: str) -> Tuple[str, int]:
    """Return (text, image count) of one chat message, checking its shape."""
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise invalid(param, f"`{param}` must be an object with `role` and `content`.")
    fields = cast(Body, message)
    role = fields.get("role")
    if not isinstance(role, str) or role not in CHAT_ROLES:
        roles = ", ".join(sorted(CHAT_ROLES))
        raise invalid(f"{param}.role", f"`{param}.role` must be one of: {roles}.")
    content = fields.get("content")
    if content is None or isinstance(content, str):
        return content or "", 0
    if not isinstance(content, list):
        raise invalid(f"{param}.content", f"`{param}.content` must be a string or a list of parts.")
    texts: List[str] = []
    images = 0
    for j, item in enumerate(cast(List[object], content)):
        where = f"{param}.content[{j}]"
        part: Body = cast(Body, item) if isinstance(item, dict) else {}
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            image = part.get("image_url")
            url = cast(Body, image).get("url") if isinstance(image, dict) else image
            if not isinstance(url, str) or not url:
                raise invalid(f"{where}.image_url", f"`{where}.image_url.url` must be a string.")
            if not vision:
                raise APIError(
                    400,
                    f"The model `{model}` is text-only and does not accept images; "
                    "use a vision model such as `pixtral`.",
                    param=f"{where}.image_url",
                    code="vision_not_supported",
                )
            images += 1
        else:
            raise invalid(
                where,
                f"`{where}` must be {{'type': 'text', 'text': ...}} or "
                "{'type': 'image_url', 'image_url': {'url': ...}}.",
            )
    return " ".join(texts), images


def parse_chat(body: Body) -> TextRequest:
    """Validate a /v1/chat/completions body."""
    model = required_str(body, "model")
    messages = body.get("messages")
    if messages is None:
        raise invalid("messages", "`messages` is required.", code="missing_field")
    if not isinstance(messages, list):
        raise invalid("messages", "`messages` must be a list of message objects.")
    if not messages:
        raise invalid("messages", "`messages` must contain at least one message.")
    card = resolve(model, GENERATE)
    vision = VISION in card.tasks
    prompt_tokens = REPLY_PRIMING_TOKENS
    last_user = ""
    last_role = ""
    tool_results: List[str] = []
    everything: List[str] = []
    for i, message in enumerate(cast(List[object], messages)):
        text, images = message_text(message, i, vision, model)
        prompt_tokens += MESSAGE_OVERHEAD_TOKENS + count_tokens(text) + IMAGE_TOKENS * images
        everything.append(text)
        last_role = cast(Body, message)["role"]  # message_text checked it is an object
        tool_results = [*tool_results, text] if last_role == "tool" else []
        if last_role == "user":
            last_user = text
    params = sampling_params(
        body,
        default_max_tokens=DEFAULT_MAX_TOKENS,
        max_tokens_names=["max_completion_tokens", "max_tokens"],
    )
    stream, usage = _stream_flags(body)
    # The reply is steered by what the user asked last (or by the tool answers it now
    # reports on); the whole conversation seeds it, so different conversations differ.
    seed_text = " ".join(tool_results) or last_user or " ".join(everything)
    explicit = body.get("max_completion_tokens") or body.get("max_tokens")
    return TextRequest(
        model=model,
        prompts=(seed_text + "\x00" + "\x00".join(everything),),
        prompt_tokens=prompt_tokens,
        params=params,
        n=choice_count(body),
        stream=stream,
        include_usage=usage,
        structured=plan(body, last_role, last_user),
        words_from=last_user or " ".join(everything),
        json_max_tokens=params.max_tokens if explicit else None,
    )


def parse_completion(body: Body) -> TextRequest:
    """Validate a /v1/completions body."""
    model = required_str(body, "model")
    prompt = body.get("prompt")
    if prompt is None:
        raise invalid("prompt", "`prompt` is required.", code="missing_field")
    if isinstance(prompt, str):
        prompts: Tuple[str, ...] = (prompt,)
    elif (
        isinstance(prompt, list)
        and prompt
        and all(isinstance(p, str) for p in cast(List[object], prompt))
    ):
        prompts = tuple(cast(List[str], prompt))
    else:
        raise invalid(
            "prompt", "`prompt` must be a string or a non-empty list of strings (not token ids)."
        )
    resolve(model, GENERATE)
    params = sampling_params(
        body, default_max_tokens=COMPLETION_DEFAULT_MAX_TOKENS, max_tokens_names=["max_tokens"]
    )
    stream, usage = _stream_flags(body)
    return TextRequest(
        model=model,
        prompts=prompts,
        prompt_tokens=sum(count_tokens(p) for p in prompts),
        params=params,
        n=choice_count(body),
        stream=stream,
        include_usage=usage,
        echo=bool(optional_bool(body, "echo")),
    )


def parse_infer(body: Body) -> TextRequest:
    """Validate a /infer body."""
    model = required_str(body, "model")
    prompt = required_str(body, "prompt")
    resolve(model, GENERATE)
    params = sampling_params(
        body, default_max_tokens=DEFAULT_MAX_TOKENS, max_tokens_names=["max_tokens"]
    )
    return TextRequest(
        model=model, prompts=(prompt,), prompt_tokens=count_tokens(prompt), params=params
    )


def run(request: TextRequest) -> List[Choice]:
    """Generate every choice: n per prompt, indexed prompt-major as OpenAI does."""
    choices: List[Choice] = []
    for prompt in request.prompts:
        for i in range(request.n):
            if request.structured is not None:
                choices.append(_structured_choice(request, request.structured, prompt, i))
                continue
            gen = generate(prompt, request.params, i)
            choices.append(Choice(len(choices), prompt, gen))
    return choices


def _structured_choice(request: TextRequest, shape: Structured, prompt: str, index: int) -> Choice:
    if isinstance(shape, JsonAnswer):
        pieces = pieces_of(json_text(shape.schema, Words(request.words_from, offset=index)))
        limit = request.json_max_tokens
        finish = "stop"
        if limit is not None and len(pieces) > limit:
            pieces, finish = pieces[:limit], "length"
        return Choice(index, prompt, Generation(pieces, finish, len(pieces)))
    names = [name for name, _, _ in shape.tools]
    calls: List[JSON] = []
    for name, schema, text in shape.tools:
        words = Words(text, skip=names, offset=index)
        if words.empty:
            words = Words(request.words_from, skip=names, offset=index)
        arguments = json_text(schema, words)
        calls.append(
            {
                "id": f"call_{random_hex()[:24]}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
    tokens = sum(count_tokens(json_args) + 1 for json_args in _arguments(calls))
    return Choice(index, prompt, Generation((), "tool_calls", tokens), tuple(calls))


def usage(request: TextRequest, choices: List[Choice]) -> JSON:
    """Token usage; prompt_tokens + completion_tokens == total_tokens always."""
    completion = sum(c.generation.completion_tokens for c in choices)
    return {
        "prompt_tokens": request.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": request.prompt_tokens + completion,
    }


def int_time() -> int:
    """Seconds since the epoch, as the `created` fields carry them."""
    return int(time.time())


# Ids need to be unique, not secret: a PRNG seeded once from the OS avoids a
# getrandom() syscall per id (uuid4), which shows on a small request's cost.
_IDS = random.Random()


def random_hex() -> str:
    """32 random hex digits."""
    return f"{_IDS.getrandbits(128):032x}"


def new_id(prefix: str) -> str:
    """A fresh response id such as ``chatcmpl-<hex>``."""
    return f"{prefix}-{random_hex()}"


def chat_response(request: TextRequest, choices: List[Choice]) -> JSON:
    """The non-streaming chat.completion body."""
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": c.index,
                "message": {
                    "role": "assistant",
                    "content": None if c.tool_calls else c.generation.text,
                    "tool_calls": list(c.tool_calls),
                },
                "logprobs": None,
                "finish_reason": c.generation.finish_reason,
                "stop_reason": None,
            }
            for c in choices
        ],
        "usage": usage(request, choices),
    }


def _echo(request: TextRequest, choice: Choice) -> str:
    return choice.prompt if request.echo else ""


def completion_response(request: TextRequest, choices: List[Choice]) -> JSON:
    """The non-streaming text_completion body."""
    return {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": c.index,
                "text": _echo(request, c) + c.generation.text,
                "logprobs": None,
                "finish_reason": c.generation.finish_reason,
                "stop_reason": None,
            }
            for c in choices
        ],
        "usage": usage(request, choices),
    }


def infer_response(request: TextRequest, choices: List[Choice]) -> JSON:
    """The /infer body: ``{"id", "model", "output", "finish_reason", "usage"}``."""
    gen = choices[0].generation
    return {
        "id": new_id("infer"),
        "model": request.model,
        "output": gen.text,
        "finish_reason": gen.finish_reason,
        "usage": usage(request, choices),
    }


def _interleaved(choices: List[Choice]) -> Iterator[Tuple[Choice, str]]:
    """Yield (choice, piece) token by token, round-robin, as a batched server would."""
    longest = max((len(c.generation.pieces) for c in choices), default=0)
    for t in range(longest):
        for c in choices:
            if t < len(c.generation.pieces):
                yield c, c.generation.pieces[t]


def chat_chunks(request: TextRequest, choices: List[Choice]) -> Iterator[JSON]:
    """The chat.completion.chunk frames: role, one per token, finish, optional usage."""
    base: JSON = {
        "id": new_id("chatcmpl"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.model,
    }

    def frame(index: int, delta: JSON, finish: Optional[str] = None) -> JSON:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    for c in choices:
        yield frame(c.index, {"role": "assistant", "content": "" if not c.tool_calls else None})
    for c, piece in _interleaved(choices):
        yield frame(c.index, {"content": piece})
    for c in choices:
        yield from (frame(c.index, delta) for delta in _tool_call_deltas(c.tool_calls))
    for c in choices:
        yield frame(c.index, {}, c.generation.finish_reason)
    if request.include_usage:
        yield {**base, "choices": [], "usage": usage(request, choices)}


def _arguments(calls: Sequence[JSON]) -> List[str]:
    return [cast(str, call["function"]["arguments"]) for call in calls]


def _tool_call_deltas(calls: Tuple[JSON, ...]) -> Iterator[JSON]:
    """Tool calls as vLLM streams them: id and name first, then the arguments in pieces."""
    for index, call in enumerate(calls):
        function = call["function"]
        head = {"index": index, "id": call["id"], "type": "function"}
        yield {"tool_calls": [{**head, "function": {"name": function["name"], "arguments": ""}}]}
        for piece in pieces_of(function["arguments"]):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}


def completion_chunks(request: TextRequest, choices: List[Choice]) -> Iterator[JSON]:
    """The text_completion frames: one per token, finish, optional usage."""
    base: JSON = {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": request.model,
    }

    def frame(index: int, text: str, finish: Optional[str] = None) -> JSON:
        choice = {
            "index": index,
            "text": text,
            "logprobs": None,
            "finish_reason": finish,
            "stop_reason": None,
        }
        return {**base, "choices": [choice]}

    if request.echo:
        for c in choices:
            yield frame(c.index, c.prompt)
    for c, piece in _interleaved(choices):
        yield frame(c.index, piece)
    for c in choices:
        yield frame(c.index, "", c.generation.finish_reason)
    if request.include_usage:
        yield {**base, "choices": [], "usage": usage(request, choices)}
