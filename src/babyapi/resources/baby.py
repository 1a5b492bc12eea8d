"""``POST /infer``: BabyAPI's text-in, text-out endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from babyapi._client import AsyncBabyAPI, BabyAPI
    from babyapi._options import RequestOptionsLike
    from babyapi.types.infer import InferInput, InferResponse


class Baby:
    def __init__(self, client: BabyAPI) -> None:
        self._client = client

    def infer(
        self,
        input: InferInput,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **options: Any,
    ) -> InferResponse:
        """Text in, text out: a prompt string, or a dict with prompt, model and options."""
        result: InferResponse = self._client._request(
            self._client._prepare_infer(input, options, request_options)
        )
        return result


class AsyncBaby:
    def __init__(self, client: AsyncBabyAPI) -> None:
        self._client = client

    async def infer(
        self,
        input: InferInput,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        **options: Any,
    ) -> InferResponse:
        """Text in, text out: a prompt string, or a dict with prompt, model and options."""
        result: InferResponse = await self._client._request(
            self._client._prepare_infer(input, options, request_options)
        )
        return result
