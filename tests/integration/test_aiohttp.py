"""The aiohttp transport: how it is chosen, its failures met as on httpx, its session's life.

Everything both transports share runs in the driver-based tests (kind ``aiohttp``); this file
holds what only the choice of transport can show, each failure compared against httpx's.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import logging
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import aiohttp
import anyio
import httpx
import pytest

from babyapi import AsyncBabyAPI, BabyAPI, BabyAPIError
from drivers import API_KEY  # pyright: ignore[reportImplicitRelativeImport]
from raw_server import RawServer  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hi"}]
OK = Reply.json({"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]})
Outcome = tuple[str, Optional[str], Optional[int]]


def outcome(transport: str, base_url: str, **kwargs: Any) -> Outcome:
    """What one chat call ends in on a transport: ("ok", None, None) or the error's class/code/status."""

    async def main() -> Outcome:
        kwargs.setdefault("timeout_s", 10.0)
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=base_url, max_retries=0, transport=transport, **kwargs
        ) as client:
            try:
                res = await client.chat.completions.create(model="m", messages=MESSAGES)
            except Exception as exc:
                assert API_KEY not in str(exc)
                return type(exc).__name__, getattr(exc, "code", None), getattr(exc, "status", None)
            return res["choices"][0]["message"]["content"], None, None

    return asyncio.run(main())


# Choosing the transport ---------------------------------------------------------------------


def test_import_babyapi_loads_aiohttp_only_when_an_async_call_needs_it(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(OK)
    code = (
        "import asyncio, sys\n"
        "import babyapi\n"
        "assert 'aiohttp' not in sys.modules, 'import babyapi loaded aiohttp'\n"
        f"client = babyapi.AsyncBabyAPI(api_key='k', base_url={scripted_server.base_url!r})\n"
        "assert 'aiohttp' not in sys.modules, 'making a client loaded aiohttp'\n"
        "async def main():\n"
        "    async with client:\n"
        "        await client.models.list()\n"
        "        return client.transport\n"
        "print(asyncio.run(main()), 'aiohttp' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["aiohttp", "True"]


def test_auto_is_aiohttp_on_asyncio_and_httpx_on_trio(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    scripted_server.script(OK)

    async def used() -> str:
        async with AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
            await client.chat.completions.create(model="m", messages=MESSAGES)
            return client.transport

    assert anyio.run(used, backend="asyncio") == "aiohttp"
    assert anyio.run(used, backend="trio") == "httpx"


def test_aiohttp_asked_for_under_trio_says_to_use_httpx(scripted_server: ScriptedServer) -> None:
    async def main() -> None:
        client = AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, transport="aiohttp"
        )
        await client.models.list()

    with pytest.raises(BabyAPIError) as info:
        anyio.run(main, backend="trio")
    assert info.value.code == "INVALID_OPTIONS"
    assert "transport='httpx'" in info.value.message
    assert scripted_server.requests == []


def test_without_aiohttp_auto_uses_httpx_and_asking_for_it_says_how_to_install(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # what `import aiohttp` meets when absent
    scripted_server.script(OK)
    client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
    assert client.transport == "httpx"
    with pytest.raises(BabyAPIError) as info:
        AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, transport="aiohttp")
    assert info.value.code == "INVALID_OPTIONS"
    assert "pip install 'babyapi[aiohttp]'" in info.value.message


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"transport": "requests"}, "transport must be one of"),
        ({"transport": "httpx", "http_client": "session"}, "does not match"),
        ({"transport": "aiohttp", "http_client": "httpx"}, "does not match"),
        ({"http_client": object()}, "httpx.AsyncClient or an aiohttp.ClientSession"),
    ],
)
def test_bad_transport_settings_are_refused_before_any_request(
    scripted_server: ScriptedServer, kwargs: dict[str, Any], words: str
) -> None:
    async def main() -> None:
        given = kwargs.get("http_client")
        if given == "session":
            kwargs["http_client"] = aiohttp.ClientSession()
        elif given == "httpx":
            kwargs["http_client"] = httpx.AsyncClient()
        try:
            with pytest.raises(BabyAPIError) as info:
                AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, **kwargs)
        finally:
            http = kwargs.get("http_client")
            if isinstance(http, aiohttp.ClientSession):
                await http.close()
            elif isinstance(http, httpx.AsyncClient):
                await http.aclose()
        assert info.value.code == "INVALID_OPTIONS"
        assert words in info.value.message

    asyncio.run(main())


