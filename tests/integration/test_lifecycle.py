"""Clients across a process's life: fork, pickle, close, copies that share a pool, new loops."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Callable, Optional

import httpx
import pytest

import babyapi
from babyapi import AsyncBabyAPI, BabyAPI, BabyAPIError
from babyapi._transports import Transport
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

OK = Reply.json({"object": "list", "data": []})
ANSWER = Reply.json({"id": "c", "object": "text_completion", "choices": [{"text": "hi"}]})
STREAM = Reply.sse([{"choices": [{"index": 0, "text": "hi"}]}])

# Far beyond what one call to a local server takes, and within pytest's own 60 s per test.
_CHILD_LIMIT_S = 30
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
# The scripted server's threads are idle while a test forks; Python 3.12+ warns regardless.
fork_with_threads = pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")


@pytest.fixture
def unraisable() -> Iterator[list[str]]:
    """What __del__ methods and finalizers failed with (a ResourceWarning turned error lands here)."""
    seen: list[str] = []
    gc.collect()  # what earlier tests left behind is theirs, not this test's
    previous = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(f"{u.exc_type.__name__}: {u.exc_value}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            yield seen
            gc.collect()
    finally:
        sys.unraisablehook = previous


def in_child(work: Callable[[], object]) -> Optional[dict[str, str]]:
    """Run ``work`` in a forked child: None if it returned, else what it raised.

    The child reports the exception's class, code and message through a pipe, so the test
    asserts on them in the parent (an assert inside the child could only set an exit code).
    A child that hangs is ended after ``_CHILD_LIMIT_S`` by SIGALRM, which fails the test.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        report: dict[str, str] = {}
        try:
            # A child that hangs dies of SIGALRM; pytest-timeout's handler is the parent's.
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(_CHILD_LIMIT_S)
            work()
        except BaseException as error:  # everything, so the parent learns what it was
            report = {
                "type": type(error).__name__,
                "code": str(getattr(error, "code", "")),
                "message": str(getattr(error, "message", error)),
            }
        finally:
            os.write(write_end, json.dumps(report).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        sent = pipe.read()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code == 0, f"the child did not finish (exit code {code}: killed by signal {-code}?)"
    report = json.loads(sent)
    return report or None


# ------------------------------------------------------------------------ fork


@needs_fork
@fork_with_threads
@pytest.mark.parametrize("transport", ["httpx", "stdlib"])
def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents(
    scripted_server: ScriptedServer, transport: Transport
) -> None:
    scripted_server.script(OK)
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, transport=transport) as client:
        client.models.list()
        assert in_child(client.models.list) is None
        client.models.list()
    parent, child, parent_again = (r.client_port for r in scripted_server.requests)
    assert child != parent
    assert parent_again == parent  # the parent's keep-alive connection survived the child


@needs_fork
@fork_with_threads
def test_a_forked_async_child_opens_its_own_connection_even_in_the_inherited_loop(
    scripted_server: ScriptedServer,
) -> None:
    scripted_server.script(OK)
    loop = asyncio.new_event_loop()
    client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
    try:
        loop.run_until_complete(client.models.list())
        assert in_child(lambda: loop.run_until_complete(client.models.list())) is None
        loop.run_until_complete(client.models.list())
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    parent, child, parent_again = (r.client_port for r in scripted_server.requests)
    assert child != parent
    assert parent_again == parent


@needs_fork
@fork_with_threads
def test_a_forked_child_refuses_the_users_own_http_client(scripted_server: ScriptedServer) -> None:
    scripted_server.script(OK)
    with httpx.Client() as own:
        client = BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, http_client=own)
        client.models.list()
        error = in_child(client.models.list)
        client.models.list()
    assert error is not None
    assert (error["type"], error["code"]) == ("BabyAPIError", "PROCESS_FORKED")
    assert "create the client and its http_client in the child" in error["message"]
    assert len(scripted_server.requests) == 2  # the child sent nothing


