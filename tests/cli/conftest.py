"""Fixtures: the local server (open and with an API key) and the command runners."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from cli_harness import CLI, SECRET


@pytest.fixture(scope="session")
def local_server() -> Iterator[str]:
    from babyapi.server import LocalServer

    with LocalServer() as server:
        yield server.base_url


@pytest.fixture(scope="session")
def secured_server() -> Iterator[str]:
    from babyapi.server import LocalServer

    with LocalServer(api_key=SECRET) as server:
        yield server.base_url


@pytest.fixture
def cli(local_server: str) -> CLI:
    return CLI(local_server)


@pytest.fixture
def offline_cli() -> CLI:
    """For what needs no server (help, usage errors): the base URL is a closed port."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return CLI(f"http://127.0.0.1:{port}")