def test_the_sync_client_refuses_the_aiohttp_transport() -> None:
    with pytest.raises(BabyAPIError) as info:
        BabyAPI(api_key=API_KEY, transport="aiohttp")
    assert info.value.code == "INVALID_OPTIONS"
    assert "AsyncBabyAPI" in info.value.message


# The user's session and the session's life ----------------------------------------------------


def test_a_users_aiohttp_session_is_used_and_never_closed(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK)

    async def main() -> tuple[str, str, bool]:
        async with aiohttp.ClientSession(headers={"x-from-session": "yes"}) as session:
            async with AsyncBabyAPI(
                api_key=API_KEY, base_url=scripted_server.base_url, http_client=session
            ) as client:
                res = await client.chat.completions.create(model="m", messages=MESSAGES)
                transport = client.transport
            closed_by_us = session.closed
        return res["choices"][0]["message"]["content"], transport, closed_by_us

    assert asyncio.run(main()) == ("ok", "aiohttp", False)
    assert scripted_server.requests[0].headers["x-from-session"] == "yes"
    assert scripted_server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


# A user's session keeps its defaults; the SDK's rules hold whatever they are ----------------


def gzipped(reply: Reply) -> Reply:
    """The same answer, compressed on the wire as a gzipping server or proxy sends it."""
    assert isinstance(reply.body, bytes)
    headers = {**reply.headers, "content-encoding": "gzip"}
    return Reply(reply.status, headers, gzip.compress(reply.body))


def on_users_session(
    base_url: str, session_kwargs: dict[str, Any], **client_kwargs: Any
) -> tuple[Outcome, Any]:
    """One chat call through ``aiohttp.ClientSession(**session_kwargs)``: its outcome and the error."""

    async def main() -> tuple[Outcome, Any]:
        async with (
            aiohttp.ClientSession(**session_kwargs) as session,
            AsyncBabyAPI(
                api_key=API_KEY, base_url=base_url, http_client=session, **client_kwargs
            ) as client,
        ):
            try:
                res = await client.chat.completions.create(model="m", messages=MESSAGES)
            except BabyAPIError as exc:
                return (type(exc).__name__, exc.code, exc.status), exc
            return (res["choices"][0]["message"]["content"], None, None), None

    return asyncio.run(main())


def test_our_session_asks_for_what_it_decodes_and_a_callers_choice_wins(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(gzipped(OK), Reply.json({"error": {"message": "no"}}, status=400))

    async def main() -> Any:
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, transport="aiohttp", max_retries=0
        ) as client:
            res = await client.chat.completions.create(model="m", messages=MESSAGES)
            assert res["choices"][0]["message"]["content"] == "ok"
            with pytest.raises(BabyAPIError) as info:
                await client.chat.completions.create(
                    model="m", messages=MESSAGES, extra_headers={"Accept-Encoding": "identity"}
                )
            return info.value.response

    response = asyncio.run(main())
    sent = [r.headers["accept-encoding"] for r in scripted_server.requests]
    assert sent == ["gzip, deflate", "identity"]
    assert response.request.headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    "session_kwargs", [{}, {"auto_decompress": False}], ids=["defaults", "auto_decompress_off"]
)
def test_a_users_session_reads_a_gzipped_answer_once(
    scripted_server: ScriptedServer, session_kwargs: dict[str, Any]
) -> None:
    scripted_server.script(gzipped(OK))
    result, _ = on_users_session(scripted_server.base_url, session_kwargs, max_retries=0)
    assert result == ("ok", None, None)
    assert "gzip" in scripted_server.requests[0].headers["accept-encoding"]


