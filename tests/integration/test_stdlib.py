"""The standard-library transport (``BabyAPI(transport="stdlib")``): what only it can show.

Everything the transports share runs in the driver-based tests (kind ``stdlib``); this file
holds its own pool (keep-alive, expiry, stale sockets, limits, threads, fork, close), its
proxies and TLS, and the failures it meets in its own way, each compared against httpx's.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import socket
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import babyapi._stdlib as stdlib
from babyapi import APITimeoutError, AsyncBabyAPI, BabyAPI, BabyAPIError
from drivers import API_KEY  # pyright: ignore[reportImplicitRelativeImport]
from raw_server import OK_BYTES, RawServer  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hi"}]
ANSWER = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}]}
OK = Reply.json(ANSWER)
Outcome = tuple[str, Optional[str], Optional[int], Optional[str]]
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")


def client(base_url: str, **kwargs: Any) -> BabyAPI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout_s", 10.0)
    return BabyAPI(api_key=API_KEY, base_url=base_url, transport="stdlib", **kwargs)


def chat(c: BabyAPI) -> str:
    return str(
        c.chat.completions.create(model="m", messages=MESSAGES)["choices"][0]["message"]["content"]
    )


def outcome(transport: str, base_url: str, **kwargs: Any) -> Outcome:
    """What one chat call ends in: ("ok", ...) or the error's class, code, status and failure kind."""
    kwargs.setdefault("timeout_s", 10.0)
    with BabyAPI(
        api_key=API_KEY, base_url=base_url, max_retries=0, transport=transport, **kwargs
    ) as c:
        try:
            return chat(c), None, None, None
        except BabyAPIError as exc:
            assert API_KEY not in str(exc) and API_KEY not in repr(exc)
            return type(exc).__name__, exc.code, exc.status, getattr(exc, "failure", None)


def same_on_both(base_url: str, **kwargs: Any) -> Outcome:
    """The outcome on the standard library, checked to be httpx's."""
    mine = outcome("stdlib", base_url, **kwargs)
    assert mine == outcome("httpx", base_url, **kwargs)
    return mine


# Choosing it ---------------------------------------------------------------------------------


def test_the_sync_client_tells_which_transport_it_uses(scripted_server: ScriptedServer) -> None:
    import httpx

    with client(scripted_server.base_url) as c:
        assert c.transport == "stdlib"
        assert c.with_options(max_retries=1).transport == "stdlib"
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, transport="httpx") as c:
        assert c.transport == "httpx"
    with httpx.Client() as http, BabyAPI(api_key=API_KEY, http_client=http) as c:
        assert c.transport == "httpx"  # the user's own httpx client wins


