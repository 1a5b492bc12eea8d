"""The local BabyAPI server: an OpenAI-compatible API on your laptop, no network, no GPU.

Install with ``pip install 'babyapi[server]'`` (Starlette + uvicorn). Start it
with ``babyapi serve`` or ``python -m babyapi.server``, or from Python::

    from babyapi.server import LocalServer

    with LocalServer(api_key="test") as server:
        ...  # point a client at server.base_url

Endpoints: GET /health, GET /v1/models, POST /v1/chat/completions,
/v1/completions (both with SSE streaming), /v1/embeddings, /v1/rerank,
/infer, and vLLM's own routes (``babyapi.server.native``). Fault drills (header ``x-babyapi-fault``) are documented in
``babyapi.server.faults``.

Importing this package is cheap: Starlette and uvicorn load on first use of
``create_app``, ``serve`` or ``LocalServer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from babyapi.server.command import (
    add_serve_arguments,
    load_server_module,
    main,
    run_from_args,
)

if TYPE_CHECKING:
    from babyapi.server.app import create_app
    from babyapi.server.local import LocalServer
    from babyapi.server.runner import serve

__all__ = ["LocalServer", "add_serve_arguments", "create_app", "main", "run_from_args", "serve"]

_LAZY = {
    "create_app": "babyapi.server.app",
    "serve": "babyapi.server.runner",
    "LocalServer": "babyapi.server.local",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'babyapi.server' has no attribute {name!r}")
    value = getattr(load_server_module(module_name), name)
    globals()[name] = value
    return value
