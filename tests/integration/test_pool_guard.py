"""A sync stream freed by the cycle collector while its thread holds httpcore's pool lock.

httpcore guards its sync pool with a plain lock. The collector runs finalizers at whatever
allocation triggers it, including one made while this thread holds that lock; a stream
finalized there that closed its response at once would wait on the lock forever
(``babyapi._pool_guard``). The drill in tests/drills/test_streams_released.py meets it by
chance over thousands of streams; here the collector runs exactly there, once.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

# Runs in a child: if the deadlock comes back, the child hangs and the timeout ends it.
CHILD = textwrap.dedent(
    """
    import gc, sys
    from httpcore._synchronization import ThreadLock
    from babyapi import BabyAPI

    class CollectWhileHeld(ThreadLock):
        armed = False

        def __enter__(self):
            super().__enter__()
            if CollectWhileHeld.armed:  # the collector picks this moment, lock held
                CollectWhileHeld.armed = False
                gc.collect()
            return self

    gc.disable()  # only the collection this test makes
    client = BabyAPI(api_key="k", base_url=sys.argv[1], max_retries=0, transport="httpx")
    client.models.list()  # the pool exists
    pool = client._pool.current().client._transport._pool
    pool._optional_thread_lock = CollectWhileHeld()

    stream = client.completions.stream(model="m", prompt="count")
    first = next(iter(stream))  # mid-body: closing it must give the connection back
    cycle = [stream]
    cycle.append(cycle)  # only the cycle collector can free it now
    del stream, cycle

    CollectWhileHeld.armed = True
    client.models.list()  # into the pool; the stream is finalized inside
    assert not CollectWhileHeld.armed, "the collection did not run inside the pool"
    assert len(pool.connections) == 1, "the dropped stream's connection was not closed"
    client.models.list()
    client.close()
    print("done", first.data)
    """
)


def test_a_stream_collected_inside_the_pool_closes_without_deadlock(
    scripted_server: ScriptedServer,
) -> None:
    stream = Reply.sse([{"choices": [{"text": "1"}]}] * 3, done=False, hang_after_chunks_s=30)

    def reply(request: object) -> Reply:
        path = getattr(request, "url_path", "")
        return stream if path.endswith("/completions") else Reply.json({"data": []})

    scripted_server.set_handler(reply)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, scripted_server.base_url],
        capture_output=True,
        text=True,
        timeout=30,  # a deadlock hangs forever; this is the test failing, not slow
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("done {'choices': [{'text': '1'}]}")
    # The stream's connection was closed before the last call: it was the only one to end.
    assert scripted_server.wait_for_open_connections(0, timeout=10)