def test_auto_is_the_standard_library_unless_a_proxy_needs_httpx(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    scripted_server.script(OK)
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as c:
        assert c.transport == "stdlib"
        assert chat(c) == "ok"
        assert isinstance(c._pool.current(), stdlib.StdlibTransport)
    no_env_proxies.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    no_env_proxies.setenv("NO_PROXY", "127.0.0.1")
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as c:
        assert c.transport == "httpx"  # socks: only httpx speaks it (with httpx[socks])


def test_stdlib_with_an_httpx_client_or_on_the_async_client_is_refused() -> None:
    import httpx

    from babyapi import AsyncBabyAPI, InvalidArgumentError

    with httpx.Client() as http, pytest.raises(InvalidArgumentError, match="transport='httpx'"):
        BabyAPI(api_key=API_KEY, http_client=http, transport="stdlib")
    with pytest.raises(InvalidArgumentError, match="BabyAPI's"):
        AsyncBabyAPI(api_key=API_KEY, transport="stdlib")  # type: ignore[arg-type]


def test_a_pickled_client_keeps_its_transport(scripted_server: ScriptedServer) -> None:
    import pickle

    scripted_server.script(OK)
    with client(scripted_server.base_url) as c, pickle.loads(pickle.dumps(c)) as copy:
        assert copy.transport == "stdlib"
        assert chat(copy) == "ok"


# The pool ------------------------------------------------------------------------------------


def test_calls_reuse_one_keep_alive_connection(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK, OK, OK)
    with client(scripted_server.base_url) as c:
        assert [chat(c) for _ in range(3)] == ["ok"] * 3
    assert len({r.connection_id for r in scripted_server.requests}) == 1


def test_an_answer_with_connection_close_is_not_pooled(scripted_server: ScriptedServer) -> None:
    closing = Reply.json(ANSWER, headers={"connection": "close"})
    scripted_server.script(closing, OK)
    with client(scripted_server.base_url) as c:
        assert chat(c) == chat(c) == "ok"
    first, second = (r.connection_id for r in scripted_server.requests)
    assert first != second


def test_a_connection_the_server_closed_while_idle_is_replaced_without_failing() -> None:
    # The server answers as keep-alive, then closes: the pooled socket is dead when reused.
    with RawServer(OK_BYTES) as server, client(f"http://127.0.0.1:{server.port}") as c:
        assert chat(c) == "ok"
        assert server.closed_one.wait(10)
        assert chat(c) == "ok"  # max_retries=0: no retry could have hidden a failure
        assert server.accepted == 2


@pytest.mark.parametrize(
    ("limit", "value", "pause_s"),
    [
        ("KEEPALIVE_S", 0.05, 0.2),  # idle past the keep-alive (an ordering, not a bound)
        ("MAX_IDLE_CONNECTIONS", 0, 0.0),  # no idle connection may be kept at all
    ],
)
def test_a_connection_past_the_pool_limits_is_not_reused(
    scripted_server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    limit: str,
    value: float,
    pause_s: float,
) -> None:
    monkeypatch.setattr(stdlib, limit, value)
    scripted_server.script(OK, OK)
    with client(scripted_server.base_url) as c:
        chat(c)
        time.sleep(pause_s)
        chat(c)
    first, second = (r.connection_id for r in scripted_server.requests)
    assert first != second


def test_a_call_waiting_for_a_full_pool_is_a_pool_timeout(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stdlib, "MAX_CONNECTIONS", 1)
    scripted_server.script(Reply.sse([b'{"choices":[]}'] * 2), OK)
    with client(scripted_server.base_url, timeout_s=0.5) as c:
        stream = c.chat.completions.stream(model="m", messages=MESSAGES)  # holds the one slot
        with pytest.raises(APITimeoutError) as info:
            chat(c)
        assert info.value.failure == "pool_timeout"
        stream.close()  # the slot comes free
        assert chat(c) == "ok"


@pytest.mark.parametrize("transport", ["httpx", "stdlib"])
def test_cookies_a_server_sets_go_back_to_it(
    scripted_server: ScriptedServer, transport: str
) -> None:
    sticky = Reply.json(ANSWER, headers={"set-cookie": "lb=node-2; Path=/"})
    scripted_server.script(OK, sticky, OK, OK)
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, transport=transport) as c:
        for _ in range(3):
            chat(c)
        c.chat.completions.create(
            model="m", messages=MESSAGES, request_options={"headers": {"cookie": "mine=1"}}
        )
    cookies = [r.headers.get("cookie") for r in scripted_server.requests]
    assert cookies == [None, None, "lb=node-2", "mine=1"]


def test_many_threads_share_one_client(scripted_server: ScriptedServer) -> None:
    threads, calls = 8, 5
    scripted_server.script(*[OK] * (threads * calls))
    results: list[str] = []
    with client(scripted_server.base_url) as c:

        def work() -> None:
            for _ in range(calls):
                results.append(chat(c))

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    assert results == ["ok"] * (threads * calls)
    assert scripted_server.total_connections <= threads


def test_close_closes_every_connection(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Reply.sse([b'{"choices":[]}']), OK)
    c = client(scripted_server.base_url)
    stream = c.chat.completions.stream(model="m", messages=MESSAGES)  # one busy socket
    chat(c)  # and one idle
    assert scripted_server.wait_for_open_connections(2, timeout=10)
    c.close()
    assert scripted_server.wait_for_open_connections(0, timeout=10)
    stream.close()


@needs_fork
@pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")
def test_a_forked_child_never_sends_on_the_parents_socket(scripted_server: ScriptedServer) -> None:
    """The transport itself checks the process, whatever holds it (the client's pool does too)."""
    scripted_server.script(OK, OK, OK)
    with client(scripted_server.base_url) as c:
        chat(c)
        transport = c._pool.current()
        assert isinstance(transport, stdlib.StdlibTransport)
        call = c._api.prepare("/v1/chat/completions", {"model": "m", "messages": MESSAGES})
        pid = os.fork()
        if pid == 0:  # the child: send on the inherited transport directly, then leave
            code = 1
            try:
                answer = transport.send(call.request(0, None), stream=False)
                code = 0 if answer.status_code == 200 else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        chat(c)
    parent, child, parent_again = (r.client_port for r in scripted_server.requests)
    assert child != parent
    assert parent_again == parent  # the parent's connection survived the child


