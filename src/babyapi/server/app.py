"""The Starlette application: routes, the request-id / auth / fault middleware, error rendering."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import struct
from typing import Any, AsyncIterator, Callable, Iterable, List, Optional, cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import babyapi.server.completions as completions
import babyapi.server.native as native
import babyapi.server.responses as responses
from babyapi.server.embed import NATIVE_DIMENSIONS, embed, to_base64
from babyapi.server.errors import APIError, error_body, invalid
from babyapi.server.faults import (
    FAULT_HEADER,
    PROXY_502_PAGE,
    AttemptCounter,
    FaultPlan,
    parse_fault,
)
from babyapi.server.generate import count_tokens
from babyapi.server.http import JSON, json_response, read_json, texts_of, too_large
from babyapi.server.models import EMBED, MODELS, RERANK, model_list, resolve
from babyapi.server.rank import relevance_scores
from babyapi.server.validate import Body, optional_bool, optional_int, required_str

DEFAULT_MAX_BODY_BYTES = 1_048_576
# Keys the middleware leaves in the ASGI scope for the endpoints.
SCOPE_FAULT = "babyapi.fault"
SCOPE_TRANSPORT = "babyapi.transport"  # set by babyapi.server.runner's protocol
_MAX_REQUEST_ID = 200
# uvicorn's own logger, so the line is formatted and filtered by --log-level like its others.
_log = logging.getLogger("uvicorn.error")


def error_response(err: APIError) -> Response:
    """Render an APIError as its OpenAI-shaped body and status."""
    return json_response(err.body(), err.status, err.headers or None)


# --------------------------------------------------------------------------- middleware


async def _send_raw(
    send: Send, status: int, body: bytes, headers: List[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode("latin-1"))],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(send: Send, err: APIError) -> None:
    """Send an error answer straight over ASGI, outside Starlette's routing."""
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in err.headers.items()]
    await _send_raw(send, err.status, err.body_bytes(), headers)


async def drop_connection(scope: Scope) -> None:
    """Reset the TCP connection (RST) without answering; see faults' ``reset``."""
    transport = scope.get(SCOPE_TRANSPORT)
    if transport is None:
        # Not running under our protocol: the best we can do is fail the request.
        raise ConnectionAbortedError("x-babyapi-fault: reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout turns close() into a reset, which is
        # what a crashed proxy or a load balancer's idle reaper looks like.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let connection_lost run so the server knows not to send its own 500.
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class GatewayMiddleware:
    """What a gateway does before a model sees the request.

    In order: tag every response with ``x-request-id`` (the caller's, else a new
    one); check the API key; apply ``x-babyapi-fault`` drills; refuse bodies
    whose Content-Length is over the limit. Pure ASGI rather than
    BaseHTTPMiddleware because it runs on every request.
    """

    def __init__(
        self, app: ASGIApp, *, api_key: Optional[str], max_body_bytes: int, attempts: AttemptCounter
    ) -> None:
        self.app = app
        self.api_key = api_key.encode("utf-8") if api_key else None
        self.max_body_bytes = max_body_bytes
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = b""
        authorization = b""
        fault = b""
        idempotency_key = b""
        content_length = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value
            elif name == b"authorization":
                authorization = value
            elif name == b"x-babyapi-fault":
                fault = value
            elif name == b"idempotency-key":
                idempotency_key = value
            elif name == b"content-length":
                content_length = value
        if not request_id or len(request_id) > _MAX_REQUEST_ID or not request_id.isascii():
            request_id = b"req-" + completions.random_hex().encode("ascii")
        id_header = (b"x-request-id", request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            if self.api_key is not None and scope["path"] != "/health":
                self._check_key(authorization)
            if fault:
                plan = parse_fault(fault.decode("latin-1"))
                if await self._apply_fault(plan, idempotency_key, scope, send_with_id):
                    return
            if content_length.isdigit() and int(content_length) > self.max_body_bytes:
                raise too_large(self.max_body_bytes)
        except APIError as err:
            await send_error(send_with_id, err)
            return
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # A client that gave up (a timeout, a hang drill) broke nothing: note it, no traceback.
            _log.info(
                "%s %s: the client went away before the answer (x-request-id %s)",
                scope["method"],
                scope["path"],
                request_id.decode("latin-1"),
            )

    def _check_key(self, authorization: bytes) -> None:
        assert self.api_key is not None
        scheme, _, token = authorization.partition(b" ")
        if not authorization:
            raise APIError(
                401,
                "Missing API key: send the header `Authorization: Bearer <key>`.",
                code="missing_api_key",
            )
        # compare_digest: the time taken must not reveal how much of a key matched.
        if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), self.api_key):
            raise APIError(401, "Incorrect API key provided.", code="invalid_api_key")

    async def _apply_fault(
        self, plan: FaultPlan, idempotency_key: bytes, scope: Scope, send: Send
    ) -> bool:
        """Run a drill; return True when it already answered (or dropped) the request."""
        if plan.hang_s > 0:
            await asyncio.sleep(plan.hang_s)
        if plan.fail_first is not None:
            attempt = self.attempts.next_attempt(idempotency_key.decode("latin-1"), plan.spec)
            if attempt > plan.fail_first:
                return False
            if not plan.fails_request and not plan.touches_stream:
                raise plan.error()
        if plan.reset:
            await drop_connection(scope)
            return True
        if plan.html_502:
            await _send_raw(send, 502, PROXY_502_PAGE, [(b"content-type", b"text/html")])
            return True
        if plan.status is not None:
            raise plan.error()
        if plan.touches_stream:
            scope[SCOPE_FAULT] = plan
        return False


