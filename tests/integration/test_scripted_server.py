"""Self-tests for tests/scripted_server.py, driven with plain httpx."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]


@pytest.fixture
def client(scripted_server: ScriptedServer) -> Iterator[httpx.Client]:
    # verify=False skips loading the CA bundle (~0.3 s per Client); it is plain HTTP.
    with httpx.Client(base_url=scripted_server.base_url, verify=False) as c:
        yield c


def test_default_reply_is_ok_json(client: httpx.Client) -> None:
    resp = client.get("/v1/models")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"ok": True}


def test_json_reply_and_recorded_request(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    scripted_server.script(Reply.json({"id": "c1"}, status=201, headers={"x-request-id": "r1"}))
    resp = client.post(
        "/v1/chat/completions?stream=false&a=",
        json={"model": "m", "messages": []},
        headers={"Authorization": "Bearer sk-test", "X-Custom": "1"},
    )
    assert resp.status_code == 201
    assert resp.headers["x-request-id"] == "r1"
    assert resp.json() == {"id": "c1"}

    [rec] = scripted_server.requests
    assert rec.method == "POST"
    assert rec.path == "/v1/chat/completions?stream=false&a="
    assert rec.url_path == "/v1/chat/completions"
    assert rec.query == {"stream": ["false"], "a": [""]}
    assert rec.headers["authorization"] == "Bearer sk-test"
    assert rec.headers["AUTHORIZATION"] == "Bearer sk-test"  # case-insensitive
    assert "x-custom" in rec.headers and "X-Custom" in rec.headers
    assert ("X-Custom", "1") in rec.headers.raw  # original spelling and order kept
    assert rec.headers["content-length"] == str(len(rec.body))
    assert rec.json() == {"model": "m", "messages": []}


def test_body_types_and_chunked_request_body(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    scripted_server.script(Reply(body=[1, 2]), Reply(body="hé", status=418))
    first = client.post("/a", content=iter([b"ab", b"cd"]))  # chunked upload
    second = client.get("/b")
    assert first.json() == [1, 2]
    assert first.headers["content-type"] == "application/json"
    assert (second.status_code, second.text) == (418, "hé")
    assert scripted_server.requests[0].body == b"abcd"


def test_queue_consumed_in_order_last_repeats(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    scripted_server.script(Reply.json(1), Reply.json(2), Reply.api_error(429, "slow down"))
    got = [client.get(f"/{i}") for i in range(4)]
    assert [r.status_code for r in got] == [200, 200, 429, 429]
    assert [r.json() for r in got[:2]] == [1, 2]
    assert got[3].json()["error"]["message"] == "slow down"
    assert [r.path for r in scripted_server.requests] == ["/0", "/1", "/2", "/3"]

    scripted_server.reset()
    assert scripted_server.requests == []
    assert client.get("/").json() == {"ok": True}


def test_handler(scripted_server: ScriptedServer, client: httpx.Client) -> None:
    scripted_server.set_handler(lambda rec: Reply.json({"echo": rec.path}))
    assert client.get("/x?y=1").json() == {"echo": "/x?y=1"}

    def boom(rec: object) -> Reply:
        raise ValueError("nope")

    scripted_server.set_handler(boom)
    assert client.get("/").status_code == 500
    assert "ValueError: nope" in scripted_server.errors[0]


def test_delay(scripted_server: ScriptedServer, client: httpx.Client) -> None:
    # A lower bound on time holds on any machine; the timeout waits for a reply 30 s away.
    scripted_server.script(Reply.json({}, delay_s=0.2), Reply.json({}, delay_s=30.0))
    start = time.monotonic()
    client.get("/")
    assert time.monotonic() - start >= 0.19
    with pytest.raises(httpx.ReadTimeout):
        client.get("/", timeout=0.5)


def test_sse_chunks_arrive_incrementally(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    events: list[str | bytes | dict[str, object]] = [{"n": 1}, "two\nlines", b": comment\n\n"]
    framed = [b'data: {"n": 1}\n\n', b"data: two\ndata: lines\n\n", b": comment\n\n"]
    scripted_server.script(Reply.sse(events, chunk_delay_s=0.1))
    with client.stream("GET", "/") as resp:
        assert resp.headers["content-type"] == "text/event-stream"
        assert resp.headers["transfer-encoding"] == "chunked"
        start = time.monotonic()
        received = b"".join(resp.iter_raw())  # a busy reader may get chunks merged
    assert received == b"".join([*framed, b"data: [DONE]\n\n"])
    assert time.monotonic() - start >= 0.25  # the delays were kept: a lower bound holds anywhere
    # Not held back until the end: the events arrive while the server still holds the stream
    # open for 30 s.
    scripted_server.script(Reply.sse(events, done=False, hang_after_chunks_s=30.0))
    with client.stream("GET", "/") as resp:
        start = time.monotonic()
        got = b""
        for chunk in resp.iter_raw():
            got += chunk
            if got == b"".join(framed):
                break
        assert got == b"".join(framed)
        assert time.monotonic() - start < 15.0


@pytest.mark.parametrize(
    "reply",
    [
        Reply.json({"x": 1}, drop="before_headers"),
        Reply.json({"x": 1}, drop="after_headers"),
        Reply.sse([{"x": 1}], drop="after_headers"),
        Reply.sse([{"x": 1}, {"x": 2}], drop="mid_chunks"),
    ],
    ids=["before_headers", "after_headers", "after_headers_chunked", "mid_chunks"],
)
def test_drop_modes_raise_protocol_error(
    scripted_server: ScriptedServer, client: httpx.Client, reply: Reply
) -> None:
    scripted_server.script(reply)
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/")
    assert scripted_server.wait_for_open_connections(0)


def test_mid_chunks_delivers_chunks_before_failing(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    scripted_server.script(Reply.sse([{"x": 1}], done=False, drop="mid_chunks"))
    seen: list[bytes] = []
    with pytest.raises(httpx.RemoteProtocolError), client.stream("GET", "/") as r:
        seen.extend(r.iter_raw())
    assert seen == [b'data: {"x": 1}\n\n']


def test_hang_triggers_read_timeout(scripted_server: ScriptedServer, client: httpx.Client) -> None:
    scripted_server.script(Reply.sse([{"x": 1}], hang_after_chunks_s=5))
    with pytest.raises(httpx.ReadTimeout), client.stream("GET", "/", timeout=0.2) as r:
        for _ in r.iter_raw():
            pass
    # The server notices the client hanging up long before the 5 s hang ends.
    assert scripted_server.wait_for_open_connections(0, timeout=1)


def test_breaking_out_of_stream_closes_connection(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    scripted_server.script(Reply.sse([{"x": 1}, {"x": 2}], hang_after_chunks_s=5))
    with client.stream("GET", "/") as r:
        for _line in r.iter_lines():
            assert scripted_server.open_connections == 1
            break
    # Leaving a stream early must close (not pool) the half-read connection.
    assert scripted_server.wait_for_open_connections(0, timeout=1)


def test_keep_alive_reuses_connection(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    scripted_server.script(Reply.json(1), Reply.sse(["a"]), Reply.text("t"))
    for path in ("/1", "/2", "/3"):
        assert client.get(path).status_code == 200
    assert scripted_server.open_connections == 1
    assert {r.connection_id for r in scripted_server.requests} == {0}
    assert scripted_server.total_connections == 1
    client.close()
    assert scripted_server.wait_for_open_connections(0)


def test_concurrency_and_connection_close(
    scripted_server: ScriptedServer, client: httpx.Client
) -> None:
    # Each reply waits until all five requests are in: a server that served them one at a
    # time would never see the second while the first waits, whatever the machine's speed.
    release = threading.Event()

    def reply_when_released(request: object) -> Reply:
        release.wait(30)
        return Reply.json({})

    scripted_server.set_handler(reply_when_released)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(client.get("/", timeout=60).status_code))
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    try:
        assert len(scripted_server.wait_for_requests(5, timeout=20)) == 5  # all in at once
    finally:
        release.set()
        for t in threads:
            t.join()
    assert results == [200] * 5
    assert scripted_server.total_connections == 5

    scripted_server.reset()
    resp = client.get("/", headers={"Connection": "close"})
    assert resp.headers["connection"] == "close"
    client.close()
    assert scripted_server.wait_for_open_connections(0)


def test_stop_aborts_hanging_reply_promptly() -> None:
    server = ScriptedServer().start()
    server.script(Reply.sse([{"x": 1}], hang_after_chunks_s=30))
    sock = socket.create_connection(("127.0.0.1", server.port))
    idle = socket.create_connection(("127.0.0.1", server.port))  # never sends anything
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        server.wait_for_requests(1)
        assert server.wait_for_open_connections(2)
        start = time.monotonic()
        server.stop()
        assert time.monotonic() - start < 10.0  # the reply would hang for 30 s
        assert server.open_connections == 0
        assert not [t for t in threading.enumerate() if t.name.startswith("scripted-server")]
    finally:
        sock.close()
        idle.close()
