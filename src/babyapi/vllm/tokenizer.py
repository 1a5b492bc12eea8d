"""``client.tokenizer``: POST /tokenize and /detokenize, and "does this prompt fit?".

vLLM counts a prompt, or a conversation through the model's chat template, with the
tokenizer the model uses, and tells its context length (``max_model_len``). llama-server
has the same two routes with other field names (``content`` in, ``content`` out); the
SDK sends and reads both, so a prompt tokenizes on either. llama-server's ``/tokenize``
takes no messages: asking it to count a conversation raises instead of answering 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional, cast, final

from babyapi._api_response import async_with_response, with_response
from babyapi._errors import InvalidArgumentError, InvalidArgumentTypeError
from babyapi.vllm._checks import BODY_CODE, not_supported, token_ids

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from babyapi._options import RequestOptionsLike
    from babyapi._request_api import AsyncRequestAPI, RequestAPI
    from babyapi.types.chat import ChatCompletionMessageParam
    from babyapi.types.vllm import DetokenizeResponse, PromptFit, TokenizeParams, TokenizeResponse

TOKENIZE_PATH = "/tokenize"
DETOKENIZE_PATH = "/detokenize"


def tokenize_body(
    prompt: object, messages: object, model: Optional[str], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The /tokenize body for a prompt or a conversation (exactly one of them)."""
    if (prompt is None) == (messages is None):
        raise InvalidArgumentError(
            "tokenize() takes a prompt or messages=[...], not "
            + ("both." if prompt is not None else "neither."),
            code=BODY_CODE,
        )
    body: dict[str, Any] = dict(params)
    if model is not None:
        body["model"] = model
    if prompt is not None:
        if not isinstance(prompt, str):
            raise InvalidArgumentTypeError(
                f"prompt must be a string, got {type(prompt).__name__}; "
                "for a conversation pass messages=[...].",
                code=BODY_CODE,
            )
        # llama-server reads the text from `content`; vLLM ignores a field it does not know.
        body.update(prompt=prompt, content=prompt)
        return body
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidArgumentTypeError(
            "messages must be a list such as [{'role': 'user', 'content': 'Hello'}], "
            f"got {type(messages).__name__}.",
            code=BODY_CODE,
        )
    body["messages"] = list(cast("Sequence[object]", messages))
    return body


def read_tokenized(answer: Any, counted_messages: bool) -> TokenizeResponse:
    """The answer of /tokenize, with ``count`` where the server (llama-server) left it out."""
    found: dict[str, Any] = cast("dict[str, Any]", answer) if isinstance(answer, dict) else {}
    tokens = found.get("tokens")
    if not isinstance(tokens, list):
        raise not_supported(f"/tokenize answered without a list of tokens: {answer!r:.200}")
    count = found.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise not_supported(f"/tokenize answered a count that is not a number: {count!r:.80}")
    if count is None:
        if counted_messages:
            raise not_supported(
                "this server's /tokenize takes a prompt, not messages (llama-server reads "
                "only `content`): tokenize the rendered prompt instead."
            )
        found["count"] = len(cast("list[object]", tokens))
    return cast("TokenizeResponse", found)


