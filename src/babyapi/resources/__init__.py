"""One module per endpoint family; each names its endpoint and hands over to the request API."""

from __future__ import annotations

from babyapi.resources.baby import AsyncBaby, Baby
from babyapi.resources.chat import AsyncChat, AsyncChatCompletions, Chat, ChatCompletions
from babyapi.resources.completions import AsyncCompletions, Completions
from babyapi.resources.embeddings import AsyncEmbeddings, Embeddings
from babyapi.resources.models import AsyncModels, Models
from babyapi.resources.rerank import AsyncRerank, Rerank

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
