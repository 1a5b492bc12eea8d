"""Deterministic text embeddings from hashed character n-grams.

Each text becomes a bag of character 3- and 4-grams (with word boundaries
marked) plus whole words, hashed into a fixed number of signed buckets and
L2-normalised. Texts that share spelling share buckets, so similar texts get a
higher cosine similarity than unrelated ones: enough for examples and tests of
retrieval code, with no model weights.
"""

from __future__ import annotations

import base64
import math
import sys
import zlib
from array import array
from typing import Dict, List

NATIVE_DIMENSIONS = 1024


def _features(text: str) -> Dict[str, float]:
    feats: Dict[str, float] = {}
    for word in text.lower().split():
        padded = f" {word} "
        feats["w:" + word] = feats.get("w:" + word, 0.0) + 1.0
        for n in (3, 4):
            for i in range(len(padded) - n + 1):
                gram = padded[i : i + n]
                feats[gram] = feats.get(gram, 0.0) + 1.0
    return feats


def embed(text: str, dimensions: int = NATIVE_DIMENSIONS) -> List[float]:
    """Embed one text into `dimensions` floats of unit length (all zeros for an empty text)."""
    # Hashing straight into `dimensions` buckets rather than truncating a
    # 1024-vector: a prefix of hashed buckets would drop most features of a
    # short text, while fewer buckets keep them all (with more collisions).
    vector = [0.0] * dimensions
    for feat, weight in _features(text).items():
        # crc32 rather than hash(): the same text must embed identically in every process.
        h = zlib.crc32(feat.encode("utf-8"))
        # sublinear term weight keeps a repeated word from drowning the rest
        value = 1.0 + math.log(weight)
        vector[h % dimensions] += value if (h >> 31) & 1 else -value
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0.0:
        return vector
    return [x / norm for x in vector]


def to_base64(vector: List[float]) -> str:
    """Encode floats as little-endian float32, base64 (OpenAI's encoding_format="base64")."""
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")
