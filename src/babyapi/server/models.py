"""The catalogue of models the local server pretends to host, and what each can do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List

from babyapi.server.errors import APIError

GENERATE = "generate"
EMBED = "embed"
RERANK = "rerank"
CLASSIFY = "classify"
VISION = "vision"

# A context length that matches what the small hosted models advertise; the
# generator never comes near it, it only bounds max_tokens.
MAX_MODEL_LEN = 4096
CREATED = 1_735_689_600  # fixed so /v1/models is byte-for-byte stable between runs


@dataclass(frozen=True)
class ModelCard:
    """One model: its id and the tasks it accepts."""

    id: str
    tasks: FrozenSet[str]

    def card(self) -> Dict[str, Any]:
        """Return the vLLM-style /v1/models entry."""
        return {
            "id": self.id,
            "object": "model",
            "created": CREATED,
            "owned_by": "babyapi",
            "root": self.id,
            "parent": None,
            "max_model_len": MAX_MODEL_LEN,
        }


MODELS: Dict[str, ModelCard] = {
    card.id: card
    for card in (
        ModelCard("mistral", frozenset({GENERATE})),
        ModelCard("mixtral", frozenset({GENERATE})),
        ModelCard("pixtral", frozenset({GENERATE, VISION})),
        ModelCard("qwen3-embedding", frozenset({EMBED})),
        ModelCard("qwen3-reranker", frozenset({RERANK})),
        # One model that does everything, so tests need to remember a single name.
        ModelCard("babyapi-tiny", frozenset({GENERATE, VISION, EMBED, RERANK, CLASSIFY})),
    )
}

_TASK_ENDPOINTS = {
    GENERATE: "text generation (/v1/chat/completions, /v1/completions, /infer)",
    EMBED: "embeddings (/v1/embeddings)",
    RERANK: "reranking and scoring (/v1/rerank, /score)",
    CLASSIFY: "classification (/classify)",
}


def model_list() -> Dict[str, Any]:
    """Return the /v1/models body."""
    data: List[Dict[str, Any]] = [card.card() for card in MODELS.values()]
    return {"object": "list", "data": data}


def resolve(model: str, task: str) -> ModelCard:
    """Return the card for `model`, or raise 404 (unknown) / 400 (wrong task)."""
    card = MODELS.get(model)
    if card is None:
        known = ", ".join(MODELS)
        raise APIError(
            404,
            f"The model `{model}` does not exist. Known models: {known}.",
            param="model",
            code="model_not_found",
        )
    if task not in card.tasks:
        raise APIError(
            400,
            f"The model `{model}` does not support {_TASK_ENDPOINTS[task]}.",
            param="model",
            code="model_not_supported",
        )
    return card