# --------------------------------------------------------------------------- helpers


def _sse_frame(data: Any) -> bytes:
    return (
        b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    )


def _named_sse_frame(data: Any) -> bytes:
    """A frame with an ``event:`` line naming its ``type``, as Responses API streams send."""
    return b"event: " + str(data.get("type", "message")).encode() + b"\n" + _sse_frame(data)


# How a stream ends: chat and completions with OpenAI's sentinel; Responses API streams
# just end after their last event (response.completed), as OpenAI's and vLLM's do.
_DONE = b"data: [DONE]\n\n"


async def _cut(scope: Scope) -> None:
    transport = scope.get(SCOPE_TRANSPORT)
    if transport is None:
        raise ConnectionAbortedError("x-babyapi-fault: stream-cut-after")
    # Flush what was sent so the client sees exactly N chunks, then close with
    # the chunked body unterminated. Once the buffer is empty, close() marks
    # the transport lost at once, so the server's closing chunk is discarded.
    for _ in range(1000):
        if transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.001)
    transport.close()
    await asyncio.sleep(0)


def _stream_fault_due(plan: FaultPlan, sent: int) -> bool:
    return any(
        n is not None and sent >= n for n in (plan.stream_error_after, plan.stream_cut_after)
    )


def _fire_error(plan: FaultPlan, sent: int) -> bool:
    """Whether the error frame (rather than the cut) is the drill due now."""
    if plan.stream_error_after is None:
        return False
    return plan.stream_cut_after is None or plan.stream_error_after <= plan.stream_cut_after


async def _stream_fault(plan: FaultPlan, sent: int, scope: Scope) -> AsyncIterator[bytes]:
    if _fire_error(plan, sent):
        message = f"Injected fault ({FAULT_HEADER}: {plan.spec}): stream failed after {sent} chunks"
        yield _sse_frame(error_body(500, message, code="stream_error"))
    else:
        await _cut(scope)