@needs_fork
@fork_with_threads
def test_a_fork_while_another_thread_builds_the_pool_leaves_the_child_working(
    scripted_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's lock is held while the httpx client is built; a child must not inherit it held."""
    scripted_server.script(OK)
    parent = os.getpid()
    building, release = threading.Event(), threading.Event()
    build = httpx.Client.__init__

    def slow_build(self: httpx.Client, *args: Any, **kwargs: Any) -> None:
        if os.getpid() == parent:  # only the parent's build waits, holding the pool's lock
            building.set()
            release.wait(_CHILD_LIMIT_S)
        build(self, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "__init__", slow_build)
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, transport="httpx") as client:
        first = threading.Thread(target=client.models.list)
        first.start()
        try:
            assert building.wait(_CHILD_LIMIT_S)
            error = in_child(client.models.list)
        finally:
            release.set()
            first.join(_CHILD_LIMIT_S)
    assert error is None
    assert len(scripted_server.requests) == 2  # the child's call and the thread's


# ---------------------------------------------------------------------- pickle


def test_both_clients_and_their_copies_pickle_to_working_clients(driver: Driver) -> None:
    driver.server.script(OK)
    client = driver.make(default_model="mistral", default_headers={"x-app": "a"}, deadline_s=30)
    driver.call(lambda c: c.models.list(), client)  # a live pool must not get in the way
    copy = client.with_options(timeout_s=5.0, max_retries=0)
    for original in (client, copy):
        revived = pickle.loads(pickle.dumps(original))
        assert type(revived) is type(original)
        assert revived._config == original._config
        assert revived._pool is not original._pool
        driver._clients.append(revived)
        driver.call(lambda c: c.models.list(), revived)
    sent = driver.server.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"  # the key travels with it
    assert sent.headers["x-app"] == "a"


def test_a_client_with_the_users_http_client_refuses_to_pickle() -> None:
    with httpx.Client() as own:
        client = BabyAPI(api_key=API_KEY, base_url="http://127.0.0.1:9", http_client=own)
        with pytest.raises(BabyAPIError) as info:
            pickle.dumps(client)
        with pytest.raises(BabyAPIError):
            pickle.dumps(client.with_options(max_retries=0))
    assert info.value.code == "NOT_PICKLABLE"
    assert "http_client" in info.value.message and API_KEY not in str(info.value)


def _error_classes(root: type[BabyAPIError]) -> Iterator[type[BabyAPIError]]:
    yield root
    for sub in root.__subclasses__():
        yield from _error_classes(sub)


def test_every_error_class_pickles_with_its_fields() -> None:
    classes = set(_error_classes(BabyAPIError))
    assert {babyapi.RateLimitError, babyapi.APITimeoutError} <= classes
    for cls in classes:
        error = cls(  # type: ignore[call-arg]
            "went wrong", status=503, code="X", request_id="req-1", details={"error": "e"}
        )
        error.partial = {"choices": []}
        error.attempts = 3
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is cls
        assert (back.message, back.status, back.code, back.request_id, back.details) == (
            "went wrong",
            503,
            "X",
            "req-1",
            {"error": "e"},
        )
        assert (back.partial, back.attempts, str(back)) == ({"choices": []}, 3, str(error))


# ----------------------------------------------------------------------- close


def test_a_call_after_close_is_client_closed_not_a_runtime_error(driver: Driver) -> None:
    driver.server.script(ANSWER)
    client = driver.make(default_model="mistral")
    driver.call(lambda c: c.completions.create(prompt="x"), client)
    driver.run(client.aclose()) if isinstance(client, AsyncBabyAPI) else client.close()
    for call in (
        lambda c: c.completions.create(prompt="x"),
        lambda c: c.models.list(),
        lambda c: c.with_options(max_retries=0).models.list(),
    ):
        with pytest.raises(BabyAPIError) as info:
            driver.call(call, client)
        assert info.value.code == "CLIENT_CLOSED"
        assert "closed" in info.value.message
    with pytest.raises(BabyAPIError) as info:
        driver.events(lambda c: c.completions.stream(prompt="x"), client)
    assert info.value.code == "CLIENT_CLOSED"
    assert len(driver.server.requests) == 1


