"""The pure parts: generator, embeddings, BM25 and the fault parser, without HTTP."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi.server.embed import embed
from babyapi.server.errors import APIError
from babyapi.server.faults import AttemptCounter, parse_fault
from babyapi.server.generate import SamplingParams, generate
from babyapi.server.rank import bm25_scores, relevance, relevance_scores


@settings(max_examples=60, deadline=None)
@given(
    prompt=st.text(max_size=40),
    max_tokens=st.integers(1, 60),
    temperature=st.floats(0, 2),
    stop=st.lists(st.text(min_size=1, max_size=3), max_size=2),
    seed=st.integers(0, 2**32),
)
def test_generation_respects_limits(
    prompt: str, max_tokens: int, temperature: float, stop: List[str], seed: int
) -> None:
    params = SamplingParams(
        max_tokens=max_tokens, temperature=temperature, stop=tuple(stop), seed=seed
    )
    gen = generate(prompt, params)
    assert gen.completion_tokens <= max_tokens
    assert gen.finish_reason in ("stop", "length")
    assert all(s not in gen.text for s in stop)
    assert all(gen.pieces)  # no empty chunks to stream
    assert generate(prompt, params).text == gen.text  # seeded: deterministic


def test_penalties_and_top_k_still_produce_text() -> None:
    params = SamplingParams(
        max_tokens=40, top_k=1, top_p=0.5, presence_penalty=2, frequency_penalty=2
    )
    assert len(generate("calm", params).pieces) > 5


def test_embeddings_are_unit_length_and_empty_is_zero() -> None:
    vector = embed("hello", 32)
    assert len(vector) == 32 and math.isclose(sum(x * x for x in vector), 1.0)
    assert embed("", 8) == [0.0] * 8


def cosine(a: List[float], b: List[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


@pytest.mark.parametrize("dimensions", [1024, 256, 64, 8])
def test_embeddings_are_dense(dimensions: int) -> None:
    for text in ("Ping", "BabyAPI makes LLMs easy.", "What is it?"):
        vector = embed(text, dimensions)
        nonzero = sum(1 for x in vector if abs(x) > 1e-9)
        assert nonzero >= 0.99 * dimensions, (text, nonzero)
        assert math.isclose(sum(x * x for x in vector), 1.0)


@pytest.mark.parametrize("dimensions", [1024, 256])
def test_similar_texts_embed_closer_than_unrelated_ones(dimensions: int) -> None:
    pairs = [
        ("The cat sat on the mat.", "A cat was sitting on the mat.", "Revenue grew by 8 percent."),
        ("What is BabyAPI?", "BabyAPI is a tiny hosted LLM API.", "The weather is nice today."),
        ("How do I reset my password?", "Resetting a forgotten password", "Bananas are yellow."),
    ]
    for text, similar, unrelated in pairs:
        vectors = [embed(t, dimensions) for t in (text, similar, unrelated)]
        close, far = cosine(vectors[0], vectors[1]), cosine(vectors[0], vectors[2])
        assert close > far + 0.2, (text, close, far)


def test_embeddings_are_the_same_in_every_process() -> None:
    code = "from babyapi.server.embed import embed; print(embed('Same text, same vector.', 16))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop().strip() == str(embed("Same text, same vector.", 16))


def test_rerank_finds_the_relevant_document_without_a_shared_word() -> None:
    scores = relevance_scores(
        "What is BabyAPI?", ["A tiny hosted LLM API.", "The weather is nice."]
    )
    assert scores[0] >= 0.2 and scores[1] < 0.05


def test_bm25_prefers_the_matching_document() -> None:
    scores = bm25_scores("red apples", ["green pears", "red apples are sweet", "apples"])
    assert scores[1] > scores[2] > scores[0] == 0.0
    assert relevance(0.0) == 0.0 and 0 < relevance(scores[1]) < 1


def test_fault_parser() -> None:
    plan = parse_fault("fail-first=2; STATUS=429; retry-after=1.5; hang=0.1")
    assert (plan.fail_first, plan.status, plan.retry_after, plan.hang_s) == (2, 429, "1.5", 0.1)
    assert parse_fault("503").status == 503
    assert parse_fault("stream-cut-after=0").stream_cut_after == 0
    with pytest.raises(APIError):
        parse_fault("hang=601")


def test_attempt_counter_is_bounded() -> None:
    counter = AttemptCounter(max_keys=2)
    assert [counter.next_attempt("a", "s") for _ in range(3)] == [1, 2, 3]
    counter.next_attempt("b", "s")
    counter.next_attempt("c", "s")  # evicts "a", the least recently used
    assert counter.next_attempt("a", "s") == 1
