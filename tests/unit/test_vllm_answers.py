"""Whatever a server answers to vLLM's own endpoints, the SDK gives a result or a BabyAPIError."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi import BabyAPIError
from babyapi.vllm.lora import adapters_in
from babyapi.vllm.status import parse_metrics
from babyapi.vllm.tokenizer import fit_of, read_detokenized, read_tokenized

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
numbers = st.integers(-5, 5000) | st.booleans() | st.text(max_size=3) | st.none() | st.floats(0, 9)
answers = json_values | st.fixed_dictionaries(
    {"tokens": st.lists(st.integers(0, 99), max_size=5) | json_values},
    optional={"count": numbers, "max_model_len": numbers},
)


@settings(max_examples=200, deadline=None)
@given(answers, st.booleans(), st.none() | st.integers(0, 10_000))
def test_tokenize_answers(answer: Any, messages: bool, max_tokens: int | None) -> None:
    try:
        counted = read_tokenized(answer, messages)
    except BabyAPIError:
        return
    assert isinstance(counted["tokens"], list)
    try:
        fit = fit_of(counted, max_tokens, None)
    except BabyAPIError:
        return
    assert fit["tokens_left"] == fit["max_model_len"] - fit["count"]


@settings(max_examples=200, deadline=None)
@given(
    json_values
    | st.fixed_dictionaries({}, optional={"prompt": json_values, "content": json_values})
)
def test_detokenize_answers(answer: Any) -> None:
    with contextlib.suppress(BabyAPIError):
        assert isinstance(read_detokenized(answer)["prompt"], str)


@settings(max_examples=200, deadline=None)
@given(json_values | st.fixed_dictionaries({"data": json_values}))
def test_model_lists(answer: Any) -> None:
    for adapter in adapters_in(answer):
        assert adapter["parent"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_metrics_text(text: str) -> None:
    try:
        metrics = parse_metrics(text)
    except BabyAPIError:
        return
    assert metrics["text"] == text
