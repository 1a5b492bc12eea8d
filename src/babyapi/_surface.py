"""The clients' typed surface beyond the resources: ``infer`` and its overloads,
``with_response``, and the capabilities loaded on first use (``batch``, ``responses``).

Written once for each shell to inherit. The overloads tell editors and type checkers what
``client.infer(...)`` returns for each way of calling it; every call goes through the request
API the shell hands over.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
    cast,
    final,
    overload,
)

from babyapi._api_response import async_with_response, with_response
from babyapi.resources.chat import typed_response_format

if TYPE_CHECKING:
    from babyapi._options import RequestOptionsLike
    from babyapi._request import Call
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi._streaming import Finisher
    from babyapi.batch import AsyncBatch, Batch
    from babyapi.resources.baby import AsyncBaby, Baby
    from babyapi.resources.chat import AsyncChat, Chat
    from babyapi.resources.completions import AsyncCompletions, Completions
    from babyapi.resources.embeddings import AsyncEmbeddings, Embeddings
    from babyapi.resources.models import AsyncModels, Models
    from babyapi.resources.rerank import AsyncRerank, Rerank
    from babyapi.resources.responses import (
        AsyncResponses,
        AsyncResponsesWithResponse,
        Responses,
        ResponsesWithResponse,
    )
    from babyapi.structured import ParsedChatCompletion
    from babyapi.types.chat import ChatCompletion, ChatCompletionMessageParam
    from babyapi.types.completions import Completion
    from babyapi.vllm.lora import AsyncLoRA, AsyncLoRAWithResponse, LoRA, LoRAWithResponse
    from babyapi.vllm.pooling import (
        AsyncClassify,
        AsyncClassifyWithResponse,
        AsyncPooling,
        AsyncPoolingWithResponse,
        AsyncScore,
        AsyncScoreWithResponse,
        Classify,
        ClassifyWithResponse,
        Pooling,
        PoolingWithResponse,
        Score,
        ScoreWithResponse,
    )
    from babyapi.vllm.status import (
        AsyncServerStatus,
        AsyncServerStatusWithResponse,
        ServerStatus,
        ServerStatusWithResponse,
    )
    from babyapi.vllm.tokenizer import (
        AsyncTokenizer,
        AsyncTokenizerWithResponse,
        Tokenizer,
        TokenizerWithResponse,
    )

__all__ = ["AsyncBabyAPIWithResponse", "AsyncSurface", "BabyAPIWithResponse", "SyncSurface"]

T = TypeVar("T")
_Prompt = Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]]


class _Resources:
    """Resources beyond chat, each made (and its module loaded) on first use, then kept."""

    _api: Any
    # Made resources by class; the shell empties it whenever it hands out a new request API.
    _made: dict[Any, Any]

    def _once(self, build: Callable[[Any], T]) -> T:
        made = self._made.get(build)
        if made is None:
            made = self._made[build] = build(self._api)
        return cast("T", made)


class SyncSurface(_Resources):
    """``BabyAPI``'s own methods: what it offers beyond its resources."""

    _api: RequestAPI
    chat: Chat

    # The other resources load on first use, to keep `import babyapi` light.

    @property
    def completions(self) -> Completions:
        """Text completions (``POST /v1/completions``)."""
        from babyapi.resources.completions import Completions

        return self._once(Completions)

    @property
    def embeddings(self) -> Embeddings:
        """Embeddings (``POST /v1/embeddings``)."""
        from babyapi.resources.embeddings import Embeddings

        return self._once(Embeddings)

    @property
    def rerank(self) -> Rerank:
        """Reranking (``POST /v1/rerank``)."""
        from babyapi.resources.rerank import Rerank

        return self._once(Rerank)

    @property
    def models(self) -> Models:
        """The models a server lists (``GET /v1/models``)."""
        from babyapi.resources.models import Models

        return self._once(Models)

    @property
    def baby(self) -> Baby:
        """BabyAPI's own ``/infer`` endpoint."""
        from babyapi.resources.baby import Baby

        return self._once(Baby)

    @property
    def with_response(self) -> BabyAPIWithResponse:
        """Every non-streaming method, returning an ``APIResponse`` (data, status, headers, ...)."""
        return BabyAPIWithResponse(self)

    @property
    def batch(self) -> Batch:
        """Jobs over many items (embed, rerank, chat, completions); see docs/scale.md."""
        from babyapi.batch import Batch  # loaded on first use, to keep `import babyapi` light

        return Batch(self._api)

    @property
    def responses(self) -> Responses:
        """The Responses API (``POST /v1/responses``); see docs/responses.md."""
        from babyapi.resources.responses import Responses  # loaded on first use

        return Responses(self._api)

    # vLLM's own endpoints (docs/vllm.md): each module loads the first time it is used.

    @property
    def tokenizer(self) -> Tokenizer:
        """The server's tokenizer: ``tokenize``, ``detokenize`` and ``fit`` (POST /tokenize)."""
        from babyapi.vllm.tokenizer import Tokenizer

        return Tokenizer(self._api)

    @property
    def score(self) -> Score:
        """``create``: a score per (query, document) pair (vLLM's POST /score)."""
        from babyapi.vllm.pooling import Score

        return Score(self._api)

    @property
    def classify(self) -> Classify:
        """``create``: labels and class probabilities (vLLM's POST /classify)."""
        from babyapi.vllm.pooling import Classify

        return Classify(self._api)

    @property
    def pooling(self) -> Pooling:
        """``create``: the pooling model's raw output (vLLM's POST /pooling)."""
        from babyapi.vllm.pooling import Pooling

        return Pooling(self._api)

    @property
    def lora(self) -> LoRA:
        """LoRA adapters at run time: ``load``, ``unload``, ``list`` (vLLM)."""
        from babyapi.vllm.lora import LoRA

        return LoRA(self._api)

    @property
    def server(self) -> ServerStatus:
        """The server's ``health``, ``version``, ``load`` and ``metrics``."""
        from babyapi.vllm.status import ServerStatus

        return ServerStatus(self._api)

    @overload
    def infer(  # pyright: ignore[reportOverlappingOverload] - the narrower one comes first
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ParsedChatCompletion[T]: ...

    @overload
    def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ChatCompletion: ...

    @overload
    def infer(
        self,
        body: None = None,
        *,
        prompt: _Prompt,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Completion: ...

    @overload
    def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any: ...

    def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``.

        With keyword arguments the return type follows them; with a dict body it is the JSON.
        A type or JSON Schema as ``response_format`` makes it ``parse()``.
        """
        call, finish = _routed(self._api, body, kwargs, request_options, extra_headers, extra_query)
        answer = self._api.send(call)
        return answer if finish is None else finish(answer)


class AsyncSurface(_Resources):
    """``AsyncBabyAPI``'s own methods: what it offers beyond its resources."""

    _api: AsyncRequestAPI
    chat: AsyncChat

    @property
    def completions(self) -> AsyncCompletions:
        """Text completions (``POST /v1/completions``)."""
        from babyapi.resources.completions import AsyncCompletions

        return self._once(AsyncCompletions)

    @property
    def embeddings(self) -> AsyncEmbeddings:
        """Embeddings (``POST /v1/embeddings``)."""
        from babyapi.resources.embeddings import AsyncEmbeddings

        return self._once(AsyncEmbeddings)

    @property
    def rerank(self) -> AsyncRerank:
        """Reranking (``POST /v1/rerank``)."""
        from babyapi.resources.rerank import AsyncRerank

        return self._once(AsyncRerank)

    @property
    def models(self) -> AsyncModels:
        """The models a server lists (``GET /v1/models``)."""
        from babyapi.resources.models import AsyncModels

        return self._once(AsyncModels)

    @property
    def baby(self) -> AsyncBaby:
        """BabyAPI's own ``/infer`` endpoint."""
        from babyapi.resources.baby import AsyncBaby

        return self._once(AsyncBaby)

    @property
    def with_response(self) -> AsyncBabyAPIWithResponse:
        """Every non-streaming method, returning an ``APIResponse`` (data, status, headers, ...)."""
        return AsyncBabyAPIWithResponse(self)

    @property
    def batch(self) -> AsyncBatch:
        """Jobs over many items (embed, rerank, chat, completions); see docs/scale.md."""
        from babyapi.batch import AsyncBatch  # loaded on first use, to keep `import babyapi` light

        return AsyncBatch(self._api)

    @property
    def responses(self) -> AsyncResponses:
        """The Responses API (``POST /v1/responses``); see docs/responses.md."""
        from babyapi.resources.responses import AsyncResponses  # loaded on first use

        return AsyncResponses(self._api)

    # vLLM's own endpoints (docs/vllm.md): each module loads the first time it is used.

    @property
    def tokenizer(self) -> AsyncTokenizer:
        """The server's tokenizer: ``tokenize``, ``detokenize`` and ``fit`` (POST /tokenize)."""
        from babyapi.vllm.tokenizer import AsyncTokenizer

        return AsyncTokenizer(self._api)

    @property
    def score(self) -> AsyncScore:
        """``create``: a score per (query, document) pair (vLLM's POST /score)."""
        from babyapi.vllm.pooling import AsyncScore

        return AsyncScore(self._api)

    @property
    def classify(self) -> AsyncClassify:
        """``create``: labels and class probabilities (vLLM's POST /classify)."""
        from babyapi.vllm.pooling import AsyncClassify

        return AsyncClassify(self._api)

    @property
    def pooling(self) -> AsyncPooling:
        """``create``: the pooling model's raw output (vLLM's POST /pooling)."""
        from babyapi.vllm.pooling import AsyncPooling

        return AsyncPooling(self._api)

    @property
    def lora(self) -> AsyncLoRA:
        """LoRA adapters at run time: ``load``, ``unload``, ``list`` (vLLM)."""
        from babyapi.vllm.lora import AsyncLoRA

        return AsyncLoRA(self._api)

    @property
    def server(self) -> AsyncServerStatus:
        """The server's ``health``, ``version``, ``load`` and ``metrics``."""
        from babyapi.vllm.status import AsyncServerStatus

        return AsyncServerStatus(self._api)

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        response_format: type[T],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ParsedChatCompletion[T]: ...

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        messages: Sequence[ChatCompletionMessageParam],
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> ChatCompletion: ...

    @overload
    async def infer(
        self,
        body: None = None,
        *,
        prompt: _Prompt,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Completion: ...

    @overload
    async def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any: ...

    async def infer(
        self,
        body: Optional[Mapping[str, Any]] = None,
        *,
        request_options: Optional[RequestOptionsLike] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **kwargs: Any,
    ) -> Any:
        """Chat completions when given ``messages``, completions when given ``prompt``.

        With keyword arguments the return type follows them; with a dict body it is the JSON.
        A type or JSON Schema as ``response_format`` makes it ``parse()``.
        """
        call, finish = _routed(self._api, body, kwargs, request_options, extra_headers, extra_query)
        answer = await self._api.send(call)
        return answer if finish is None else finish(answer)


def _routed(
    api: Union[RequestAPI, AsyncRequestAPI],
    body: Optional[Mapping[str, Any]],
    kwargs: Mapping[str, Any],
    options: Optional[RequestOptionsLike],
    extra_headers: Optional[Mapping[str, str]],
    extra_query: Optional[Mapping[str, Any]],
) -> tuple[Call, Optional[Finisher]]:
    """The call ``client.infer`` makes, and how to read a typed ``response_format`` back."""
    from babyapi._infer import CHAT_PATH, route_infer  # loaded with client.infer's first call

    path, merged = route_infer(body, kwargs)
    finish = typed_response_format(merged) if path == CHAT_PATH else None
    call = api.prepare(path, merged, options, extra_headers=extra_headers, extra_query=extra_query)
    return call, finish


@final
class BabyAPIWithResponse:
    """``client.with_response``: the client's non-streaming methods returning ``APIResponse``."""

    def __init__(self, client: SyncSurface) -> None:
        self._client = client
        self.infer = with_response(client.infer)
        self.chat = client.chat.with_response
        self.completions = client.completions.with_response
        self.embeddings = client.embeddings.with_response
        self.rerank = client.rerank.with_response
        self.models = client.models.with_response
        self.baby = client.baby.with_response

    @property
    def responses(self) -> ResponsesWithResponse:
        return self._client.responses.with_response

    @property
    def tokenizer(self) -> TokenizerWithResponse:
        return self._client.tokenizer.with_response

    @property
    def score(self) -> ScoreWithResponse:
        return self._client.score.with_response

    @property
    def classify(self) -> ClassifyWithResponse:
        return self._client.classify.with_response

    @property
    def pooling(self) -> PoolingWithResponse:
        return self._client.pooling.with_response

    @property
    def lora(self) -> LoRAWithResponse:
        return self._client.lora.with_response

    @property
    def server(self) -> ServerStatusWithResponse:
        return self._client.server.with_response


@final
class AsyncBabyAPIWithResponse:
    """``client.with_response``: the client's non-streaming methods returning ``APIResponse``."""

    def __init__(self, client: AsyncSurface) -> None:
        self._client = client
        self.infer = async_with_response(client.infer)
        self.chat = client.chat.with_response
        self.completions = client.completions.with_response
        self.embeddings = client.embeddings.with_response
        self.rerank = client.rerank.with_response
        self.models = client.models.with_response
        self.baby = client.baby.with_response

    @property
    def responses(self) -> AsyncResponsesWithResponse:
        return self._client.responses.with_response

    @property
    def tokenizer(self) -> AsyncTokenizerWithResponse:
        return self._client.tokenizer.with_response

    @property
    def score(self) -> AsyncScoreWithResponse:
        return self._client.score.with_response

    @property
    def classify(self) -> AsyncClassifyWithResponse:
        return self._client.classify.with_response

    @property
    def pooling(self) -> AsyncPoolingWithResponse:
        return self._client.pooling.with_response

    @property
    def lora(self) -> AsyncLoRAWithResponse:
        return self._client.lora.with_response

    @property
    def server(self) -> AsyncServerStatusWithResponse:
        return self._client.server.with_response
