"""The ``driver`` fixture: every integration test runs once per client kind (see drivers.KINDS)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from babyapi.server import LocalServer
from drivers import API_KEY, KINDS, Driver  # pyright: ignore[reportImplicitRelativeImport]
from raw_server import OK_BYTES, RawServer  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]


@pytest.fixture(params=KINDS)
def driver(request: pytest.FixtureRequest, scripted_server: ScriptedServer) -> Iterator[Driver]:
    d = Driver(request.param, scripted_server)
    yield d
    d.close()


@pytest.fixture(scope="module")
def local_server() -> Iterator[LocalServer]:
    """The SDK's own local server, for tests of what it generates (JSON answers, tool calls)."""
    with LocalServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture(params=KINDS)
def local(request: pytest.FixtureRequest, local_server: LocalServer) -> Iterator[Driver]:
    """A driver of each client kind on the local server."""
    d = Driver(request.param, local_server)  # type: ignore[arg-type]
    yield d
    d.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[RawServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    with RawServer(OK_BYTES, tls=context) as server:
        yield server


PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch
