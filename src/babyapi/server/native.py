"""vLLM's own endpoints beyond the OpenAI ones: tokens, scores, classes, pooling, LoRA, status.

Shapes and error cases follow vLLM 0.32's server; the answers are the local server's
deterministic stand-ins (its tokenizer, ranker, classifier and embeddings). ``install``
adds the routes, the adapter table and the in-flight request count to an app.
"""

from __future__ import annotations

from typing import Any, Callable, List, Sequence, Tuple, cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from babyapi._version import __version__
from babyapi.server import tokens
from babyapi.server.adapters import Adapters
from babyapi.server.classify import LABELS, label_of, probabilities
from babyapi.server.completions import int_time, new_id
from babyapi.server.embed import NATIVE_DIMENSIONS, embed
from babyapi.server.errors import APIError, invalid
from babyapi.server.generate import count_tokens, token_pieces
from babyapi.server.http import JSON, json_response, read_json, texts_of
from babyapi.server.models import CLASSIFY, EMBED, MAX_MODEL_LEN, MODELS, RERANK, resolve
from babyapi.server.rank import relevance_scores
from babyapi.server.validate import Body, optional_int

DEFAULT_MODEL = "babyapi-tiny"
# The paths whose requests vLLM's --enable-server-load-tracking counts (generation and pooling).
LOAD_PATHS = frozenset(
    [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/rerank",
        "/rerank",
        "/v2/rerank",
        "/infer",
        "/score",
        "/v1/score",
        "/classify",
        "/pooling",
    ]
)
# The (data_1, data_2) field names vLLM's /score has accepted over its versions.
SCORE_FIELDS: Tuple[Tuple[str, str], ...] = (
    ("queries", "documents"),
    ("queries", "items"),
    ("data_1", "data_2"),
    ("text_1", "text_2"),
)
_POOLING_TASKS = {"embed": EMBED, "token_embed": EMBED, "classify": CLASSIFY}
# One KV-cache block per request in flight, out of this many: a figure that moves with load.
KV_BLOCKS = 64


class LoadCount:
    """Requests in flight on the model endpoints, and how many have finished."""

    def __init__(self) -> None:
        self.running = 0
        self.finished = 0


class LoadTracker:
    """ASGI middleware counting model requests from arrival until their answer is sent."""

    def __init__(self, app: ASGIApp, *, count: LoadCount) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in LOAD_PATHS:
            await self.app(scope, receive, send)
            return
        self.count.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.count.running -= 1
            self.count.finished += 1


def _model(body: Body, task: str) -> str:
    """The model a pooling request names (vLLM lets it be left out: one model per server)."""
    model = body.get("model")
    if model is None:
        return DEFAULT_MODEL
    if not isinstance(model, str) or not model:
        raise invalid("model", "`model` must be a non-empty string.")
    resolve(model, task)
    return model


def _usage(tokens: int) -> JSON:
    return {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0}


# --------------------------------------------------------------------------- tokens


async def tokenize(request: Request) -> Response:
    """POST /tokenize: a prompt, or messages through the chat template."""
    body = await read_json(request)
    model = body.get("model")
    if model is not None and (not isinstance(model, str) or model not in MODELS):
        raise APIError(
            404, f"The model `{model}` does not exist.", param="model", code="model_not_found"
        )
    name = model or DEFAULT_MODEL
    with_strings = bool(body.get("return_token_strs"))
    if "messages" in body:
        done = tokens.tokenize_messages(body, "vision" in MODELS[name].tasks, name)
    else:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise invalid("prompt", "`prompt` (a string) or `messages` (a list) is required.")
        done = tokens.tokenize_prompt(prompt)
    return json_response(done.body(MAX_MODEL_LEN, with_strings))


async def detokenize(request: Request) -> Response:
    """POST /detokenize."""
    body = await read_json(request)
    model = body.get("model")
    if model is not None and model not in MODELS:
        raise APIError(
            404, f"The model `{model}` does not exist.", param="model", code="model_not_found"
        )
    return json_response({"prompt": tokens.detokenize(body.get("tokens"))})


# --------------------------------------------------------------------------- pooling


def _score_pairs(body: Body) -> Tuple[List[str], List[str]]:
    for first, second in SCORE_FIELDS:
        if first in body and second in body:
            return texts_of(body, first), texts_of(body, second)
    raise invalid(
        "queries",
        "`queries` and `documents` are required (or `text_1` and `text_2`).",
        code="missing_field",
    )


async def score(request: Request) -> Response:
    """POST /score (and /v1/score): a relevance score per pair, 1:1, 1:N or N:N."""
    body = await read_json(request)
    model = _model(body, RERANK)
    queries, documents = _score_pairs(body)
    if len(queries) == 1:
        scores = relevance_scores(queries[0], documents)
        pairs = [(queries[0], d) for d in documents]
    elif len(queries) == len(documents):
        pairs = list(zip(queries, documents))
        scores = [relevance_scores(q, [d])[0] for q, d in pairs]
    else:
        raise invalid("documents", "Input lengths must be either 1:1, 1:N or N:N")
    used = sum(count_tokens(q) + count_tokens(d) for q, d in pairs)
    return json_response(
        {
            "id": new_id("score"),
            "object": "list",
            "created": int_time(),
            "model": model,
            "data": [{"index": i, "object": "score", "score": s} for i, s in enumerate(scores)],
            "usage": _usage(used),
        }
    )


def _class_of(text: str, index: int) -> JSON:
    probs = probabilities(text)
    return {"index": index, "label": label_of(probs), "probs": probs, "num_classes": len(LABELS)}