# Bodies --------------------------------------------------------------------------------------


def _encoded(reply: Reply, encoding: str, pack: Any) -> Reply:
    return Reply(reply.status, {**reply.headers, "content-encoding": encoding}, pack(reply.body))


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", _raw_deflate)],
)
def test_compressed_answers_are_decoded(
    scripted_server: ScriptedServer, encoding: str, pack: Any
) -> None:
    scripted_server.script(_encoded(OK, encoding, pack))
    with client(scripted_server.base_url) as c:
        assert chat(c) == "ok"
    assert scripted_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_a_gzipped_stream_is_decoded(scripted_server: ScriptedServer) -> None:
    events = b"".join(
        b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % part
        for part in (b"Hel", b"lo")
    )
    packed = gzip.compress(events + b"data: [DONE]\n\n")
    scripted_server.script(
        Reply(
            headers={"content-type": "text/event-stream", "content-encoding": "gzip"},
            chunks=[packed[:20], packed[20:]],
        )
    )
    with client(scripted_server.base_url) as c:
        stream = c.chat.completions.stream(model="m", messages=MESSAGES)
        assert "".join(stream.text_deltas()) == "Hello"


def test_a_bad_gzip_body_is_a_decode_failure_as_on_httpx(scripted_server: ScriptedServer) -> None:
    bad = Reply(200, {"content-type": "application/json", "content-encoding": "gzip"}, b"not gzip")
    scripted_server.script(bad, bad)
    assert same_on_both(scripted_server.base_url)[3] == "decode"


def test_a_head_request_has_no_body(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Reply(200, {"content-length": "12"}), OK)
    with client(scripted_server.base_url) as c:
        answer = c._api.send_raw(c._api.prepare("/health", method="HEAD"))
        assert (answer.status, answer.content) == (200, b"")
        assert chat(c) == "ok"  # the connection was left clean for the next call


def test_an_error_answer_reads_as_an_httpx_response(scripted_server: ScriptedServer) -> None:
    import httpx

    scripted_server.script(
        Reply.json({"error": {"message": "no"}}, 400, headers={"x-thing": "yes"})
    )
    with client(scripted_server.base_url) as c, pytest.raises(BabyAPIError) as info:
        chat(c)
    response = info.value.response
    assert response is not None
    assert response.status_code == 400
    assert response.headers["X-Thing"] == "yes"
    assert isinstance(response.headers, httpx.Headers)
    assert response.json() == {"error": {"message": "no"}}
    assert "no" in response.text
    assert isinstance(response.request, httpx.Request)
    assert response.request.url.path == "/v1/chat/completions"
    assert API_KEY not in repr(response) and API_KEY not in repr(response.request)


# Failures met in its own way -----------------------------------------------------------------


def test_a_reply_that_is_not_http_is_the_same_error_as_on_httpx() -> None:
    with RawServer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as server:
        assert same_on_both(f"http://127.0.0.1:{server.port}")[:2] == (
            "APIConnectionError",
            "CONNECTION_ERROR",
        )


def test_a_cut_body_is_the_same_error_as_on_httpx() -> None:
    cut = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"
    with RawServer(cut) as server:
        assert same_on_both(f"http://127.0.0.1:{server.port}")[3] == "remote_closed"


def test_a_slow_answer_is_a_read_timeout_as_on_httpx(scripted_server: ScriptedServer) -> None:
    scripted_server.script(Reply.json({}, delay_s=3.0), Reply.json({}, delay_s=3.0))
    result = same_on_both(scripted_server.base_url, timeout_s=0.3)
    assert result[:1] == ("APITimeoutError",) and result[3] == "read_timeout"


def test_a_server_that_stops_reading_is_a_write_timeout_as_on_httpx() -> None:
    # Nobody accepts: the kernel takes the connection, and its buffers then fill up.
    with socket.create_server(("127.0.0.1", 0)) as listening:
        base_url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        big = [{"role": "user", "content": "x" * (32 << 20)}]  # more than loopback buffers hold
        seen = []
        for transport in ("stdlib", "httpx"):
            with BabyAPI(
                api_key=API_KEY,
                base_url=base_url,
                max_retries=0,
                timeout_s=0.5,
                transport=transport,
            ) as c:
                with pytest.raises(APITimeoutError) as info:
                    c.chat.completions.create(model="m", messages=big)
                seen.append(info.value.failure)
    assert seen == ["write_timeout", "write_timeout"]


