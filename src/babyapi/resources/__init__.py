"""One module per endpoint family; each names its endpoint and hands over to the request API.

Each module loads on first use (a client builds its resources when they are first read), so
the names below are looked up in their module when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from babyapi._lazy import names_on_first_use

if TYPE_CHECKING:
    from babyapi.resources.baby import AsyncBaby, Baby
    from babyapi.resources.chat import AsyncChat, AsyncChatCompletions, Chat, ChatCompletions
    from babyapi.resources.completions import AsyncCompletions, Completions
    from babyapi.resources.embeddings import AsyncEmbeddings, Embeddings
    from babyapi.resources.models import AsyncModels, Models
    from babyapi.resources.rerank import AsyncRerank, Rerank

_MODULE_OF = {
    "AsyncBaby": "baby",
    "AsyncChat": "chat",
    "AsyncChatCompletions": "chat",
    "AsyncCompletions": "completions",
    "AsyncEmbeddings": "embeddings",
    "AsyncModels": "models",
    "AsyncRerank": "rerank",
    "Baby": "baby",
    "Chat": "chat",
    "ChatCompletions": "chat",
    "Completions": "completions",
    "Embeddings": "embeddings",
    "Models": "models",
    "Rerank": "rerank",
}

__all__ = [
    "AsyncBaby",
    "AsyncChat",
    "AsyncChatCompletions",
    "AsyncCompletions",
    "AsyncEmbeddings",
    "AsyncModels",
    "AsyncRerank",
    "Baby",
    "Chat",
    "ChatCompletions",
    "Completions",
    "Embeddings",
    "Models",
    "Rerank",
]

if not TYPE_CHECKING:  # type checkers read the imports above, and flag a misspelt name
    __getattr__ = names_on_first_use(
        globals(), {n: f"{__name__}.{m}" for n, m in _MODULE_OF.items()}
    )
