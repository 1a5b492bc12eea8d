"""LoRA adapters loaded at run time, as vLLM serves them with VLLM_ALLOW_RUNTIME_LORA_UPDATING.

``POST /v1/load_lora_adapter {lora_name, lora_path}`` checks that the folder holds an
adapter (``adapter_config.json``), and from then on the name is a model: it answers
generation requests (with its base model's replies; there are no weights to adapt here)
and appears in ``/v1/models`` with ``parent`` set. Success answers are plain text, as
vLLM's are; failures carry vLLM's messages and statuses.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List

from babyapi.server.completions import TextRequest
from babyapi.server.errors import APIError
from babyapi.server.models import CREATED, MODELS
from babyapi.server.validate import Body

DEFAULT_PARENT = "babyapi-tiny"


@dataclass(frozen=True)
class Adapter:
    name: str
    path: str
    parent: str

    def card(self) -> Dict[str, Any]:
        """The /v1/models entry vLLM writes for an adapter."""
        return {
            "id": self.name,
            "object": "model",
            "created": CREATED,
            "owned_by": "babyapi",
            "root": self.path,
            "parent": self.parent,
            "max_model_len": None,
        }


class Adapters:
    """The adapters one server has loaded, by name."""

    def __init__(self) -> None:
        self.loaded: Dict[str, Adapter] = {}

    def load(self, body: Body) -> str:
        name, path = body.get("lora_name"), body.get("lora_path")
        if not isinstance(name, str) or not name or not isinstance(path, str) or not path:
            raise _invalid("Both 'lora_name' and 'lora_path' must be provided.", "missing_field")
        if name in MODELS:
            raise _invalid(
                f"The lora adapter '{name}' conflicts with a served base model.", "model_exists"
            )
        if name in self.loaded and body.get("load_inplace") is not True:
            raise _invalid(
                f"The lora adapter '{name}' has already been loaded. If you want to load "
                "the adapter in place, set 'load_inplace' to True.",
                "adapter_already_loaded",
            )
        config = Path(path) / "adapter_config.json"
        if not config.is_file():
            raise APIError(
                404,
                f"Loading lora {name} failed: No adapter found for {path}",
                code="adapter_not_found",
            )
        self.loaded[name] = Adapter(name, path, _parent(config))
        return f"Success: LoRA adapter '{name}' added successfully."

    def unload(self, body: Body) -> str:
        name = body.get("lora_name")
        if not isinstance(name, str) or not name:
            raise _invalid(
                "'lora_name' needs to be provided to unload a LoRA adapter.", "missing_field"
            )
        if name not in self.loaded:
            raise APIError(
                404, f"The lora adapter '{name}' cannot be found.", code="adapter_not_found"
            )
        del self.loaded[name]
        return f"Success: LoRA adapter '{name}' removed successfully."

    def cards(self) -> List[Dict[str, Any]]:
        return [adapter.card() for adapter in self.loaded.values()]

    def through(self, body: Body, parse: Callable[[Body], TextRequest]) -> TextRequest:
        """Parse a generation body whose model may be an adapter: as its base, shown as itself."""
        model = body.get("model")
        adapter = self.loaded.get(model) if isinstance(model, str) else None
        if adapter is None:
            return parse(body)
        parsed = parse({**body, "model": adapter.parent})
        return dataclasses.replace(parsed, model=adapter.name)


def _invalid(message: str, code: str) -> APIError:
    return APIError(400, message, param="lora_name", code=code)


def _parent(config: Path) -> str:
    """The base model the adapter names, when the server has it; else the all-round model."""
    try:
        named = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_PARENT
    return named if isinstance(named, str) and named in MODELS else DEFAULT_PARENT
