"""``GET /v1/models`` and ``GET /v1/models/{id}``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, final
from urllib.parse import quote

from babyapi._api_response import async_with_response, with_response
from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi._openai_names import PointsToBabyAPINames

if TYPE_CHECKING:
    from babyapi._options import RequestOptionsLike
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.models import Model, ModelList

PATH = "/v1/models"


def model_path(model: object) -> str:
    """``/v1/models/{id}`` with the id escaped, so ``/``, ``?`` or ``#`` in it stay part of it."""
    if not isinstance(model, str) or not model.strip() or model in (".", ".."):
        error = InvalidArgumentError if isinstance(model, str) else InvalidArgumentTypeError
        raise error(
            f"models.retrieve() needs a model id such as 'mistral', got {model!r:.80}; "
            "client.models.list() lists them.",
            code="MODEL_REQUIRED",
        )
    return f"{PATH}/{quote(model, safe='')}"


class Models(PointsToBabyAPINames):
    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> ModelsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return ModelsWithResponse(self)

    def list(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> ModelList:
        """The models the server offers."""
        result: ModelList = self._api.send(
            self._api.prepare(
                PATH,
                method="GET",
                request_options=request_options,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result

    def retrieve(
        self,
        model: str,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Model:
        """One model by id; an unknown id raises ``NotFoundError``."""
        result: Model = self._api.send(
            self._api.prepare(
                model_path(model),
                method="GET",
                request_options=request_options,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result


class AsyncModels(PointsToBabyAPINames):
    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncModelsWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncModelsWithResponse(self)

    async def list(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> ModelList:
        """The models the server offers."""
        result: ModelList = await self._api.send(
            self._api.prepare(
                PATH,
                method="GET",
                request_options=request_options,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result

    async def retrieve(
        self,
        model: str,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> Model:
        """One model by id; an unknown id raises ``NotFoundError``."""
        result: Model = await self._api.send(
            self._api.prepare(
                model_path(model),
                method="GET",
                request_options=request_options,
                extra_headers=extra_headers,
                extra_query=extra_query,
            )
        )
        return result


@final
class ModelsWithResponse:
    """``list``, ``retrieve`` returning an ``APIResponse`` (see ``Models``)."""

    def __init__(self, resource: Models) -> None:
        self.list = with_response(resource.list)
        self.retrieve = with_response(resource.retrieve)


@final
class AsyncModelsWithResponse:
    """``list``, ``retrieve`` returning an ``APIResponse`` (see ``AsyncModels``)."""

    def __init__(self, resource: AsyncModels) -> None:
        self.list = async_with_response(resource.list)
        self.retrieve = async_with_response(resource.retrieve)