def test_a_port_nobody_listens_on_is_the_same_error_as_on_httpx() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert same_on_both(f"http://127.0.0.1:{port}")[3] == "connect"


# TLS -----------------------------------------------------------------------------------------


def test_https_to_a_plain_http_server_is_the_same_error_as_on_httpx() -> None:
    answer = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
    with RawServer(answer, at_once=True) as server:
        assert same_on_both(f"https://127.0.0.1:{server.port}")[3] == "connect"


def test_an_untrusted_certificate_is_the_same_error_as_on_httpx(
    tls_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert same_on_both(f"https://127.0.0.1:{tls_server.port}")[3] == "connect"


def test_ssl_cert_file_from_the_environment_is_trusted(
    tls_server: RawServer, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    assert same_on_both(f"https://127.0.0.1:{tls_server.port}")[0] == "ok"


def test_ssl_cert_dir_from_the_environment_is_trusted(
    tls_server: RawServer, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    where = certificate[0].parent / "certs"
    where.mkdir(exist_ok=True)
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(certificate[0])],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    (where / f"{digest}.0").write_bytes(certificate[0].read_bytes())
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(where))
    assert same_on_both(f"https://127.0.0.1:{tls_server.port}")[0] == "ok"


# Proxies -------------------------------------------------------------------------------------


class TunnelProxy(RawServer):
    """An http:// proxy on 127.0.0.1 that tunnels CONNECT requests, or answers ``refuse``."""

    def __init__(self, refuse: Optional[bytes] = None) -> None:
        super().__init__(b"")
        self.refuse = refuse
        self.heads: list[bytes] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            more = conn.recv(4096)
            if not more:
                return
            head += more
        self.heads.append(head)
        if self.refuse is not None:
            conn.sendall(self.refuse)
            return
        host, _, port = head.split(b" ")[1].decode().rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5) as upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            pump = threading.Thread(target=_pipe, args=(upstream, conn), daemon=True)
            pump.start()
            _pipe(conn, upstream)
            pump.join(timeout=5)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def tunnel() -> Iterator[TunnelProxy]:
    with TunnelProxy() as proxy:
        yield proxy


