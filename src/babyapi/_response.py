"""Turning what the server sent (status, headers, body) into a result or a BabyAPIError."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any, Mapping, Optional, cast

from babyapi._errors import APIStatusError, BabyAPIError, status_error_class
from babyapi._wire import Response

__all__ = [
    "RawAnswer",
    "error_from_response",
    "error_from_stream_frame",
    "parse_json_body",
    "raw_answer",
    "request_id_of",
]

_MAX_MESSAGE_CHARS = 300


def request_id_of(headers: Mapping[str, str]) -> Optional[str]:
    """The server's request id, from either header vLLM or BabyAPI use."""
    return headers.get("x-request-id") or headers.get("x-babyapi-request-id")


class RawAnswer:
    """A 2xx answer taken as it came: for plain-text replies, Prometheus metrics, empty bodies."""

    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status = status
        #: Case-insensitive, as the transport gave them.
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        """The body decoded with the charset the server named (else UTF-8); bad bytes replaced."""
        charset = _charset(self.headers.get("content-type", "")) or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"RawAnswer(status={self.status}, bytes={len(self.content)})"


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"')
    return ""


def raw_answer(response: Response) -> RawAnswer:
    """A read 2xx response as a ``RawAnswer``."""
    return RawAnswer(response.status_code, response.headers, response.content)


def parse_json_body(response: Response) -> dict[str, Any]:
    """Decode a 2xx body as a JSON object, or raise a BabyAPIError that says what came instead."""
    content = response.content
    try:
        body = json.loads(content)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, deep nesting
        raise _unexpected_body(response, _describe_non_json(response), exc) from None
    if not isinstance(body, dict):
        kind = type(body).__name__
        raise _unexpected_body(response, f"a JSON {kind} where an object was expected", None)
    result = cast("dict[str, Any]", body)
    error = result.get("error")
    if error and len(result) == 1:
        # Some servers (LiteLLM, llama-cpp-python) report failures with a 2xx status.
        raise _error_from_body(response, result, status=_status_from_error(error))
    return result


def error_from_response(response: Response, retry_after: Optional[float] = None) -> APIStatusError:
    """The error for a 4xx/5xx response whose body has been read."""
    status = response.status_code
    if status < 400:
        return _redirect_error(response)
    body = _json_or_none(response.content)
    error = _error_from_body(response, body, status=status)
    assert isinstance(error, APIStatusError)
    error.retry_after = retry_after
    return error


def _redirect_error(response: Response) -> APIStatusError:
    """A 3xx: the SDK does not follow redirects, since they would drop or leak the API key."""
    location = response.headers.get("location")
    where = f" to {location}" if location else ""
    return APIStatusError(
        f"{_fallback_message(response, response.status_code, use_text=False)} redirects{where}; "
        "set base_url to the final address (often https:// instead of http://).",
        status=response.status_code,
        code="REDIRECT",
        request_id=request_id_of(response.headers),
        details=_text_excerpt(response),
        response=response,
    )


def error_from_stream_frame(response: Response, payload: Any) -> BabyAPIError:
    """The error for a mid-stream ``{"error": {...}}`` frame or an ``event: error``."""
    error = (
        cast("dict[str, Any]", payload).get("error", payload)
        if isinstance(payload, dict)
        else payload
    )
    status = _status_from_error(error) or 500
    return _error_from_body(response, payload, status=status)


def _error_from_body(response: Response, body: Any, *, status: Optional[int]) -> BabyAPIError:
    message, code, type_ = _fields_from_body(body)
    if not message:
        message = _fallback_message(response, status, use_text=body is None)
    details = body if body is not None else _text_excerpt(response)
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "type": type_,
        "request_id": request_id_of(response.headers),
        "details": details,
        "response": response,
    }
    if status is None or status < 400:
        return BabyAPIError(message, **kwargs)
    return status_error_class(status)(message, **kwargs)


