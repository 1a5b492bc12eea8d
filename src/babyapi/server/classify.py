"""The local classifier behind /classify: the sentiment of a text, from two small word lists.

Deterministic, like the rest of the local server: a text's probabilities depend on its
words only. Words of praise raise "positive", words of blame raise "negative", and a
text with neither is "neutral".
"""

from __future__ import annotations

import math
from typing import List, Tuple

from babyapi.server.words import words

LABELS: Tuple[str, ...] = ("negative", "neutral", "positive")
_POSITIVE = frozenset(
    [
        "good",
        "great",
        "love",
        "loved",
        "lovely",
        "excellent",
        "happy",
        "glad",
        "nice",
        "kind",
        "calm",
        "clear",
        "fast",
        "wonderful",
        "best",
        "like",
        "likes",
        "enjoy",
        "enjoyed",
        "fine",
        "helpful",
        "thanks",
        "thank",
        "perfect",
    ]
)
_NEGATIVE = frozenset(
    [
        "bad",
        "awful",
        "terrible",
        "hate",
        "hated",
        "sad",
        "angry",
        "slow",
        "broken",
        "wrong",
        "worst",
        "poor",
        "fail",
        "failed",
        "fails",
        "error",
        "errors",
        "ugly",
        "useless",
        "annoying",
        "confusing",
    ]
)
# Each sentiment word moves its label's logit by this much; neutral sits at NEUTRAL_LOGIT.
WORD_WEIGHT = 2.0
NEUTRAL_LOGIT = 1.0


def probabilities(text: str) -> List[float]:
    """Softmax over (negative, neutral, positive) for one text."""
    found = words(text)
    positive = sum(w in _POSITIVE for w in found)
    negative = sum(w in _NEGATIVE for w in found)
    logits = [WORD_WEIGHT * negative, NEUTRAL_LOGIT, WORD_WEIGHT * positive]
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    total = sum(weights)
    return [w / total for w in weights]


def label_of(probs: List[float]) -> str:
    """The most probable label (the first of equals)."""
    return LABELS[max(range(len(probs)), key=probs.__getitem__)]