@pytest.mark.parametrize(
    "session_kwargs", [{}, {"auto_decompress": False}], ids=["defaults", "auto_decompress_off"]
)
def test_a_users_session_streams_a_gzipped_stream(
    scripted_server: ScriptedServer, session_kwargs: dict[str, Any]
) -> None:
    events = b"".join(
        b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % word
        for word in (b"Hel", b"lo")
    )
    packed = gzip.compress(events + b"data: [DONE]\n\n")
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
    # Split mid-way, so the decoder must carry state from one chunk to the next.
    scripted_server.script(Reply(headers=headers, chunks=[packed[:20], packed[20:]]))

    async def main() -> list[str]:
        async with (
            aiohttp.ClientSession(**session_kwargs) as session,
            AsyncBabyAPI(
                api_key=API_KEY, base_url=scripted_server.base_url, http_client=session
            ) as client,
        ):
            stream = client.chat.completions.stream(model="m", messages=MESSAGES)
            return [text async for text in stream.text_deltas()]

    assert asyncio.run(main()) == ["Hel", "lo"]


def test_a_raise_for_status_session_gets_the_sdks_typed_error_after_one_request(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Reply.json({"error": {"message": "bad key"}}, status=401))
    result, error = on_users_session(scripted_server.base_url, {"raise_for_status": True})
    assert result == ("AuthenticationError", None, 401)
    assert error.message == "bad key"
    assert error.attempts == 1
    assert len(scripted_server.requests) == 1


def test_a_raise_for_status_session_still_retries_what_the_sdk_retries(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(Reply.json({"error": {"message": "busy"}}, status=503), OK)
    result, _ = on_users_session(
        scripted_server.base_url, {"raise_for_status": True}, retry_base_delay_s=0.01
    )
    assert result == ("ok", None, None)
    assert len(scripted_server.requests) == 2


def test_a_users_session_that_follows_redirects_still_gets_the_sdks_redirect_error(
    scripted_server: ScriptedServer,
) -> None:
    # A redirect would carry the API key to wherever it points: the SDK never follows one.
    moved = f"{scripted_server.base_url}/elsewhere"
    scripted_server.script(Reply(status=307, headers={"location": moved}), OK)
    result, _ = on_users_session(scripted_server.base_url, {}, max_retries=0)
    assert result == ("APIStatusError", "REDIRECT", 307)
    assert len(scripted_server.requests) == 1


def test_a_users_session_cannot_follow_a_new_loop(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK)
    first_loop = asyncio.new_event_loop()

    async def make() -> tuple[AsyncBabyAPI, aiohttp.ClientSession]:
        session = aiohttp.ClientSession()
        client = AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, http_client=session
        )
        await client.models.list()
        return client, session

    try:
        client, session = first_loop.run_until_complete(make())
        with pytest.raises(BabyAPIError) as info:
            asyncio.run(client.models.list())
        first_loop.run_until_complete(session.close())
    finally:
        first_loop.close()
    assert info.value.code == "EVENT_LOOP_CHANGED"
    assert "inside the loop" in info.value.message
    assert len(scripted_server.requests) == 1


def unclosed_reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    gc.collect()
    return [r.getMessage() for r in caplog.records if "Unclosed" in r.getMessage()]


def test_successive_asyncio_runs_get_fresh_sessions_and_no_unclosed_warnings(
    scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    scripted_server.script(OK)
    caplog.set_level(logging.ERROR, logger="asyncio")
    client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, transport="aiohttp")

    async def ask() -> str:
        res = await client.chat.completions.create(model="m", messages=MESSAGES)
        return res["choices"][0]["message"]["content"]

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        assert [asyncio.run(ask()) for _ in range(3)] == ["ok"] * 3
        asyncio.run(client.aclose())
        assert unclosed_reports(caplog) == []
    assert len({r.connection_id for r in scripted_server.requests}) == 3  # one pool per loop