async def sse_body(
    frames: Iterable[JSON],
    scope: Scope,
    encode: Callable[[Any], bytes] = _sse_frame,
    end: bytes = _DONE,
) -> AsyncIterator[bytes]:
    """Encode frames as SSE, then ``end``, applying any stream fault drill."""
    plan: Optional[FaultPlan] = scope.get(SCOPE_FAULT)
    if plan is None:
        for frame in frames:
            yield encode(frame)
            # One loop turn per token, so each chunk leaves on its own as a
            # real server's would, instead of the whole reply in one write.
            await asyncio.sleep(0)
        yield end
        return
    sent = 0
    for frame in frames:
        if _stream_fault_due(plan, sent):
            async for tail in _stream_fault(plan, sent, scope):
                yield tail
            return
        if plan.chunk_delay_s > 0:
            await asyncio.sleep(plan.chunk_delay_s)
        yield encode(frame)
        await asyncio.sleep(0)
        sent += 1
    # A count past the last chunk still fires, before [DONE]: a drill never ends cleanly.
    if plan.stream_error_after is not None or plan.stream_cut_after is not None:
        async for tail in _stream_fault(plan, sent, scope):
            yield tail
        return
    yield end


def _event_stream(frames: Iterable[JSON], scope: Scope, named: bool = False) -> StreamingResponse:
    body = sse_body(frames, scope, _named_sse_frame, b"") if named else sse_body(frames, scope)
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


# --------------------------------------------------------------------------- endpoints


async def health(request: Request) -> Response:
    """GET /health: 200 while the server runs."""
    return json_response({"status": "ok"})


async def list_models(request: Request) -> Response:
    """GET /v1/models, LoRA adapters loaded at run time included."""
    listing = model_list()
    listing["data"] += request.app.state.adapters.cards()
    return json_response(listing)


async def get_model(request: Request) -> Response:
    """GET /v1/models/{model}."""
    model = request.path_params["model"]
    card = MODELS.get(model)
    adapter = request.app.state.adapters.loaded.get(model)
    if card is None and adapter is None:
        raise APIError(
            404, f"The model `{model}` does not exist.", param="model", code="model_not_found"
        )
    return json_response(adapter.card() if card is None else card.card())


async def chat_completions(request: Request) -> Response:
    """POST /v1/chat/completions, plain or streaming."""
    parsed = request.app.state.adapters.through(await read_json(request), completions.parse_chat)
    choices = completions.run(parsed)
    if parsed.stream:
        return _event_stream(completions.chat_chunks(parsed, choices), request.scope)
    return json_response(completions.chat_response(parsed, choices))


async def text_completions(request: Request) -> Response:
    """POST /v1/completions, plain or streaming."""
    parsed = request.app.state.adapters.through(
        await read_json(request), completions.parse_completion
    )
    choices = completions.run(parsed)
    if parsed.stream:
        return _event_stream(completions.completion_chunks(parsed, choices), request.scope)
    return json_response(completions.completion_response(parsed, choices))


async def infer(request: Request) -> Response:
    """POST /infer: BabyAPI's text-in, text-out endpoint."""
    parsed = completions.parse_infer(await read_json(request))
    return json_response(completions.infer_response(parsed, completions.run(parsed)))


async def create_response(request: Request) -> Response:
    """POST /v1/responses, plain or streaming."""
    store: responses.Store = request.app.state.responses
    parsed = responses.parse_request(await read_json(request), store)
    answer, choice = responses.create(parsed, store)
    if not parsed.stream:
        return json_response(answer)
    if choice is None:  # a background response streams nothing now: it is polled
        return _event_stream([{"type": "response.queued", "response": answer}], request.scope, True)
    frames = responses.numbered(responses.events(parsed, answer, choice))
    return _event_stream(frames, request.scope, named=True)


async def retrieve_response(request: Request) -> Response:
    """GET /v1/responses/{id}."""
    store: responses.Store = request.app.state.responses
    return json_response(responses.retrieve(store, request.path_params["response_id"]))


async def cancel_response(request: Request) -> Response:
    """POST /v1/responses/{id}/cancel."""
    store: responses.Store = request.app.state.responses
    return json_response(responses.cancel(store, request.path_params["response_id"]))


