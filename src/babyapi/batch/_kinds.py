"""The job shapes: how an input item becomes a request and an answer becomes item results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence, cast

from babyapi._embeddings import decode_vector
from babyapi._errors import BabyAPIError
from babyapi._options import RequestOptions
from babyapi.resources.chat import PATH as CHAT
from babyapi.resources.completions import PATH as COMPLETIONS
from babyapi.resources.embeddings import PATH as EMBEDDINGS
from babyapi.resources.rerank import PATH as RERANK

# vLLM's /score; not imported from babyapi.vllm, which loads only when its resources are used.
SCORE_PATH = "/score"

if TYPE_CHECKING:
    from babyapi._request_api import AsyncRequestAPI

__all__ = ["KINDS", "Kind", "invalid_item"]

# One attempt per send: the engine sees each failure, so it can slow the whole job down when the
# server pushes back; whether and when to send again it asks the client's retry rule and budget.
# Built once: as a dict it would be checked and built again for every request.
NO_CLIENT_RETRIES = RequestOptions(max_retries=0)


async def _post(api: AsyncRequestAPI, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One request through the client's own checks, without its retries."""
    answer: dict[str, Any] = await api.send(api.prepare(path, body, NO_CLIENT_RETRIES))
    return answer


def invalid_item(message: str) -> BabyAPIError:
    return BabyAPIError(message, code="INVALID_ITEM")


