"""An answer received by a transport that is not httpx, read as an ``httpx.Response`` reads.

The aiohttp and standard-library transports each subclass ``WireAnswer`` with their own
status and charset; the headers (an ``httpx.Headers``) and the request (an ``httpx.Request``)
are built only when first read, since a call that succeeds reads neither.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence, Union

import httpx

from babyapi._wire import WireRequest

__all__ = ["WireAnswer"]

RawHeaders = Union[Sequence[tuple[str, str]], Sequence[tuple[bytes, bytes]]]


class WireAnswer:
    """The read side of an ``httpx.Response``: ``status_code``, ``headers``, ``content``,
    ``text``, ``json()``, ``request`` (what was sent, as an ``httpx.Request``).
    """

    __slots__ = (
        "_content",
        "_headers",
        "_raw",
        "_request",
        "_sent",
        "is_closed",
        "reason_phrase",
        "status_code",
    )

    #: What the transport adds to every request (so ``request`` shows what was sent).
    accept_encoding = "gzip, deflate"

    def __init__(
        self,
        sent: WireRequest,
        status: int,
        reason: Optional[str],
        raw: RawHeaders,
        content: Optional[bytes],
    ) -> None:
        self.status_code = status
        self.reason_phrase = reason or ""
        self._sent = sent
        self._raw = raw
        self._content = content
        self._headers: Optional[httpx.Headers] = None
        self._request: Optional[httpx.Request] = None
        self.is_closed = content is not None

    @property
    def charset(self) -> Optional[str]:
        """The charset the Content-Type names, if any."""
        raise NotImplementedError

    @property
    def headers(self) -> httpx.Headers:
        # Built when first read: a JSON call that succeeds never reads them (timeit: 6.4 µs
        # per response for four headers; docs/async.md has the A/B run that found it).
        if self._headers is None:
            self._headers = httpx.Headers(self._wire_headers())
        return self._headers

    def _wire_headers(self) -> RawHeaders:
        """The headers as they came, bytes if the library kept them so."""
        return self._raw

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise RuntimeError("the body of a streamed response is read by iterating the stream")
        return self._content

    @property
    def text(self) -> str:
        charset = self.charset or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self, **kwargs: Any) -> Any:
        return json.loads(self.content, **kwargs)

    @property
    def request(self) -> httpx.Request:
        """What was sent, headers included (httpx's repr hides the Authorization value)."""
        if self._request is None:
            sent = self._sent
            headers = {"accept-encoding": self.accept_encoding, **sent.headers}
            self._request = httpx.Request(
                sent.method, sent.url, headers=headers, content=sent.content
            )
        return self._request

    @property
    def url(self) -> httpx.URL:
        return self._sent.url

    def read(self) -> bytes:
        return self.content

    def fill(self, body: bytes) -> None:
        """The body of a streamed response, once read to its end."""
        self._content = body
        self.is_closed = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code} {self.reason_phrase}]>"
