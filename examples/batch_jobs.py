"""Corpus-scale jobs: embed a generator of texts with a checkpoint, stop halfway, resume.

Run against the local server: `babyapi serve` in one terminal, then
BABYAPI_BASE_URL=http://127.0.0.1:8000 BABYAPI_API_KEY=local python examples/batch_jobs.py
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from babyapi import BabyAPI


def texts() -> Iterator[str]:
    """Stands in for a large file read line by line: nothing is held in memory."""
    for i in range(2_000):
        yield f"note {i}: {'the harvest was late this year' if i % 2 else 'rates rose again'}"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, BabyAPI() as client:
        checkpoint = Path(folder) / "vectors.jsonl"
        job = client.batch.embed(texts(), model="qwen3-embedding", checkpoint=checkpoint)
        for item in job:
            if item.index == 499:
                break  # as if the job were killed here: finished items are on disk
        print(f"first run stopped after {job.summary.succeeded if job.summary else 0} items")

        rerun = client.batch.embed(texts(), model="qwen3-embedding", checkpoint=checkpoint)
        summary = rerun.run()
        print(
            f"rerun: {summary.resumed} resumed, {summary.succeeded - summary.resumed} new, "
            f"{summary.failed} failed, {summary.requests} requests"
        )
        lines = checkpoint.read_text().splitlines()
        print(f"checkpoint holds {len(lines)} lines, one per item")

        answers = client.batch.chat(
            ["Name a colour.", "Name a bird.", "Name a tree."], model="mistral", max_tokens=6
        ).results()
        for item in answers:
            print(item.index, item.result["choices"][0]["message"]["content"])


if __name__ == "__main__":
    main()