def _inputs(body: Body) -> List[str]:
    """``input`` as a list of texts, or ``messages`` as one text (the chat variant)."""
    if "messages" not in body or "input" in body:
        return texts_of(body, "input")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise invalid("messages", "`messages` must be a non-empty list of message objects.")
    found = tokens.tokenize_messages({"messages": messages}, False, DEFAULT_MODEL)
    return [" ".join(p for p in found.pieces if p not in tokens.SPECIALS)]


async def classify(request: Request) -> Response:
    """POST /classify: a label and class probabilities per input."""
    body = await read_json(request)
    model = _model(body, CLASSIFY)
    texts = _inputs(body)
    return json_response(
        {
            "id": new_id("classify"),
            "object": "list",
            "created": int_time(),
            "model": model,
            "data": [_class_of(text, i) for i, text in enumerate(texts)],
            "usage": _usage(sum(count_tokens(t) for t in texts)),
        }
    )


def _pooled(task: str, dimensions: int) -> Callable[[str], Any]:
    if task == "classify":
        return probabilities
    if task == "token_embed":
        return lambda text: [embed(p, dimensions) for p in token_pieces(text)]
    return lambda text: embed(text, dimensions)


async def pooling(request: Request) -> Response:
    """POST /pooling: the model's raw pooled output; ``task`` picks embed, token_embed or classify."""
    body = await read_json(request)
    task = body.get("task", "embed")
    if task not in _POOLING_TASKS:
        raise invalid(
            "task", f"Unsupported task: {task!r} Supported tasks: {tuple(_POOLING_TASKS)}"
        )
    model = _model(body, _POOLING_TASKS[task])
    texts = _inputs(body)
    dimensions = optional_int(body, "dimensions", 1, NATIVE_DIMENSIONS) or NATIVE_DIMENSIONS
    pool = _pooled(task, dimensions)
    return json_response(
        {
            "id": new_id("pool"),
            "object": "list",
            "created": int_time(),
            "model": model,
            "data": [
                {"index": i, "object": "pooling", "data": pool(text)}
                for i, text in enumerate(texts)
            ],
            "usage": _usage(sum(count_tokens(t) for t in texts)),
        }
    )


# --------------------------------------------------------------------------- LoRA


def _adapters(request: Request) -> Adapters:
    return cast(Adapters, request.app.state.adapters)


async def load_adapter(request: Request) -> Response:
    """POST /v1/load_lora_adapter: plain-text success, as vLLM answers."""
    message = _adapters(request).load(await read_json(request))
    return Response(message, media_type="text/plain")


async def unload_adapter(request: Request) -> Response:
    """POST /v1/unload_lora_adapter."""
    message = _adapters(request).unload(await read_json(request))
    return Response(message, media_type="text/plain")


# --------------------------------------------------------------------------- status


async def ping(request: Request) -> Response:
    """GET or POST /ping: 200 with an empty body while the server runs."""
    return Response(b"", 200)


async def version(request: Request) -> Response:
    """GET /version."""
    return json_response({"version": __version__})


def _count(request: Request) -> LoadCount:
    return cast(LoadCount, request.app.state.load)


async def load(request: Request) -> Response:
    """GET /load: model requests in flight (this request itself is not one)."""
    return json_response({"server_load": _count(request).running})


def metrics_text(count: LoadCount, models: Sequence[str]) -> str:
    """Prometheus text with the gauges vLLM exposes under the same names."""
    running = count.running
    lines: List[str] = []
    gauges: List[Tuple[str, str, str, float]] = [
        ("vllm:num_requests_running", "gauge", "Requests in model execution batches.", running),
        ("vllm:num_requests_waiting", "gauge", "Requests waiting to be processed.", 0),
        (
            "vllm:kv_cache_usage_perc",
            "gauge",
            "KV-cache usage. 1 means 100 percent usage.",
            min(1.0, running / KV_BLOCKS),
        ),
        (
            "vllm:request_success_total",
            "counter",
            "Count of successfully processed requests.",
            count.finished,
        ),
    ]
    for name, kind, help_text, value in gauges:
        family = name.removesuffix("_total")
        lines += [f"# HELP {family} {help_text}", f"# TYPE {family} {kind}"]
        lines += [f'{name}{{engine="0",model_name="{m}"}} {float(value)}' for m in models]
    return "\n".join(lines) + "\n"


async def metrics(request: Request) -> Response:
    """GET /metrics: Prometheus text exposition format 0.0.4."""
    return Response(
        metrics_text(_count(request), [DEFAULT_MODEL]),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )


def routes() -> List[Route]:
    return [
        Route("/tokenize", tokenize, methods=["POST"]),
        Route("/detokenize", detokenize, methods=["POST"]),
        Route("/score", score, methods=["POST"]),
        Route("/v1/score", score, methods=["POST"]),
        Route("/classify", classify, methods=["POST"]),
        Route("/pooling", pooling, methods=["POST"]),
        Route("/v1/load_lora_adapter", load_adapter, methods=["POST"]),
        Route("/v1/unload_lora_adapter", unload_adapter, methods=["POST"]),
        Route("/ping", ping, methods=["GET", "POST"]),
        Route("/version", version, methods=["GET"]),
        Route("/load", load, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def install(app: Starlette) -> None:
    """Add vLLM's own routes, the adapter table and the load count to ``app``."""
    app.router.routes.extend(routes())
    app.state.adapters = Adapters()
    app.state.load = LoadCount()
    app.add_middleware(LoadTracker, count=app.state.load)
