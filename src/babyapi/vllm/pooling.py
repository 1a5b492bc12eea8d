"""``client.score``, ``client.classify``, ``client.pooling``: vLLM's pooling-model endpoints.

- ``POST /score``: a score per (query, document) pair, one query against N documents or N
  pairs (``queries``/``documents``; older servers name them ``text_1``/``text_2``, which
  pass through ``extra_body``). Which list lengths a server takes is the server's call.
- ``POST /classify``: the label and class probabilities of each input.
- ``POST /pooling``: the model's raw pooled output (``task`` picks embed, classify,
  token_embed... among what the model pools for), as nested lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, final

from babyapi._api_response import async_with_response, with_response
from babyapi._errors import InvalidArgumentError
from babyapi.vllm._checks import BODY_CODE, merged, text_or_texts

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._options import RequestOptionsLike
    from babyapi._request import Call
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.vllm import (
        ClassificationResponse,
        ClassifyCreateParams,
        PoolingCreateParams,
        PoolingResponse,
        ScoreCreateParams,
        ScoreResponse,
    )

SCORE_PATH = "/score"
CLASSIFY_PATH = "/classify"
POOLING_PATH = "/pooling"
# The (first, second) field names /score has taken over vLLM's versions.
SCORE_FIELDS = (
    ("queries", "documents"),
    ("queries", "items"),
    ("data_1", "data_2"),
    ("text_1", "text_2"),
)


def check_score(body: Mapping[str, Any]) -> None:
    """Both sides of the pairs are there, each a text or a list of them."""
    for first, second in SCORE_FIELDS:
        if first in body and second in body:
            text_or_texts(first, body[first])
            text_or_texts(second, body[second])
            return
    raise InvalidArgumentError(
        "score.create() needs queries=... and documents=... (a text or a list of texts each); "
        "older servers take text_1 and text_2: pass them in extra_body.",
        code=BODY_CODE,
    )


def check_inputs(body: Mapping[str, Any]) -> None:
    """``input`` is a text or a list of texts (or ``messages``, which vLLM also takes)."""
    if "input" in body:
        text_or_texts("input", body["input"])
    elif "messages" not in body:
        raise InvalidArgumentError(
            "classify.create() and pooling.create() need input=... (a text or a list of texts).",
            code=BODY_CODE,
        )


CHECKS = {SCORE_PATH: check_score, CLASSIFY_PATH: check_inputs, POOLING_PATH: check_inputs}


def post_call(
    api: RequestAPI | AsyncRequestAPI,
    path: str,
    body: Mapping[str, Any],
    request_options: Optional[RequestOptionsLike],
    extra_body: Optional[Mapping[str, Any]],
    extra_headers: Optional[Mapping[str, str]],
    extra_query: Optional[Mapping[str, Any]],
) -> Call:
    """The checked call of one of the three endpoints (the same for both twins)."""
    CHECKS[path](merged(body, extra_body))
    return api.prepare(
        path,
        body,
        request_options,
        extra_body=extra_body,
        extra_headers=extra_headers,
        extra_query=extra_query,
    )


class Score:
    """``create``: POST /score."""

    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> ScoreWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return ScoreWithResponse(self)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ScoreCreateParams],
    ) -> ScoreResponse:
        """A relevance score per (query, document) pair, in the order of the documents."""
        call = post_call(
            self._api, SCORE_PATH, body, request_options, extra_body, extra_headers, extra_query
        )
        result: ScoreResponse = self._api.send(call)
        return result


class AsyncScore:
    """``create``: POST /score."""

    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncScoreWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncScoreWithResponse(self)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ScoreCreateParams],
    ) -> ScoreResponse:
        """A relevance score per (query, document) pair, in the order of the documents."""
        call = post_call(
            self._api, SCORE_PATH, body, request_options, extra_body, extra_headers, extra_query
        )
        result: ScoreResponse = await self._api.send(call)
        return result


class Classify:
    """``create``: POST /classify."""

    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> ClassifyWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return ClassifyWithResponse(self)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ClassifyCreateParams],
    ) -> ClassificationResponse:
        """The most probable label and every class's probability, per input."""
        call = post_call(
            self._api, CLASSIFY_PATH, body, request_options, extra_body, extra_headers, extra_query
        )
        result: ClassificationResponse = self._api.send(call)
        return result


class AsyncClassify:
    """``create``: POST /classify."""

    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncClassifyWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncClassifyWithResponse(self)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[ClassifyCreateParams],
    ) -> ClassificationResponse:
        """The most probable label and every class's probability, per input."""
        call = post_call(
            self._api, CLASSIFY_PATH, body, request_options, extra_body, extra_headers, extra_query
        )
        result: ClassificationResponse = await self._api.send(call)
        return result


class Pooling:
    """``create``: POST /pooling."""

    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> PoolingWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return PoolingWithResponse(self)

    def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[PoolingCreateParams],
    ) -> PoolingResponse:
        """The model's pooled output per input; ``task`` picks which pooling."""
        call = post_call(
            self._api, POOLING_PATH, body, request_options, extra_body, extra_headers, extra_query
        )
        result: PoolingResponse = self._api.send(call)
        return result


class AsyncPooling:
    """``create``: POST /pooling."""

    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncPoolingWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncPoolingWithResponse(self)

    async def create(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **body: Unpack[PoolingCreateParams],
    ) -> PoolingResponse:
        """The model's pooled output per input; ``task`` picks which pooling."""
        call = post_call(
            self._api, POOLING_PATH, body, request_options, extra_body, extra_headers, extra_query
        )
        result: PoolingResponse = await self._api.send(call)
        return result


@final
class ScoreWithResponse:
    """``create`` returning an ``APIResponse`` (see ``Score``)."""

    def __init__(self, resource: Score) -> None:
        self.create = with_response(resource.create)


@final
class AsyncScoreWithResponse:
    """``create`` returning an ``APIResponse`` (see ``AsyncScore``)."""

    def __init__(self, resource: AsyncScore) -> None:
        self.create = async_with_response(resource.create)


@final
class ClassifyWithResponse:
    """``create`` returning an ``APIResponse`` (see ``Classify``)."""

    def __init__(self, resource: Classify) -> None:
        self.create = with_response(resource.create)


@final
class AsyncClassifyWithResponse:
    """``create`` returning an ``APIResponse`` (see ``AsyncClassify``)."""

    def __init__(self, resource: AsyncClassify) -> None:
        self.create = async_with_response(resource.create)


@final
class PoolingWithResponse:
    """``create`` returning an ``APIResponse`` (see ``Pooling``)."""

    def __init__(self, resource: Pooling) -> None:
        self.create = with_response(resource.create)


@final
class AsyncPoolingWithResponse:
    """``create`` returning an ``APIResponse`` (see ``AsyncPooling``)."""

    def __init__(self, resource: AsyncPooling) -> None:
        self.create = async_with_response(resource.create)