def test_http_proxy_from_the_environment_carries_the_calls_with_its_credentials(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    proxy = scripted_server.base_url.replace("http://", "http://me:s%40cret@")
    no_env_proxies.setenv("HTTP_PROXY", proxy)
    scripted_server.script(OK)
    assert outcome("stdlib", "http://api.example.test")[0] == "ok"
    (request,) = scripted_server.requests
    assert request.path == "http://api.example.test/v1/chat/completions"
    assert request.headers["host"] == "api.example.test"
    assert request.headers["proxy-authorization"] == "Basic bWU6c0BjcmV0"  # me:s@cret


def test_no_proxy_from_the_environment_is_honoured(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    with RawServer(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n") as proxy:
        no_env_proxies.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        no_env_proxies.setenv("NO_PROXY", "127.0.0.1")
        scripted_server.script(OK)
        assert outcome("stdlib", scripted_server.base_url)[0] == "ok"
    assert scripted_server.requests[0].path == "/v1/chat/completions"


def test_https_goes_through_a_connect_tunnel_with_tls_to_the_server(
    tunnel: TunnelProxy,
    tls_server: RawServer,
    certificate: tuple[Path, Path],
    no_env_proxies: pytest.MonkeyPatch,
) -> None:
    no_env_proxies.setenv("HTTPS_PROXY", tunnel.url.replace("http://", "http://me:pw@"))
    no_env_proxies.setenv("SSL_CERT_FILE", str(certificate[0]))
    assert outcome("stdlib", f"https://127.0.0.1:{tls_server.port}")[0] == "ok"
    (head,) = tunnel.heads
    assert head.startswith(f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1\r\n".encode())
    assert b"Proxy-Authorization: Basic bWU6cHc=" in head


def test_a_proxy_refusing_the_tunnel_is_the_same_error_as_on_httpx(
    tls_server: RawServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    refusal = b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n"
    with TunnelProxy(refuse=refusal) as proxy:
        no_env_proxies.setenv("HTTPS_PROXY", proxy.url)
        assert same_on_both(f"https://127.0.0.1:{tls_server.port}")[3] == "proxy"


def test_a_socks_proxy_is_refused_with_advice(
    scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    no_env_proxies.setenv("ALL_PROXY", "socks5://me:secret@127.0.0.1:9")
    name, code, _, _ = outcome("stdlib", "http://api.example.test")
    assert (name, code) == ("InvalidArgumentError", "INVALID_OPTIONS")
    with pytest.raises(BabyAPIError) as info, client("http://api.example.test") as c:
        chat(c)
    assert "transport='httpx'" in info.value.message
    assert "secret" not in info.value.message
    assert scripted_server.requests == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_socks_proxy_without_socksio_is_a_clear_error(
    kind: str, scripted_server: ScriptedServer, no_env_proxies: pytest.MonkeyPatch
) -> None:
    """ "auto" hands a socks proxy to httpx, which needs the socks extra: say so, send nothing."""
    no_env_proxies.setenv("ALL_PROXY", "socks5://me:secret@127.0.0.1:9")
    no_env_proxies.setitem(sys.modules, "socksio", None)  # not installed, whatever this venv has

    async def async_chat() -> None:
        async with AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as c:
            await c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

    with pytest.raises(BabyAPIError) as info:
        if kind == "sync":
            with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as c:
                chat(c)
        else:
            asyncio.run(async_chat())
    assert info.value.code == "INVALID_OPTIONS"
    assert "babyapi[socks]" in info.value.message
    assert "secret" not in str(info.value)
    assert scripted_server.requests == []


def test_ssl_context_is_loaded_only_for_https(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK)
    with client(scripted_server.base_url) as c:
        chat(c)
        transport = c._pool.current()
        assert isinstance(transport, stdlib.StdlibTransport)
        assert transport._tls is None  # the certificate bundle was never loaded


# Whatever bytes come back ---------------------------------------------------------------------

STATUS_LINES = st.sampled_from(
    [
        b"HTTP/1.1 200 OK",
        b"HTTP/1.0 200 OK",
        b"HTTP/1.1 503 Busy",
        b"HTTP/1.1 429 ",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
        b"HTTP/2 200",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1 abc",
        b"garbage",
        b"",
    ]
)
HEADER_LINES = st.sampled_from(
    [
        b"content-length: 5",
        b"content-length: 100000",
        b"content-length: -1",
        b"content-length: x",
        b"transfer-encoding: chunked",
        b"content-encoding: gzip",
        b"content-encoding: deflate",
        b"content-encoding: br",
        b"content-type: application/json",
        b"content-type: text/event-stream",
        b"content-type: text/plain; charset=nope",
        b"connection: close",
        b"set-cookie: lb=1; Path=/",
        b"set-cookie: ;;==; expires=never",
        b"no colon here",
        b"x-odd: \xff\xfe",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=48),
    st.sampled_from(
        [
            b"{}",
            OK_BYTES.partition(b"\r\n\r\n")[2],
            gzip.compress(OK_BYTES.partition(b"\r\n\r\n")[2]),
            b"5\r\nhello\r\n0\r\n\r\n",
            b"zz\r\nhello\r\n",
            b'data: {"choices":[]}\n\ndata: [DONE]\n\n',
        ]
    ),
)


@pytest.fixture(scope="module")
def raw_server() -> Iterator[RawServer]:
    with RawServer(b"") as server:
        yield server


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=STATUS_LINES,
    headers=st.lists(HEADER_LINES, max_size=4),
    body=BODIES,
    streamed=st.booleans(),
)
def test_any_bytes_a_server_sends_give_a_result_or_a_babyapi_error(
    raw_server: RawServer, status: bytes, headers: list[bytes], body: bytes, streamed: bool
) -> None:
    raw_server.answer = status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body
    with client(f"http://127.0.0.1:{raw_server.port}", timeout_s=5.0) as c:
        try:
            if streamed:
                for _ in c.chat.completions.stream(model="m", messages=MESSAGES):
                    pass
            else:
                c.chat.completions.create(model="m", messages=MESSAGES)
        except BabyAPIError as exc:  # the only exception a user may see
            assert API_KEY not in str(exc)
