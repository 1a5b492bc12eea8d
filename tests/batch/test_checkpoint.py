"""Resumable jobs: exactly once after a kill, refused when the checkpoint is another job's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from babyapi import BabyAPI, BabyAPIError, BadRequestError
from babyapi.server import LocalServer
from scripted_server import Recorded, Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

from .conftest import CHAT_MODEL, EMBED_MODEL

TEXTS = [f"line {i}: {'alpha beta' if i % 3 else 'gamma'}" for i in range(400)]


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _embed(server: LocalServer, path: Path, texts: list[str] = TEXTS, **kw: object) -> object:
    with BabyAPI(api_key="k", base_url=server.base_url) as client:
        return client.batch.embed(texts, model=EMBED_MODEL, checkpoint=path, **kw).run()


def test_a_rerun_skips_what_is_done_and_gives_the_same_results(
    local_server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "vectors.jsonl"
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        job = client.batch.embed(TEXTS, model=EMBED_MODEL, batch_size=8, checkpoint=path)
        first = []
        for item in job:
            first.append(item)
            if len(first) == 100:
                break
        rerun = client.batch.embed(TEXTS, model=EMBED_MODEL, batch_size=8, checkpoint=path)
        items = rerun.results()
    assert rerun.summary is not None and rerun.summary.resumed >= 100
    assert [item.index for item in items] == list(range(len(TEXTS)))
    assert items[:100] == [replace(item, resumed=True) for item in first]
    lines = _lines(path)
    assert sorted(int(line["index"]) for line in lines) == list(range(len(TEXTS)))  # type: ignore[call-overload]


_KILLED_JOB = textwrap.dedent(
    """
    import sys
    from babyapi import BabyAPI
    texts = [f"line {i}: {'alpha beta' if i % 3 else 'gamma'}" for i in range(400)]
    def tell(progress):
        print(progress.done, flush=True)
    with BabyAPI(api_key="k", base_url=sys.argv[1]) as client:
        client.batch.embed(texts, model="qwen3-embedding", batch_size=4, concurrency=4,
                           checkpoint=sys.argv[2], on_progress=tell, progress=False).run()
    """
)


@pytest.mark.parametrize("kill_after", [5, 60, 200])
def test_killed_with_sigkill_the_rerun_has_every_item_exactly_once(
    local_server: LocalServer, tmp_path: Path, kill_after: int
) -> None:
    path = tmp_path / "vectors.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_JOB, local_server.base_url, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if int(line) >= kill_after:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    killed_at = len(_lines_tolerant(path))
    summary = _embed(local_server, path, batch_size=4)
    assert summary.resumed == killed_at  # type: ignore[attr-defined]
    lines = _lines(path)
    indexes = [int(line["index"]) for line in lines]  # type: ignore[call-overload]
    assert sorted(indexes) == list(range(len(TEXTS)))
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        expected = client.embeddings.create(
            model=EMBED_MODEL, input=TEXTS[7], encoding_format="base64"
        )
    assert (
        next(line for line in lines if line["index"] == 7)["embedding"]
        == expected["data"][0]["embedding"]
    )


def _lines_tolerant(path: Path) -> list[str]:
    """Complete lines only: a kill may tear the last one."""
    return [line for line in path.read_text().split("\n")[:-1] if line]


def test_a_checkpoint_of_another_model_is_refused(
    local_server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "v.jsonl"
    _embed(local_server, path, TEXTS[:10])
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        job = client.batch.embed(TEXTS[:10], model="other-embedder", checkpoint=path)
        with pytest.raises(BabyAPIError) as caught:
            job.run()
    assert caught.value.code == "CHECKPOINT_MISMATCH"
    assert "other-embedder" in caught.value.message and str(path) in caught.value.message


def test_a_checkpoint_of_other_inputs_is_refused(local_server: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    _embed(local_server, path, TEXTS[:10])
    with pytest.raises(BabyAPIError) as caught:
        _embed(local_server, path, [*TEXTS[:3], "something else", *TEXTS[4:10]])
    assert caught.value.code == "CHECKPOINT_MISMATCH"
    assert "item 3" in caught.value.message


def test_a_file_that_is_not_a_checkpoint_is_left_alone(
    local_server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"my": "data"}\n')
    with pytest.raises(BabyAPIError) as caught:
        _embed(local_server, path, TEXTS[:3])
    assert caught.value.code == "CHECKPOINT_MISMATCH"
    assert path.read_text() == '{"my": "data"}\n'


def test_an_unwritable_checkpoint_fails_before_any_request(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with (
        BabyAPI(api_key="k", base_url="http://127.0.0.1:9") as client,
        pytest.raises(BabyAPIError) as caught,
    ):
        client.batch.embed(["a"], model="m", checkpoint=blocker / "v.jsonl").run()
    assert caught.value.code == "CHECKPOINT_WRITE_FAILED"
    assert "Not a directory" in caught.value.message


_FULL_DISK_JOB = textwrap.dedent(
    """
    import resource, signal, sys
    from babyapi import BabyAPI, BabyAPIError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    with BabyAPI(api_key="k", base_url=sys.argv[1]) as client:
        job = client.batch.embed([f"t{i}" for i in range(1000)], model="qwen3-embedding",
                                 batch_size=2, concurrency=1, checkpoint=sys.argv[2], dimensions=8)
        try:
            job.run()
        except BabyAPIError as error:
            print(error.code, error.message)
    """
)


def test_a_full_disk_stops_the_job_and_keeps_what_was_written(
    local_server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "v.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_JOB, local_server.base_url, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith("CHECKPOINT_WRITE_FAILED"), done.stdout + done.stderr
    assert "File too large" in done.stdout and "resume" in done.stdout
    kept = _lines_tolerant(path)
    assert kept and all(json.loads(line)["embedding"] for line in kept)


def test_a_device_is_not_taken_for_a_checkpoint(local_server: LocalServer) -> None:
    with pytest.raises(BabyAPIError) as caught:
        _embed(local_server, Path("/dev/null"), TEXTS[:2])
    assert caught.value.code == "CHECKPOINT_MISMATCH"


def test_the_server_dying_mid_job_stops_it_and_a_rerun_finishes(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    server = LocalServer()
    server.start()
    try:
        with BabyAPI(api_key="k", base_url=server.base_url, retry_base_delay_s=0.001) as client:
            job = client.batch.embed(
                TEXTS,
                model=EMBED_MODEL,
                batch_size=4,
                concurrency=2,
                max_retries=1,
                checkpoint=path,
            )
            with pytest.raises(BabyAPIError) as caught:
                for item in job:
                    if item.index == 50:
                        server.stop()
    finally:
        server.stop()
    assert caught.value.code == "BATCH_ABORTED"
    assert str(path) in caught.value.message and "resume" in caught.value.message
    kept = _lines(path)
    assert len(kept) >= 51
    assert all("embedding" in line for line in kept)  # transient failures are not recorded
    with LocalServer() as again:
        summary = _embed(again, path, batch_size=4)
    assert summary.resumed == len(kept)  # type: ignore[attr-defined]
    assert sorted(int(line["index"]) for line in _lines(path)) == list(range(len(TEXTS)))  # type: ignore[call-overload]


def test_a_tuple_valued_request_field_resumes(local_server: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    prompts = ["one", "two", "three"]
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        first = client.batch.chat(
            prompts, model=CHAT_MODEL, max_tokens=2, stop=("\n\n", "END"), checkpoint=path
        ).results()
        again = client.batch.chat(
            prompts, model=CHAT_MODEL, max_tokens=2, stop=("\n\n", "END"), checkpoint=path
        ).results()
    assert all(item.ok for item in first)
    assert [item.resumed for item in again] == [True, True, True]
    assert [item.result for item in again] == [item.result for item in first]


def _drop_index_lines(path: Path, count: int) -> None:
    """What a kill between a data write and its index write leaves: data lines without hashes."""
    index = Path(f"{path}.index")
    lines = index.read_text().splitlines(keepends=True)
    index.write_text("".join(lines[:-count]))


def test_a_line_whose_fingerprint_never_reached_the_index_is_not_trusted(
    local_server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "v.jsonl"
    _embed(local_server, path, TEXTS[:10], batch_size=5, concurrency=1)
    _drop_index_lines(path, 5)
    changed = [*TEXTS[:9], "a different last line"]
    with BabyAPI(api_key="k", base_url=local_server.base_url) as client:
        items = client.batch.embed(
            changed, model=EMBED_MODEL, checkpoint=path, batch_size=5
        ).results()
        fresh = client.embeddings.create(
            model=EMBED_MODEL, input="a different last line", encoding_format="base64"
        )
    assert items[9].result == fresh["data"][0]["embedding"]
    assert [item.resumed for item in items] == [True] * 5 + [False] * 5
    assert sorted(int(line["index"]) for line in _lines(path)) == list(range(10))  # type: ignore[call-overload]


def test_a_torn_index_line_is_done_again_not_refused(
    local_server: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "v.jsonl"
    _embed(local_server, path, TEXTS[:10], batch_size=5, concurrency=1)
    index = Path(f"{path}.index")
    index.write_text(index.read_text()[:-4])  # the kill cut the last hash short
    summary = _embed(local_server, path, TEXTS[:10], batch_size=5)
    assert summary.resumed == 9  # type: ignore[attr-defined]
    assert sorted(int(line["index"]) for line in _lines(path)) == list(range(10))  # type: ignore[call-overload]
    again = _embed(local_server, path, TEXTS[:10], batch_size=5)
    assert again.resumed == 10  # type: ignore[attr-defined]


def test_a_resumed_failure_keeps_its_class(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    def handler(request: Recorded) -> Reply:
        texts = request.json()["input"]
        if "poison" in texts:
            return Reply.api_error(400, "input 'poison' is longer than the context window")
        data = [{"index": i, "embedding": [1.0, float(i)]} for i in range(len(texts))]
        return Reply.json({"object": "list", "data": data, "model": "m"})

    scripted_server.set_handler(handler)
    path = tmp_path / "v.jsonl"
    inputs: list[Any] = ["a", "poison", 7]
    with BabyAPI(api_key="k", base_url=scripted_server.base_url) as client:
        first = client.batch.embed(inputs, model="m", checkpoint=path).results()
        again = client.batch.embed(inputs, model="m", checkpoint=path).results()
    assert [item.resumed for item in again] == [True, True, True]
    for before, after in zip(first[1:], again[1:]):
        assert type(after.error) is type(before.error)
        assert after.error is not None and before.error is not None
        assert (after.error.message, after.error.code, after.error.status) == (
            before.error.message,
            before.error.code,
            before.error.status,
        )
    assert isinstance(again[1].error, BadRequestError) and again[1].error.status == 400
    assert type(again[2].error) is BabyAPIError and again[2].error.code == "INVALID_ITEM"
