"""Words of a text as the local server's generator and ranker see them."""

from __future__ import annotations

import re
from typing import AbstractSet, List

_WORD_RE = re.compile(r"\w+")
# Function words carry no relevance: leaving them in lets "What is X?" rank every
# sentence containing "is", and steers replies towards "the".
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
    ]
)


def words(text: str) -> List[str]:
    """Lower-case words of a text, in order."""
    return _WORD_RE.findall(text.lower())


def content_words(text: str, stopwords: AbstractSet[str] = STOPWORDS) -> List[str]:
    """Lower-case words of a text, without stop words, in order."""
    return [w for w in words(text) if w not in stopwords]