def detokenize_body(tokens: object, model: Optional[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"tokens": token_ids(tokens)}
    if model is not None:
        body["model"] = model
    return body


def read_detokenized(answer: Any) -> DetokenizeResponse:
    """The answer of /detokenize; llama-server's ``content`` becomes ``prompt``."""
    found = cast("dict[str, Any]", answer) if isinstance(answer, dict) else {}
    text = found.get("prompt", found.get("content"))
    if not isinstance(text, str):
        raise not_supported(f"/detokenize answered without the text: {answer!r:.200}")
    found["prompt"] = text
    return cast("DetokenizeResponse", found)


def fit_of(
    tokenized: TokenizeResponse, max_tokens: Optional[int], max_model_len: Optional[int]
) -> PromptFit:
    """Room left in the context after the prompt, and whether the answer fits too."""
    limit = tokenized.get("max_model_len") if max_model_len is None else max_model_len
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise not_supported(
            "this server's /tokenize does not tell the context length (max_model_len); "
            "pass max_model_len=... to fit()."
        )
    count = tokenized["count"]
    left = limit - count
    return {
        "count": count,
        "max_model_len": limit,
        "tokens_left": left,
        "fits": left >= (max_tokens or 0) and left >= 0,
    }


def _check_max_tokens(max_tokens: object, max_model_len: object) -> None:
    for name, value in (("max_tokens", max_tokens), ("max_model_len", max_model_len)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgumentTypeError(
                f"{name} must be a whole number of tokens, got {value!r:.80}.", code=BODY_CODE
            )
        if value < 0:
            raise InvalidArgumentError(f"{name} must be 0 or more, got {value}.", code=BODY_CODE)


class Tokenizer:
    """The server's tokenizer: ``tokenize``, ``detokenize`` and ``fit``."""

    def __init__(self, api: RequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> TokenizerWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return TokenizerWithResponse(self)

    def tokenize(
        self,
        prompt: Optional[str] = None,
        *,
        messages: Optional[Sequence[ChatCompletionMessageParam]] = None,
        model: Optional[str] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **params: Unpack[TokenizeParams],
    ) -> TokenizeResponse:
        """POST /tokenize: the token ids of a prompt, or of messages through the chat template."""
        call = self._api.prepare(
            TOKENIZE_PATH,
            tokenize_body(prompt, messages, model, params),
            request_options,
            extra_body=extra_body,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        return read_tokenized(self._api.send(call), messages is not None)

    def detokenize(
        self,
        tokens: Sequence[int],
        *,
        model: Optional[str] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> DetokenizeResponse:
        """POST /detokenize: the text of token ids."""
        call = self._api.prepare(
            DETOKENIZE_PATH,
            detokenize_body(tokens, model),
            request_options,
            extra_body=extra_body,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        return read_detokenized(self._api.send(call))

    def fit(
        self,
        prompt: Optional[str] = None,
        *,
        messages: Optional[Sequence[ChatCompletionMessageParam]] = None,
        model: Optional[str] = None,
        max_tokens: Optional[int] = None,
        max_model_len: Optional[int] = None,
        request_options: Optional[RequestOptionsLike] = None,
        **params: Unpack[TokenizeParams],
    ) -> PromptFit:
        """Does this prompt fit? Its token count, the context length and the room left.

        With ``max_tokens``, ``fits`` also needs room for that much answer. ``max_model_len``
        overrides the server's figure (llama-server does not send one).
        """
        _check_max_tokens(max_tokens, max_model_len)
        counted = self.tokenize(
            prompt, messages=messages, model=model, request_options=request_options, **params
        )
        return fit_of(counted, max_tokens, max_model_len)


class AsyncTokenizer:
    """The server's tokenizer: ``tokenize``, ``detokenize`` and ``fit``."""

    def __init__(self, api: AsyncRequestAPI) -> None:
        self._api = api

    @property
    def with_response(self) -> AsyncTokenizerWithResponse:
        """The same methods, each returning an ``APIResponse`` (data, status, headers, request id)."""
        return AsyncTokenizerWithResponse(self)

    async def tokenize(
        self,
        prompt: Optional[str] = None,
        *,
        messages: Optional[Sequence[ChatCompletionMessageParam]] = None,
        model: Optional[str] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
        **params: Unpack[TokenizeParams],
    ) -> TokenizeResponse:
        """POST /tokenize: the token ids of a prompt, or of messages through the chat template."""
        call = self._api.prepare(
            TOKENIZE_PATH,
            tokenize_body(prompt, messages, model, params),
            request_options,
            extra_body=extra_body,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        return read_tokenized(await self._api.send(call), messages is not None)

    async def detokenize(
        self,
        tokens: Sequence[int],
        *,
        model: Optional[str] = None,
        request_options: Optional[RequestOptionsLike] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        extra_headers: Optional[Mapping[str, str]] = None,
        extra_query: Optional[Mapping[str, Any]] = None,
    ) -> DetokenizeResponse:
        """POST /detokenize: the text of token ids."""
        call = self._api.prepare(
            DETOKENIZE_PATH,
            detokenize_body(tokens, model),
            request_options,
            extra_body=extra_body,
            extra_headers=extra_headers,
            extra_query=extra_query,
        )
        return read_detokenized(await self._api.send(call))

    async def fit(
        self,
        prompt: Optional[str] = None,
        *,
        messages: Optional[Sequence[ChatCompletionMessageParam]] = None,
        model: Optional[str] = None,
        max_tokens: Optional[int] = None,
        max_model_len: Optional[int] = None,
        request_options: Optional[RequestOptionsLike] = None,
        **params: Unpack[TokenizeParams],
    ) -> PromptFit:
        """Does this prompt fit? See ``Tokenizer.fit``."""
        _check_max_tokens(max_tokens, max_model_len)
        counted = await self.tokenize(
            prompt, messages=messages, model=model, request_options=request_options, **params
        )
        return fit_of(counted, max_tokens, max_model_len)


@final
class TokenizerWithResponse:
    """``tokenize``, ``detokenize``, ``fit`` returning an ``APIResponse`` (see ``Tokenizer``)."""

    def __init__(self, resource: Tokenizer) -> None:
        self.tokenize = with_response(resource.tokenize)
        self.detokenize = with_response(resource.detokenize)
        self.fit = with_response(resource.fit)


@final
class AsyncTokenizerWithResponse:
    """``tokenize``, ``detokenize``, ``fit`` returning an ``APIResponse`` (see ``AsyncTokenizer``)."""

    def __init__(self, resource: AsyncTokenizer) -> None:
        self.tokenize = async_with_response(resource.tokenize)
        self.detokenize = async_with_response(resource.detokenize)
        self.fit = async_with_response(resource.fit)