def test_closing_a_copy_leaves_the_original_and_the_pool_working(driver: Driver) -> None:
    driver.server.script(OK)
    client = driver.make()
    copy, sibling = client.with_options(max_retries=0), client.with_options(timeout_s=5.0)
    driver.call(lambda c: c.models.list(), copy)
    driver.run(copy.aclose()) if isinstance(copy, AsyncBabyAPI) else copy.close()
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.models.list(), copy)
    assert info.value.code == "CLIENT_CLOSED"
    driver.call(lambda c: c.models.list(), client)
    driver.call(lambda c: c.models.list(), sibling)
    assert driver.server.total_connections == 1  # one pool, still open, still shared
    assert driver.server.open_connections == 1


def test_closing_the_original_closes_the_pool_for_every_copy(driver: Driver) -> None:
    driver.server.script(OK)
    client = driver.make()
    copy = client.with_options(max_retries=0)
    driver.call(lambda c: c.models.list(), copy)
    driver.run(client.aclose()) if isinstance(client, AsyncBabyAPI) else client.close()
    assert driver.server.wait_for_open_connections(0)
    with pytest.raises(BabyAPIError) as info:
        driver.call(lambda c: c.models.list(), copy)
    assert info.value.code == "CLIENT_CLOSED"
    assert "copied from" in info.value.message


def test_a_closed_user_http_client_is_client_closed(scripted_server: ScriptedServer) -> None:
    own = httpx.Client()
    client = BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, http_client=own)
    own.close()
    with pytest.raises(BabyAPIError) as info:
        client.models.list()
    assert info.value.code == "CLIENT_CLOSED"
    assert "http_client you passed in was closed" in info.value.message


def test_a_client_never_closed_releases_its_pool_when_dropped(
    scripted_server: ScriptedServer, unraisable: list[str]
) -> None:
    scripted_server.script(OK)
    client = BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
    copy = client.with_options(max_retries=0)
    client.models.list()
    del client
    gc.collect()
    copy.models.list()  # the copy still holds the pool
    assert scripted_server.total_connections == 1
    del copy
    gc.collect()
    assert scripted_server.wait_for_open_connections(0)
    assert unraisable == []


def test_an_async_client_dropped_in_its_loop_releases_its_pool(
    scripted_server: ScriptedServer, unraisable: list[str]
) -> None:
    scripted_server.script(OK)

    async def main() -> None:
        client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
        await client.models.list()
        del client
        gc.collect()
        for _ in range(5):  # the loop closes the pool in a task of its own
            await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
        assert scripted_server.wait_for_open_connections(0)
    finally:
        loop.close()
    assert unraisable == []


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_new_event_loop_releases_the_old_pool_without_warnings(
    scripted_server: ScriptedServer, unraisable: list[str], backend: str
) -> None:
    import anyio

    scripted_server.script(OK)
    client = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)

    async def main() -> Any:
        return await client.models.list()

    anyio.run(main, backend=backend)
    assert scripted_server.wait_for_open_connections(0)  # closed as the first loop ended
    anyio.run(main, backend=backend)
    anyio.run(client.aclose, backend=backend)
    gc.collect()
    assert scripted_server.total_connections == 2
    assert scripted_server.wait_for_open_connections(0)
    assert unraisable == []


def test_documented_ways_of_closing_leave_no_resource_warning(
    scripted_server: ScriptedServer, unraisable: list[str]
) -> None:
    scripted_server.script(OK)
    with BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
        client.with_options(max_retries=0).models.list()
    plain = BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
    plain.models.list()
    plain.close()

    async def main() -> None:
        async with AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
            await client.with_options(max_retries=0).models.list()
        other = AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
        await other.models.list()
        await other.close()

    asyncio.run(main())
    del client, plain
    gc.collect()
    assert scripted_server.wait_for_open_connections(0)
    assert unraisable == []


# ---------------------------------------------------------------------- memory


def test_a_finished_call_leaves_nothing_for_the_garbage_collector(driver: Driver) -> None:
    # A response left in a reference cycle is freed only by the cyclic collector, and one it
    # finds still in use is kept until a full collection: memory that grows over a long run.
    driver.server.script(OK, ANSWER)
    client = driver.make(default_model="m", max_retries=0)
    driver.call(lambda c: c.models.list(), client)  # opens the pool and the connection
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            driver.call(lambda c: c.completions.create(prompt="x"), client)
        gc.collect()
        left = [type(o) for o in gc.garbage if isinstance(o, (httpx.Response, httpx.Request))]
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()
    assert left == []
