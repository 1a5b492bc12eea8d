"""Embeddings sent as base64 (``encoding_format="base64"``) decoded to lists of floats."""

from __future__ import annotations

import array
import base64
import binascii
import functools
import sys
from typing import Any, TypeVar, cast

from babyapi._errors import BabyAPIError

__all__ = ["decode_embeddings", "decode_vector"]

BodyT = TypeVar("BodyT")


def decode_embeddings(body: BodyT) -> BodyT:
    """Replace each base64 ``embedding`` (little-endian float32, as OpenAI sends it) by floats.

    Servers that ignore ``encoding_format`` send floats; those are left as they are.
    """
    data = cast("dict[str, Any]", body).get("data")
    if not isinstance(data, list):
        return body
    for item in cast("list[object]", data):
        if isinstance(item, dict):
            fields = cast("dict[str, Any]", item)
            vector = fields.get("embedding")
            if isinstance(vector, str):
                fields["embedding"] = decode_vector(vector, fields.get("index"))
    return body


if sys.version_info >= (3, 11):
    # A third of b64decode(validate=True)'s cost, which checks the alphabet with a regex.
    _strict_b64decode = functools.partial(binascii.a2b_base64, strict_mode=True)
else:
    _strict_b64decode = functools.partial(base64.b64decode, validate=True)

_BIG_ENDIAN = sys.byteorder == "big"


def decode_vector(text: str, index: object) -> list[float]:
    """One base64 embedding as floats; ``index`` names it in the error."""
    # Called once per vector (a batch job decodes thousands a second): nothing here is
    # decided per call that could be decided at import.
    try:
        raw = _strict_b64decode(text)
    except (binascii.Error, ValueError) as exc:
        raise _bad(index, f"is not valid base64 ({exc})") from None
    if len(raw) % 4:
        raise _bad(index, f"has {len(raw)} bytes, not a whole number of float32 values")
    values = array.array("f", raw)
    if _BIG_ENDIAN:
        values.byteswap()
    return values.tolist()


def _bad(index: object, problem: str) -> BabyAPIError:
    return BabyAPIError(
        f"the server's base64 embedding (data index {index}) {problem}; pass "
        "encoding_format='float' to get plain numbers instead.",
        code="INVALID_RESPONSE",
    )
