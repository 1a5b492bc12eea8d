"""Reading and writing JSON bodies: the helpers every endpoint module shares."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, cast

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from babyapi.server.errors import APIError, invalid
from babyapi.server.validate import Body

__all__ = ["JSON", "json_response", "read_json", "texts_of", "too_large"]

JSON = Dict[str, Any]


def json_response(
    body: Any, status: int = 200, headers: Optional[Dict[str, str]] = None
) -> Response:
    """Encode with compact separators: smaller bodies and a little faster than JSONResponse."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(payload, status, headers, media_type="application/json")


def too_large(limit: int) -> APIError:
    """The 413 for a body over the limit."""
    return APIError(
        413,
        f"Request body is larger than the server's limit of {limit} bytes.",
        code="request_too_large",
    )


async def read_json(request: Request) -> Body:
    """Read the body (bounded, also when chunked) and parse it as a JSON object."""
    limit: int = request.app.state.max_body_bytes
    # Straight from receive() rather than request.stream(): small bodies come
    # in one message, and the async generator is measurable per request.
    chunks: List[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    try:
        body = json.loads(b"".join(chunks))
    except ValueError as exc:
        raise APIError(
            400, f"The request body is not valid JSON: {exc}.", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise APIError(400, "The request body must be a JSON object.", code="invalid_body")
    return cast(Body, body)


def texts_of(body: Body, name: str) -> List[str]:
    value = body.get(name)
    if value is None:
        raise invalid(name, f"`{name}` is required.", code="missing_field")
    if isinstance(value, str):
        return [value]
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, str) for v in cast(List[object], value))
    ):
        return cast(List[str], value)
    raise invalid(name, f"`{name}` must be a string or a non-empty list of strings.")
