"""Ray Data: callable classes for ``Dataset.map_batches`` that run the batch engine per actor.

Each actor gets the client by pickling (its settings and key; it opens its own connections)
and runs every Ray batch as one babyapi batch job, so requests within a Ray batch go out
concurrently, with the engine's retries and adaptive concurrency. A row that fails keeps its
place: its result is empty and the error column says why, so one bad row never kills the job::

    import ray
    from babyapi import BabyAPI
    from babyapi.integrations.ray import Embed

    client = BabyAPI(base_url="http://127.0.0.1:8000")
    ds = ray.data.from_items([{"text": "first"}, {"text": "second"}])
    ds = ds.map_batches(
        Embed, fn_constructor_kwargs={"client": client, "model": "qwen3-embedding"},
        compute=ray.data.ActorPoolStrategy(size=2), batch_size=256,
    )

Needs ``pip install 'babyapi[ray]'``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Mapping, MutableMapping, Optional, Sequence, Union, cast

import numpy as np

from babyapi.batch import BatchItem

if TYPE_CHECKING:
    from babyapi import BabyAPI
    from babyapi.batch import BatchJob

__all__ = ["Chat", "Embed", "Rerank"]

Batch = MutableMapping[str, Any]


def _python(values: Any) -> list[Any]:
    """A column as plain Python values (numpy strings and arrays become str and list)."""
    return [value.tolist() if hasattr(value, "tolist") else value for value in values]


class _Mapper:
    """One client and one job per Ray batch; subclasses say which job and which columns."""

    output_column = ""

    def __init__(
        self,
        client: Union[BabyAPI, Sequence[BabyAPI]],
        *,
        model: Optional[str] = None,
        output_column: Optional[str] = None,
        error_column: str = "error",
        concurrency: int = 8,
        **params: Any,
    ) -> None:
        # Several clients (one per server replica): each actor settles on one, spreading the load.
        self._client = random.choice(client) if isinstance(client, Sequence) else client
        self._model = model
        self._output = output_column or self.output_column
        self._error = error_column
        self._concurrency = concurrency
        self._params = params

    def __call__(self, batch: Batch) -> Batch:
        items = self._job(batch).results()
        batch[self._output] = self._results(items)
        batch[self._error] = np.array(
            [None if item.ok else str(item.error) for item in items], dtype=object
        )
        return batch

    def _job(self, batch: Batch) -> BatchJob:
        raise NotImplementedError

    def _results(self, items: Sequence[BatchItem]) -> Any:
        # Plain values, None for a failed row, in every batch alike: a 2-D float tensor for a
        # clean batch of embeddings and objects for one with a failed row would give blocks of
        # two types, which Ray cannot concatenate (the whole dataset fails, however few rows did).
        return _objects([item.result for item in items])

    def _options(self) -> dict[str, Any]:
        return {
            "model": self._model,
            "concurrency": self._concurrency,
            "progress": False,
            **self._params,
        }


def _objects(values: list[Any]) -> Any:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


class Embed(_Mapper):
    """Adds an ``embedding`` column (lists of floats; None for a failed row) for ``text``."""

    output_column = "embedding"

    def __init__(
        self,
        client: Union[BabyAPI, Sequence[BabyAPI]],
        *,
        input_column: str = "text",
        **options: Any,
    ) -> None:
        super().__init__(client, **options)
        self._input = input_column

    def _job(self, batch: Batch) -> BatchJob:
        return self._client.batch.embed(_python(batch[self._input]), **self._options())


class Rerank(_Mapper):
    """Adds a ``results`` column (the server's ranking) for ``query`` and ``documents`` columns."""

    output_column = "results"

    def __init__(
        self,
        client: Union[BabyAPI, Sequence[BabyAPI]],
        *,
        query_column: str = "query",
        documents_column: str = "documents",
        **options: Any,
    ) -> None:
        super().__init__(client, **options)
        self._query = query_column
        self._documents = documents_column

    def _job(self, batch: Batch) -> BatchJob:
        groups = zip(_python(batch[self._query]), _python(batch[self._documents]))
        return self._client.batch.rerank(list(groups), **self._options())


class Chat(_Mapper):
    """Adds an ``answer`` column (the reply's text) for the ``prompt`` column."""

    output_column = "answer"

    def __init__(
        self,
        client: Union[BabyAPI, Sequence[BabyAPI]],
        *,
        input_column: str = "prompt",
        **options: Any,
    ) -> None:
        super().__init__(client, **options)
        self._input = input_column

    def _job(self, batch: Batch) -> BatchJob:
        return self._client.batch.chat(_python(batch[self._input]), **self._options())

    def _results(self, items: Sequence[BatchItem]) -> Any:
        return _objects([_answer(item.result) if item.ok else None for item in items])


def _answer(response: Mapping[str, Any]) -> Optional[str]:
    """The first choice's text; None when the server's answer has none."""
    choices: object = response.get("choices")
    first = cast("list[object]", choices)[0] if isinstance(choices, list) and choices else None
    message = _field(first, "message")
    content = _field(message, "content")
    return content if isinstance(content, str) else None


def _field(value: object, key: str) -> object:
    return cast("dict[str, object]", value).get(key) if isinstance(value, dict) else None
