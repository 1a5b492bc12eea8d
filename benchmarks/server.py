"""A minimal, fast OpenAI-compatible HTTP/1.1 server for the benchmarks.

Raw asyncio protocol with hand-written keep-alive parsing and pre-built
responses, so that the client under test, not the server, dominates the cost.

- ``POST .../chat/completions`` (and ``.../completions``): a canned chat
  completion; with ``"stream": true`` an SSE stream (chunked transfer
  encoding, one HTTP chunk per event) of ``max_tokens`` chunks, then
  ``data: [DONE]``.
- any other path, any method: a small JSON object.

Run: ``python benchmarks/server.py [--port 0]``; it prints one JSON line
``{"port": N}`` once it listens on 127.0.0.1, and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Optional

HOST = "127.0.0.1"
DEFAULT_STREAM_CHUNKS = 16
MAX_STREAM_CHUNKS = 1_000_000

CHAT_COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "bench-model",
    "system_fingerprint": None,
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I help you today? This is a canned benchmark answer.",
                "tool_calls": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
            "stop_reason": None,
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 17, "total_tokens": 29},
}

GENERIC_JSON = {"object": "bench", "ok": True}
MODELS_JSON = {
    "object": "list",
    "data": [{"id": "bench-model", "object": "model", "owned_by": "bench"}],
}


def _json_bytes(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(body: bytes, status: bytes = b"200 OK") -> bytes:
    """A complete HTTP/1.1 response with a JSON body and Content-Length."""
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"x-request-id: req-bench\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    return head + body


def _chunk_event(index: int, n: int) -> bytes:
    delta: dict[str, object]
    finish: Optional[str] = None
    if index == 0:
        delta = {"role": "assistant", "content": ""}
    elif index == n - 1:
        delta = {}
        finish = "stop"
    else:
        delta = {"content": f" tok{index % 100}"}
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + _json_bytes(chunk) + b"\n\n"


def _http_chunk(payload: bytes) -> bytes:
    return b"%x\r\n" % len(payload) + payload + b"\r\n"


def sse_response(n: int) -> bytes:
    """A complete chunked HTTP/1.1 response carrying an SSE stream of ``n`` chunks."""
    head = (
        b"HTTP/1.1 200 OK\r\n"
        b"content-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\n"
        b"x-request-id: req-bench\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    parts = [head]
    parts.extend(_http_chunk(_chunk_event(i, n)) for i in range(n))
    parts.append(_http_chunk(b"data: [DONE]\n\n"))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


CHAT_RESPONSE = json_response(_json_bytes(CHAT_COMPLETION))
GENERIC_RESPONSE = json_response(_json_bytes(GENERIC_JSON))
MODELS_RESPONSE = json_response(_json_bytes(MODELS_JSON))
BAD_REQUEST = json_response(
    _json_bytes({"error": {"message": "bad request", "type": "invalid_request_error"}}),
    b"400 Bad Request",
)
_sse_cache: dict[int, bytes] = {}


def response_for(method: bytes, path: bytes, body: bytes) -> bytes:
    """Pick (or build and cache) the response bytes for one request."""
    path = path.split(b"?", 1)[0]
    if method == b"POST" and path.endswith(b"completions"):
        # Cheap check first: most requests are not streams.
        if b'"stream"' not in body:
            return CHAT_RESPONSE
        try:
            payload = json.loads(body)
        except ValueError:
            return BAD_REQUEST
        if not payload.get("stream"):
            return CHAT_RESPONSE
        n = payload.get("max_tokens") or DEFAULT_STREAM_CHUNKS
        if not isinstance(n, int) or not 1 <= n <= MAX_STREAM_CHUNKS:
            return BAD_REQUEST
        cached = _sse_cache.get(n)
        if cached is None:
            cached = _sse_cache[n] = sse_response(n)
        return cached
    if path.endswith(b"/models"):
        return MODELS_RESPONSE
    return GENERIC_RESPONSE


class HTTPProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; request bodies need Content-Length."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        transport = self.transport
        assert transport is not None
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buf[:end]).split(b"\r\n")
            try:
                method, path, _version = lines[0].split(b" ", 2)
            except ValueError:
                transport.close()
                return
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
                elif name == b"transfer-encoding":
                    transport.write(BAD_REQUEST)
                    transport.close()
                    return
            total = end + 4 + length
            if len(self.buf) < total:
                return
            body = bytes(self.buf[end + 4 : total])
            del self.buf[:total]
            transport.write(response_for(method, path, body))
            if close:
                transport.close()
                return


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTPProtocol, HOST, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"port": bound}) + "\n")
    sys.stdout.flush()
    async with server:
        await stop.wait()


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