def _fields_from_body(body: Any) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """(message, code, type) from any of the error shapes real servers send."""
    if not isinstance(body, dict):
        return (_one_line(body) if isinstance(body, str) else None), None, None
    fields = cast("dict[str, Any]", body)
    error = fields.get("error")
    if isinstance(error, dict):
        inner = cast("dict[str, Any]", error)
        message = inner.get("message") or inner.get("msg") or inner.get("detail")
        return _text(message), _code(inner.get("code")), _text(inner.get("type"))
    if isinstance(error, str):
        message = fields.get("message")
        if isinstance(message, str) and message.strip():
            # {"error": "RATE_LIMITED", "message": "Slow down"}: the text is the message.
            code = fields.get("code")
            return (
                _one_line(message),
                _code(error if code is None else code),
                _text(fields.get("type")),
            )
        return _one_line(error), _code(fields.get("code")), _text(fields.get("type"))
    if "detail" in fields:
        return (
            _detail_message(fields["detail"]),
            _code(fields.get("code")),
            _text(fields.get("type")),
        )
    return _text(fields.get("message")), _code(fields.get("code")), _text(fields.get("type"))


def _detail_message(detail: Any) -> Optional[str]:
    """FastAPI's ``detail``: a string, or a list of validation records."""
    if isinstance(detail, list):
        parts: list[str] = []
        for item in cast("list[object]", detail):
            if isinstance(item, dict):
                record = cast("dict[str, Any]", item)
                where = ".".join(str(p) for p in record.get("loc", ()) if p != "body")
                text = str(record.get("msg", ""))
                parts.append(f"{where}: {text}" if where else text)
            else:
                parts.append(str(item))
        return _one_line("; ".join(parts))
    return _text(detail)


def _status_from_error(error: Any) -> Optional[int]:
    """A status carried inside an error object (llama-server and vLLM put it in ``code``)."""
    if not isinstance(error, dict):
        return None
    fields = cast("dict[str, Any]", error)
    for key in ("status", "code"):
        value = fields.get(key)
        try:
            status = int(value) if value is not None and not isinstance(value, bool) else 0
        except (TypeError, ValueError, OverflowError):  # OverflowError: a code of Infinity
            continue
        if 400 <= status <= 599:
            return status
    return None


def _text(value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    return _one_line(value if isinstance(value, str) else json.dumps(value, default=str))


def _code(value: Any) -> Optional[str]:
    return None if value is None or value == "" else str(value)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE_CHARS:
        return text[: _MAX_MESSAGE_CHARS - 1] + "…"
    return text


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def _fallback_message(response: Response, status: Optional[int], *, use_text: bool) -> str:
    """One line for bodies with no usable message: HTML pages from proxies, empty bodies."""
    host = response.request.url.host if _has_request(response) else "the server"
    if status is None:
        return f"Error from {host}"
    text = _text_excerpt(response) if use_text else None
    if text and not _looks_like_html(response, text):
        return _one_line(text)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return f"{status} {phrase} from {host}"


def _text_excerpt(response: Response) -> Optional[str]:
    if not response.content:
        return None
    text = response.content[:4096].decode("utf-8", errors="replace").strip()
    return text or None


def _looks_like_html(response: Response, text: str) -> bool:
    content_type = response.headers.get("content-type", "")
    return "html" in content_type or text.lstrip()[:1] == "<"


def _has_request(response: Response) -> bool:
    try:
        response.request  # noqa: B018 - httpx raises if a response was built without one
    except RuntimeError:
        return False
    return True


def _describe_non_json(response: Response) -> str:
    if not response.content:
        return "an empty body"
    content_type = response.headers.get("content-type", "no content-type")
    excerpt = _one_line(response.content[:120].decode("utf-8", errors="replace"))
    return f"a body that is not JSON ({content_type}, {len(response.content)} bytes: {excerpt!r})"


def _unexpected_body(response: Response, what: str, cause: Optional[BaseException]) -> BabyAPIError:
    request = response.request
    return BabyAPIError(
        f"{request.method} {request.url.path} returned {response.status_code} with {what}; "
        "check that base_url points at an OpenAI-compatible server.",
        status=response.status_code,
        code="INVALID_RESPONSE",
        request_id=request_id_of(response.headers),
        details=_text_excerpt(response),
        response=response,
        cause=cause,
    )
