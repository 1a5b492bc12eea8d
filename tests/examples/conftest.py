"""A local server for the examples and documentation snippets, and the environment to reach it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from babyapi.server import LocalServer


@pytest.fixture(scope="module")
def server_env() -> Iterator[dict[str, str]]:
    with LocalServer(api_key="examples-key") as server:
        env = {**os.environ, "BABYAPI_API_KEY": "examples-key", "BABYAPI_BASE_URL": server.base_url}
        env.pop("BABY_API_KEY", None)
        env.pop("BABYAPI_DEFAULT_MODEL", None)
        yield env
