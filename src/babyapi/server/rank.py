"""Relevance for /v1/rerank: BM25 blended with embedding similarity, squashed into 0..1.

BM25 alone sees only shared words, so "What is BabyAPI?" finds nothing in "A tiny
hosted LLM API."; the embeddings' similarity (shared word pieces: "api") supplies
the rest, as a dense retriever would. Deterministic.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import List, Sequence

from babyapi.server.embed import cosine, features
from babyapi.server.words import content_words

K1 = 1.5
B = 0.75
# How much a cosine similarity counts against one BM25 unit; 0.15 (a shared word piece) is about 0.6.
SIMILARITY_WEIGHT = 4.0


def bm25_scores(query: str, documents: Sequence[str]) -> List[float]:
    """Return raw Okapi BM25 scores of each document for the query, the documents as corpus."""
    docs = [Counter(content_words(doc)) for doc in documents]
    lengths = [sum(doc.values()) for doc in docs]
    count = len(docs)
    avg_len = (sum(lengths) / count) if count else 0.0
    scores = [0.0] * count
    for term in set(content_words(query)):
        df = sum(1 for doc in docs if term in doc)
        if df == 0:
            continue
        # The "+ 1" inside the log (Lucene's variant) keeps idf positive for
        # terms that appear in most documents of a tiny corpus.
        idf = math.log((count - df + 0.5) / (df + 0.5) + 1.0)
        for i, doc in enumerate(docs):
            tf = doc.get(term, 0)
            if tf:
                norm = 1.0 - B + B * (lengths[i] / avg_len if avg_len else 0.0)
                scores[i] += idf * (tf * (K1 + 1.0)) / (tf + K1 * norm)
    return scores


def relevance(score: float) -> float:
    """Map a score (>= 0) to 0..1 with tanh, so no overlap at all scores exactly 0."""
    return math.tanh(score)


def relevance_scores(query: str, documents: Sequence[str]) -> List[float]:
    """Relevance in 0..1 of each document to the query: BM25 plus weighted embedding similarity."""
    wanted = features(query)
    return [
        relevance(lexical + SIMILARITY_WEIGHT * cosine(wanted, features(doc)))
        for lexical, doc in zip(bm25_scores(query, documents), documents)
    ]
