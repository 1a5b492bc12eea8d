"""``client.lora``: load, unload and list LoRA adapters on a running vLLM server.

vLLM serves ``/v1/load_lora_adapter`` and ``/v1/unload_lora_adapter`` only when started
with ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` (and ``--enable-lora``). They answer success
in plain text, not JSON, which ``load`` and ``unload`` return. A loaded adapter is a model
from then on: pass its name as ``model``; ``/v1/models`` lists it with its base as ``parent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, List, Optional, final

from babyapi._api_response import async_with_response, with_response
from babyapi.vllm._checks import non_empty_text

if TYPE_CHECKING:
    from babyapi._options import RequestOptionsLike
    from babyapi._request import Call
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.models import Model, ModelList

LOAD_PATH = "/v1/load_lora_adapter"
UNLOAD_PATH = "/v1/unload_lora_adapter"
MODELS_PATH = "/v1/models"


def load_body(name: object, path: object, load_inplace: Optional[bool]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lora_name": non_empty_text("name", name, "my-adapter"),
        "lora_path": non_empty_text("path", path, "/models/adapters/my-adapter"),
    }
    if load_inplace is not None:
        body["load_inplace"] = load_inplace
    return body


def unload_body(name: object) -> dict[str, Any]:
    return {"lora_name": non_empty_text("name", name, "my-adapter")}


def adapters_in(listing: ModelList) -> List[Model]:
    """The entries of a model list that are adapters: those with a base model as ``parent``."""
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        return []
    return [m for m in data if isinstance(m, dict) and m.get("parent")]


def _post(
    api: RequestAPI | AsyncRequestAPI,
    path: str,
    body: Mapping[str, Any],
    request_options: Optional[RequestOptionsLike],
    extra_headers: Optional[Mapping[str, str]],
) -> Call:
    return api.prepare(path, body, request_options, fill_model=False, extra_headers=extra_headers)


def _models(
    api: RequestAPI | AsyncRequestAPI,
    request_options: Optional[RequestOptionsLike],
    extra_headers: Optional[Mapping[str, str]],
) -> Call:
    return api.prepare(
        MODELS_PATH, None, request_options, method="GET", extra_headers=extra_headers
    )


class LoRA:
    """LoRA adapters at run time: ``load``, ``unload``, ``list``."""

    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> LoRAWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return LoRAWithResponse(self)

    def load(
        self,
        name: str,
        path: str,
        *,
        load_inplace: Optional[bool] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Load the adapter in the server's folder ``path`` as model ``name``; the server's message.

        Loading a name twice is the server's 400 (``BadRequestError``) unless
        ``load_inplace=True``; a folder with no adapter is its 404 (``NotFoundError``).
        """
        body = load_body(name, path, load_inplace)
        call = _post(self._api, LOAD_PATH, body, request_options, extra_headers)
        return self._api.send_raw(call).text

    def unload(
        self,
        name: str,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Unload adapter ``name``; one that is not loaded is ``NotFoundError``."""
        call = _post(self._api, UNLOAD_PATH, unload_body(name), request_options, extra_headers)
        return self._api.send_raw(call).text

    def list(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
    ) -> List[Model]:
        """The adapters loaded now: the entries of ``/v1/models`` that have a ``parent``."""
        return adapters_in(self._api.send(_models(self._api, request_options, extra_headers)))


class AsyncLoRA:
    """LoRA adapters at run time: ``load``, ``unload``, ``list``."""

    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncLoRAWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncLoRAWithResponse(self)

    async def load(
        self,
        name: str,
        path: str,
        *,
        load_inplace: Optional[bool] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Load the adapter in the server's folder ``path`` as model ``name``; see ``LoRA.load``."""
        body = load_body(name, path, load_inplace)
        call = _post(self._api, LOAD_PATH, body, request_options, extra_headers)
        return (await self._api.send_raw(call)).text

    async def unload(
        self,
        name: str,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Unload adapter ``name``; one that is not loaded is ``NotFoundError``."""
        call = _post(self._api, UNLOAD_PATH, unload_body(name), request_options, extra_headers)
        return (await self._api.send_raw(call)).text

    async def list(
        self,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
    ) -> List[Model]:
        """The adapters loaded now: the entries of ``/v1/models`` that have a ``parent``."""
        call = _models(self._api, request_options, extra_headers)
        return adapters_in(await self._api.send(call))


@final
class LoRAWithResponse:
    """``load``, ``unload``, ``list`` returning an ``APIResponse`` (see ``LoRA``)."""

    def __init__(self, resource: LoRA) -> None:
        self.load = with_response(resource.load)
        self.unload = with_response(resource.unload)
        self.list = with_response(resource.list)


@final
class AsyncLoRAWithResponse:
    """``load``, ``unload``, ``list`` returning an ``APIResponse`` (see ``AsyncLoRA``)."""

    def __init__(self, resource: AsyncLoRA) -> None:
        self.load = async_with_response(resource.load)
        self.unload = async_with_response(resource.unload)
        self.list = async_with_response(resource.list)