class Kind:
    """One job shape; subclasses name the endpoint and the field results are stored under."""

    name = ""
    #: The key of an item's result in checkpoint lines and CLI output.
    result_key = ""
    #: The endpoint, from the server root: the retry rules read it (a generation is not sent
    #: again after a read timeout, as for the client's own calls).
    path = ""
    #: Several items per request (embeddings), or one.
    batched = False
    #: The client setting that supplies the model when the job names none.
    default_model_setting = "default_model"

    def prepare(self, item: object) -> Any:
        """The item as it will be sent; raises INVALID_ITEM for what cannot be sent."""
        raise NotImplementedError

    def wire(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """The request fields to send: the job's, plus any the kind asks for to save work."""
        return params

    def refused(self, error: BabyAPIError, wire: Mapping[str, Any]) -> bool:
        """Whether ``error`` refuses a field ``wire`` added (then the job sends without it)."""
        return False

    async def call(
        self, api: AsyncRequestAPI, items: Sequence[Any], params: Mapping[str, Any]
    ) -> list[Any]:
        """One request for ``items``; one result per item, in order."""
        raise NotImplementedError


class Embed(Kind):
    name = "embeddings"
    path = EMBEDDINGS
    result_key = "embedding"
    batched = True
    default_model_setting = "default_embedding_model"

    def prepare(self, item: object) -> Any:
        if not isinstance(item, str):
            raise invalid_item(
                f"embedding inputs must be strings, got {type(item).__name__}; "
                "convert items to text before handing them to the job."
            )
        return item

    def wire(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        # Vectors as base64 float32, as openai-python asks: the server writes a quarter of the
        # text and skips formatting floats, and decoding costs less than parsing JSON numbers.
        # Users still get lists of floats (at float32 precision, which is what models compute).
        if "encoding_format" in params:
            return params
        return {**params, "encoding_format": "base64"}

    def refused(self, error: BabyAPIError, wire: Mapping[str, Any]) -> bool:
        return (
            "encoding_format" in wire
            and error.status in (400, 422)
            and "encoding_format" in error.message
        )

    async def call(
        self, api: AsyncRequestAPI, items: Sequence[Any], params: Mapping[str, Any]
    ) -> list[Any]:
        answer = await _post(api, EMBEDDINGS, {**params, "input": list(items)})
        return _vectors(answer, len(items))


def _vectors(answer: Mapping[str, Any], count: int) -> list[Any]:
    """One vector per input from an embeddings answer; INVALID_RESPONSE for anything else."""
    data: object = answer.get("data")
    entries = cast("list[object]", data) if isinstance(data, list) else []
    vectors: list[Any] = [None] * count
    # Per vector: the loop runs once per input, so it checks what it must and no more
    # (a decoded base64 vector is a list of floats by construction).
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise malformed(
                f"the server's embeddings answer has a {type(entry).__name__} at data[{position}] "
                "where an object with an 'embedding' was expected."
            )
        fields = cast("dict[str, Any]", entry)
        index = fields.get("index", position)
        vector = fields.get("embedding")
        if isinstance(vector, str):
            vector = decode_vector(vector, index)
        elif not _numbers(vector):
            continue
        if isinstance(index, int) and 0 <= index < count:
            vectors[index] = vector
    if None in vectors:
        missing = vectors.index(None)
        raise malformed(
            f"the server answered {len(entries)} embeddings for {count} inputs, and none that "
            f"is a list of numbers for input {missing}."
        )
    return vectors


def _numbers(vector: object) -> bool:
    # The first value stands for the rest: checking a thousand floats per item costs more
    # than the request itself, and a server mixing types within one vector is not seen.
    if not isinstance(vector, list):
        return False
    values = cast("list[object]", vector)
    return not values or (isinstance(values[0], (int, float)) and not isinstance(values[0], bool))


def malformed(message: str) -> BabyAPIError:
    return BabyAPIError(message, code="INVALID_RESPONSE")


class Rerank(Kind):
    name = "rerank"
    path = RERANK
    result_key = "results"
    default_model_setting = "default_rerank_model"

    def prepare(self, item: object) -> Any:
        got = _name(item)
        if isinstance(item, Mapping):
            group = dict(cast("Mapping[str, Any]", item))
        elif isinstance(item, (tuple, list)) and len(cast("Sequence[Any]", item)) == 2:
            pair = cast("Sequence[Any]", item)
            group = {"query": pair[0], "documents": pair[1]}
        else:
            raise invalid_item(
                "rerank items are (query, documents) pairs or dicts with 'query' and "
                f"'documents', got {got}."
            )
        query, documents = group.get("query"), group.get("documents")
        if not isinstance(query, str):
            raise invalid_item(
                f"a rerank item's query must be a string, got {type(query).__name__}."
            )
        if not _strings(documents):
            raise invalid_item("a rerank item's documents must be a list of strings.")
        group["documents"] = list(cast("Sequence[str]", documents))
        return group

    async def call(
        self, api: AsyncRequestAPI, items: Sequence[Any], params: Mapping[str, Any]
    ) -> list[Any]:
        answer = await _post(api, RERANK, {**params, **items[0]})
        results = answer.get("results")
        if not isinstance(results, list):
            raise malformed(
                f"the server's rerank answer has no 'results' list (got {type(results).__name__})."
            )
        return [results]


class Score(Rerank):
    """vLLM's POST /score: the same (query, documents) groups, scores in the documents' order."""

    name = "score"
    path = SCORE_PATH
    result_key = "scores"

    async def call(
        self, api: AsyncRequestAPI, items: Sequence[Any], params: Mapping[str, Any]
    ) -> list[Any]:
        group = dict(items[0])
        body = {**params, "queries": group.pop("query"), **group}
        data: list[Any] = (await _post(api, SCORE_PATH, body)).get("data") or []
        scores: list[Any] = [None] * len(cast("list[str]", group["documents"]))
        for position, entry in enumerate(data):
            found = cast("dict[str, Any]", entry) if isinstance(entry, dict) else {}
            index = found.get("index", position)
            if isinstance(index, int) and 0 <= index < len(scores):
                scores[index] = found.get("score")
        if any(score is None for score in scores):
            raise BabyAPIError(
                f"the server answered {len(data)} scores for {len(scores)} documents.",
                code="INVALID_RESPONSE",
            )
        return [scores]


class Chat(Kind):
    name = "chat"
    path = CHAT
    result_key = "response"

    def prepare(self, item: object) -> Any:
        got = _name(item)
        if isinstance(item, str):
            return {"messages": [{"role": "user", "content": item}]}
        if isinstance(item, Mapping) and "messages" in item:
            return dict(cast("Mapping[str, Any]", item))
        if isinstance(item, (list, tuple)) and all(
            isinstance(message, Mapping) for message in cast("Sequence[Any]", item)
        ):
            return {"messages": list(cast("Sequence[Any]", item))}
        raise invalid_item(
            "chat items are a prompt string, a list of messages, or a dict of request fields "
            f"with 'messages', got {got}."
        )

    async def call(
        self, api: AsyncRequestAPI, items: Sequence[Any], params: Mapping[str, Any]
    ) -> list[Any]:
        return [await _post(api, CHAT, {**params, **items[0]})]


class Complete(Kind):
    name = "completions"
    path = COMPLETIONS
    result_key = "response"

    def prepare(self, item: object) -> Any:
        got = _name(item)
        if isinstance(item, str):
            return {"prompt": item}
        if isinstance(item, Mapping) and "prompt" in item:
            return dict(cast("Mapping[str, Any]", item))
        raise invalid_item(
            "completion items are a prompt string or a dict of request fields with 'prompt', "
            f"got {got}."
        )

    async def call(
        self, api: AsyncRequestAPI, items: Sequence[Any], params: Mapping[str, Any]
    ) -> list[Any]:
        return [await _post(api, COMPLETIONS, {**params, **items[0]})]


def _name(value: object) -> str:
    return type(value).__name__


def _strings(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(text, str) for text in cast("Sequence[object]", value)
    )


KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (Embed(), Rerank(), Score(), Chat(), Complete())
}
