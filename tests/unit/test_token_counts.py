"""token_counts: the usage an answer reports, whatever the server named its fields."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from babyapi import ModelUsage
from babyapi._usage import TokenCounts, token_counts


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}, (3, 4, 7)),
        ({"usage": {"input_tokens": 3, "output_tokens": 4}}, (3, 4, 7)),
        ({"usage": {"prompt_tokens": 9, "total_tokens": 9}}, (9, 0, 9)),  # embeddings
        ({"usage": {"total_tokens": 12}}, (0, 0, 12)),  # rerank
        ({"usage": {"prompt_tokens": "3", "completion_tokens": -1, "total_tokens": True}}, None),
        ({"usage": None}, None),
        ({"usage": [1, 2]}, None),
        ({}, None),
        (None, None),
    ],
)
def test_token_counts(
    answer: Optional[dict[str, Any]], expected: Optional[tuple[int, ...]]
) -> None:
    counts = token_counts(answer)
    assert counts == (TokenCounts(*expected) if expected else None)


def test_model_usage_adds_field_by_field() -> None:
    total = ModelUsage(calls=1, input_tokens=2) + ModelUsage(calls=2, errors=1, input_tokens=3)
    assert total == ModelUsage(calls=3, errors=1, input_tokens=5)
