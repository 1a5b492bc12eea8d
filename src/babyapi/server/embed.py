"""Deterministic dense text embeddings from hashed words and character n-grams.

A text becomes a bag of features: its content words (stop words left out) and
their character 3-grams, word boundaries marked. Each feature owns a
fixed pseudo-random direction, a window into one shared table of numbers in
-1..1, and the embedding is the weighted sum of its features' directions,
L2-normalised: a random projection of the bag. Every dimension is non-zero, and
the cosine of two embeddings follows the overlap of their bags (texts that
share words or word pieces are closer than unrelated ones). No model weights.
"""

from __future__ import annotations

import base64
import functools
import math
import random
import sys
import zlib
from array import array
from typing import Dict, List, Sequence, Tuple

from babyapi.server.words import content_words, words

NATIVE_DIMENSIONS = 1024
# Distinct directions: two features share one only when their hashes collide modulo this.
_DIRECTIONS = 8191
_TABLE_SEED = 20240601


def features(text: str) -> Dict[str, float]:
    """The weighted bag of a text: words and their character 3-grams."""
    counts: Dict[str, int] = {}
    # A text made only of stop words ("is it?") still needs features of its own.
    for word in content_words(text) or words(text):
        padded = f" {word} "
        grams = [padded[i : i + 3] for i in range(len(padded) - 2)]
        for feat in ("w:" + word, *grams):
            counts[feat] = counts.get(feat, 0) + 1
    # A sublinear weight keeps a repeated word from drowning the rest.
    return {feat: 1.0 + math.log(count) for feat, count in counts.items()}


def cosine(a: Dict[str, float], b: Dict[str, float]) -> float:
    """Cosine similarity of two feature bags: what embedding similarity estimates."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(weight * b.get(feat, 0.0) for feat, weight in a.items())
    if dot == 0.0:
        return 0.0
    return dot / math.sqrt(sum(w * w for w in a.values()) * sum(w * w for w in b.values()))


@functools.lru_cache(maxsize=1)
def _tables() -> Tuple[List[float], List[float]]:
    """The shared table and its negation (a negative direction is then a slice, not a loop)."""
    # random.Random(seed).random() is reproducible across Python versions and platforms.
    rng = random.Random(_TABLE_SEED)
    table = [rng.random() * 2.0 - 1.0 for _ in range(_DIRECTIONS + NATIVE_DIMENSIONS)]
    return table, [-x for x in table]


def embed(text: str, dimensions: int = NATIVE_DIMENSIONS) -> List[float]:
    """Embed one text into `dimensions` floats of unit length (all zeros for a text without words)."""
    tables = _tables()
    windows: List[Sequence[float]] = []
    for feat, weight in features(text).items():
        # crc32 rather than hash(): the same text must embed identically in every process.
        h = zlib.crc32(feat.encode("utf-8"))
        start = h % _DIRECTIONS
        window = tables[h >> 31][start : start + dimensions]
        windows.append(window if weight == 1.0 else [weight * x for x in window])
    if not windows:
        return [0.0] * dimensions
    # Summing columns with the builtin keeps the work in C: fast enough for a demo server.
    summed = list(map(sum, zip(*windows)))
    norm = math.hypot(*summed)
    return [x / norm for x in summed] if norm else [0.0] * dimensions


def to_base64(vector: List[float]) -> str:
    """Encode floats as little-endian float32, base64 (OpenAI's encoding_format="base64")."""
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")
