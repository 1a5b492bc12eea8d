"""Fork after use: a child and a 4-process pool each make 100 calls on the client they inherited.

The server here is the scripted one: it records which client port (which TCP connection)
carried each request, and the process id the request names, so "no shared socket" is seen
from the server's side of the wire.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import defaultdict
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest

from babyapi import BabyAPI
from scripted_server import Recorded, Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

CALLS = 100
WORKERS = 4
DRILL = f"fork: a child and a {WORKERS}-process pool, {CALLS} calls each on an inherited client"

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only"),
    pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning"),
]

# Inherited by the forked workers: that is the point of the drill.
_CLIENT: Optional[BabyAPI] = None
_BARRIER: Any = None


def _echo(request: Recorded) -> Reply:
    prompt = request.json()["prompt"]
    return Reply.json({"object": "text_completion", "choices": [{"index": 0, "text": prompt}]})


def _hundred_calls(_: int = 0) -> Tuple[int, int, List[str]]:
    """In a child: CALLS calls on the inherited client; (pid, answered, problems)."""
    if _BARRIER is not None:
        _BARRIER.wait(30)  # every worker of the pool takes one share, at the same time
    assert _CLIENT is not None
    pid = os.getpid()
    answered, problems = 0, []
    for call in range(CALLS):
        prompt = f"process {pid} call {call}"
        try:
            answer = _CLIENT.completions.create(
                model="m", prompt=prompt, request_options={"headers": {"x-drill-pid": str(pid)}}
            )
        except Exception as exc:
            problems.append(repr(exc))
            continue
        if answer["choices"][0]["text"] != prompt:
            problems.append(f"{prompt!r} got {json.dumps(answer)}")
        else:
            answered += 1
    return pid, answered, problems


def _in_forked_child() -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            _, answered, problems = _hundred_calls()
            code = 0 if answered == CALLS and not problems else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_forked_processes_use_their_own_connections(
    scripted_server: ScriptedServer, figures: Any
) -> None:
    global _CLIENT, _BARRIER
    scripted_server.set_handler(_echo)
    parent = os.getpid()
    with BabyAPI(api_key="drill-key", base_url=scripted_server.base_url) as client:
        _CLIENT = client
        try:
            _, answered, problems = _hundred_calls()  # the parent holds a keep-alive connection
            assert (answered, problems) == (CALLS, [])
            assert _in_forked_child() == 0
            context = multiprocessing.get_context("fork")
            _BARRIER = context.Barrier(WORKERS)
            with context.Pool(WORKERS) as pool:
                results = pool.map(_hundred_calls, range(WORKERS), chunksize=1)
            _BARRIER = None
            _, answered, problems = _hundred_calls()  # and the parent's connection still works
            assert (answered, problems) == (CALLS, [])
        finally:
            _CLIENT = None

    pool_pids = {pid for pid, _, _ in results}
    assert len(pool_pids) == WORKERS
    assert [r[1:] for r in results] == [(CALLS, [])] * WORKERS

    ports_of: Dict[int, Set[int]] = defaultdict(set)
    pids_of: Dict[int, Set[int]] = defaultdict(set)
    calls_of: Dict[int, int] = defaultdict(int)
    for request in scripted_server.requests:
        pid = int(request.headers["x-drill-pid"])
        ports_of[pid].add(request.client_port)
        pids_of[request.client_port].add(pid)
        calls_of[pid] += 1
    shared = {port: pids for port, pids in pids_of.items() if len(pids) > 1}
    processes = len(calls_of)
    figures.add(DRILL, "processes (parent, child, pool workers)", processes)
    figures.add(DRILL, "calls answered", f"{sum(calls_of.values()):,} of {CALLS * (WORKERS + 3):,}")
    figures.add(DRILL, "connections", len(pids_of))
    figures.add(DRILL, "connections used by two processes", len(shared))
    figures.add(DRILL, "parent's connections (before and after the forks)", len(ports_of[parent]))
    assert processes == WORKERS + 2
    assert calls_of[parent] == 2 * CALLS
    assert all(calls_of[pid] == CALLS for pid in calls_of if pid != parent)
    assert shared == {}
    assert len(ports_of[parent]) == 1  # one keep-alive connection, before and after the forks