def test_aclose_closes_our_session_and_later_calls_fail_as_on_httpx(
    scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    scripted_server.script(OK)
    caplog.set_level(logging.ERROR, logger="asyncio")

    async def after_close(transport: str) -> Outcome:
        client = AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, transport=transport
        )
        await client.models.list()
        await client.aclose()
        try:
            await client.models.list()
        except Exception as exc:
            return type(exc).__name__, getattr(exc, "code", None), None
        return "ok", None, None

    aiohttp_end = asyncio.run(after_close("aiohttp"))
    assert aiohttp_end == asyncio.run(after_close("httpx"))
    assert aiohttp_end[0] != "ok"
    assert unclosed_reports(caplog) == []
    assert scripted_server.wait_for_open_connections(0, timeout=5.0)


def test_a_closed_user_session_fails_as_a_closed_httpx_client_does(
    scripted_server: ScriptedServer,
) -> None:
    async def with_closed(kind: str) -> Outcome:
        http: Any = aiohttp.ClientSession() if kind == "aiohttp" else httpx.AsyncClient()
        await (http.close() if kind == "aiohttp" else http.aclose())
        client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, http_client=http)
        try:
            await client.models.list()
        except Exception as exc:
            return type(exc).__name__, getattr(exc, "code", None), None
        return "ok", None, None

    assert asyncio.run(with_closed("aiohttp")) == asyncio.run(with_closed("httpx"))
    assert scripted_server.requests == []


# Failures aiohttp meets in its own way ----------------------------------------------------------


def test_a_reply_that_is_not_http_is_the_same_error_on_both() -> None:
    with RawServer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as server:
        base_url = f"http://127.0.0.1:{server.port}"
        assert outcome("aiohttp", base_url) == outcome("httpx", base_url)
        assert outcome("aiohttp", base_url) == ("APIConnectionError", "CONNECTION_ERROR", None)


def test_https_to_a_plain_http_server_is_the_same_error_on_both() -> None:
    answer = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
    with RawServer(answer, at_once=True) as server:
        base_url = f"https://127.0.0.1:{server.port}"
        assert outcome("aiohttp", base_url) == outcome("httpx", base_url)
        assert outcome("aiohttp", base_url) == ("APIConnectionError", "CONNECTION_ERROR", None)


def test_an_untrusted_certificate_is_the_same_error_on_both(
    tls_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    base_url = f"https://127.0.0.1:{tls_server.port}"
    assert outcome("aiohttp", base_url) == outcome("httpx", base_url)
    assert outcome("aiohttp", base_url) == ("APIConnectionError", "CONNECTION_ERROR", None)


def test_ssl_cert_file_from_the_environment_is_trusted_on_both(
    tls_server: RawServer, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    base_url = f"https://127.0.0.1:{tls_server.port}"
    assert outcome("aiohttp", base_url) == outcome("httpx", base_url) == ("ok", None, None)


# Proxies from the environment ----------------------------------------------------------------


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_http_proxy_from_the_environment_carries_the_calls(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch, transport: str
) -> None:
    no_env_proxies.setenv("HTTP_PROXY", scripted_server.base_url)
    scripted_server.script(OK)
    # The proxy (our server on 127.0.0.1) answers; nothing goes to api.example.test.
    assert outcome(transport, "http://api.example.test") == ("ok", None, None)
    assert scripted_server.requests[0].path == "http://api.example.test/v1/chat/completions"


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_no_proxy_from_the_environment_is_honoured(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch, transport: str
) -> None:
    with RawServer(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n") as proxy:
        no_env_proxies.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        no_env_proxies.setenv("NO_PROXY", "127.0.0.1")
        scripted_server.script(OK)
        assert outcome(transport, scripted_server.base_url) == ("ok", None, None)
    assert scripted_server.requests[0].path == "/v1/chat/completions"


def test_a_socks_proxy_keeps_auto_on_httpx_and_aiohttp_says_why(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    no_env_proxies.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    no_env_proxies.setenv("NO_PROXY", "127.0.0.1")
    client = AsyncBabyAPI(api_key=API_KEY, base_url="http://api.example.test")
    assert client.transport == "httpx"
    name, code, _ = outcome("aiohttp", "http://api.example.test")
    assert (name, code) == ("InvalidArgumentError", "INVALID_OPTIONS")
    assert scripted_server.requests == []
