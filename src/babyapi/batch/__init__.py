"""Corpus-scale jobs: embed, rerank, chat or complete many items with one call.

Reach it as ``client.batch`` on either client; see docs/scale.md.
"""

from __future__ import annotations

from babyapi.batch._engine import BatchItem, BatchSummary
from babyapi.batch._jobs import AsyncBatch, AsyncBatchJob, Batch, BatchJob
from babyapi.batch._progress import BatchProgress

__all__ = [
    "AsyncBatch",
    "AsyncBatchJob",
    "Batch",
    "BatchItem",
    "BatchJob",
    "BatchProgress",
    "BatchSummary",
]
