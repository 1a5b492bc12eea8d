"""OpenAI-shaped error bodies and the exception that carries them to the HTTP layer."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple

# status -> (error type, default code). Types follow OpenAI's names so that
# clients matching on `type` behave as they would against the hosted API.
_KINDS: Dict[int, Tuple[str, str]] = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("conflict_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "invalid_value"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "gateway_timeout"),
}


def error_kind(status: int) -> Tuple[str, str]:
    """Return the (type, default code) pair used for an HTTP error status."""
    kind = _KINDS.get(status)
    if kind is not None:
        return kind
    if status >= 500:
        return ("server_error", f"http_{status}")
    return ("invalid_request_error", f"http_{status}")


class APIError(Exception):
    """An error answer: raised anywhere in a handler, rendered as OpenAI's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: Optional[str] = None,
        code: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        kind, default_code = error_kind(status)
        self.type = kind
        self.code = code if code is not None else default_code
        self.headers = headers or {}

    def body(self) -> Dict[str, Any]:
        """Return the JSON-ready `{"error": {...}}` mapping."""
        return error_body(self.status, self.message, param=self.param, code=self.code)

    def body_bytes(self) -> bytes:
        """Return the encoded JSON body."""
        return json.dumps(self.body(), separators=(",", ":")).encode("utf-8")


def error_body(
    status: int, message: str, *, param: Optional[str] = None, code: Optional[str] = None
) -> Dict[str, Any]:
    """Build `{"error": {"message", "type", "param", "code"}}` for a status."""
    kind, default_code = error_kind(status)
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


def invalid(param: str, message: str, *, code: str = "invalid_value") -> APIError:
    """Return a 400 for a field that is missing, has the wrong type or an out-of-range value.

    400, not 422: vLLM, llama-server and LiteLLM answer validation errors with 400.
    """
    return APIError(400, message, param=param, code=code)