async def embeddings(request: Request) -> Response:
    """POST /v1/embeddings."""
    body = await read_json(request)
    model = required_str(body, "model")
    texts = texts_of(body, "input")
    resolve(model, EMBED)
    dimensions = optional_int(body, "dimensions", 1, NATIVE_DIMENSIONS)
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64", None):
        raise invalid("encoding_format", '`encoding_format` must be "float" or "base64".')
    size = NATIVE_DIMENSIONS if dimensions is None else dimensions
    encode: Callable[[List[float]], Any] = to_base64 if encoding == "base64" else (lambda v: v)
    tokens = sum(count_tokens(t) for t in texts)
    return json_response(
        {
            "id": completions.new_id("embd"),
            "object": "list",
            "created": completions.int_time(),
            "model": model,
            "data": [
                {"index": i, "object": "embedding", "embedding": encode(embed(text, size))}
                for i, text in enumerate(texts)
            ],
            "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        }
    )


def _documents(body: Body) -> List[str]:
    value = body.get("documents")
    if value is None:
        raise invalid("documents", "`documents` is required.", code="missing_field")
    if not isinstance(value, list):
        raise invalid("documents", "`documents` must be a list of strings.")
    docs: List[str] = []
    for i, doc in enumerate(cast(List[object], value)):
        # Cohere-style {"text": ...} documents are accepted too.
        text = cast(Body, doc).get("text") if isinstance(doc, dict) else doc
        if not isinstance(text, str):
            raise invalid(
                f"documents[{i}]", f"`documents[{i}]` must be a string or {{'text': ...}}."
            )
        docs.append(text)
    return docs


async def rerank(request: Request) -> Response:
    """POST /v1/rerank (also /rerank and /v2/rerank, as vLLM serves it)."""
    body = await read_json(request)
    model = required_str(body, "model")
    query = required_str(body, "query")
    docs = _documents(body)
    resolve(model, RERANK)
    top_n = optional_int(body, "top_n", 0, 1_000_000)
    return_documents = optional_bool(body, "return_documents")
    scores = relevance_scores(query, docs)
    # Stable sort on -score: ties keep the caller's order.
    order = sorted(range(len(docs)), key=lambda i: -scores[i])
    if top_n:
        order = order[:top_n]
    results: List[JSON] = []
    for i in order:
        result: JSON = {"index": i, "relevance_score": scores[i]}
        if return_documents is not False:  # vLLM returns documents unless told not to
            result["document"] = {"text": docs[i]}
        results.append(result)
    tokens = count_tokens(query) * len(docs) + sum(count_tokens(d) for d in docs)
    return json_response(
        {
            "id": completions.new_id("rerank"),
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            "results": results,
        }
    )


# --------------------------------------------------------------------------- app


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        err = APIError(404, f"No route for {request.method} {request.url.path}.", code="not_found")
    elif exc.status_code == 405:
        err = APIError(
            405,
            f"Method {request.method} is not allowed on {request.url.path}.",
            code="method_not_allowed",
            headers=dict(exc.headers or {}),
        )
    else:
        err = APIError(exc.status_code, str(exc.detail))
    return error_response(err)


async def _crash(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ConnectionAbortedError):  # a drill outside our protocol
        return Response(b"", 500)
    return error_response(APIError(500, f"Internal server error: {type(exc).__name__}."))


def routes() -> List[Route]:
    """The route table."""
    return [
        # Starlette tries routes in order: the busiest come first.
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/completions", text_completions, methods=["POST"]),
        Route("/infer", infer, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/rerank", rerank, methods=["POST"]),
        Route("/v1/responses", create_response, methods=["POST"]),
        Route("/v1/responses/{response_id}", retrieve_response, methods=["GET"]),
        Route("/v1/responses/{response_id}/cancel", cancel_response, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/rerank", rerank, methods=["POST"]),
        Route("/v2/rerank", rerank, methods=["POST"]),
    ]


def create_app(
    *, api_key: Optional[str] = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Starlette:
    """Build the local BabyAPI ASGI app; requests need ``Bearer <api_key>`` when a key is set."""
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be at least 1")
    app = Starlette(
        routes=routes(),
        exception_handlers={APIError: _api_error, HTTPException: _http_error, Exception: _crash},
    )
    app.state.max_body_bytes = max_body_bytes
    app.state.responses = responses.Store()
    native.install(app)
    app.add_middleware(
        GatewayMiddleware,
        api_key=api_key,
        max_body_bytes=max_body_bytes,
        attempts=AttemptCounter(),
    )
    return app
