"""A real local server on 127.0.0.1 per test module, and httpx clients for it."""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest

from babyapi.server import LocalServer

API_KEY = "test-key"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key=API_KEY) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: LocalServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10.0) as c:
        yield c
