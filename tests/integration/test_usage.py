"""UsageTracker on the wire: sums per model for calls, streams, errors, retries and cancellations."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Optional

import httpx
import pytest

from babyapi import AsyncBabyAPI, BabyAPI, BabyAPIError, ModelUsage, UsageTracker
from babyapi._observe import CallInfo, CallWatch, Observer
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "Hello."}]


def answer(prompt_tokens: int = 5, completion_tokens: int = 7, model: str = "m") -> Reply:
    return Reply.json(
        {
            "id": "chatcmpl-1",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "ok"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def chunk(text: str) -> dict[str, Any]:
    return {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": text}}]}


USAGE_CHUNK = {
    "id": "c1",
    "choices": [],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}


def chat(client: Any, model: str = "m") -> Any:
    return client.chat.completions.create(model=model, messages=MESSAGES)


def test_calls_and_tokens_add_up_per_model_across_copies(driver: Driver) -> None:
    usage = UsageTracker()
    client = driver.make(observers=[usage])
    driver.server.script(answer(5, 7))
    driver.call(chat, client)
    driver.call(lambda c: chat(c, "other"), client.with_options(timeout_s=5))
    driver.call(chat, client)
    driver.call(lambda c: c.models.list(), client)  # names no model: not counted
    assert usage.by_model() == {
        "m": ModelUsage(calls=2, input_tokens=10, output_tokens=14, total_tokens=24),
        "other": ModelUsage(calls=1, input_tokens=5, output_tokens=7, total_tokens=12),
    }
    assert usage.total().calls == 3
    assert usage.total().total_tokens == 36
    usage.reset()
    assert usage.total() == ModelUsage()


def test_retries_and_errors_are_counted(driver: Driver) -> None:
    usage = UsageTracker()
    client = driver.make(observers=[usage])
    driver.server.script(Reply(status=503), Reply(status=502), answer(1, 1), Reply(status=400))
    driver.call(chat, client)
    with pytest.raises(BabyAPIError):
        driver.call(chat, client)
    assert usage.by_model()["m"] == ModelUsage(
        calls=2, errors=1, retries=2, input_tokens=1, output_tokens=1, total_tokens=2
    )


def test_a_stream_counts_its_usage_chunk(driver: Driver) -> None:
    usage = UsageTracker()
    client = driver.make(observers=[usage])
    driver.server.script(Reply.sse([chunk("a"), chunk("b"), USAGE_CHUNK]), Reply.sse([chunk("a")]))
    stream_call = lambda c: c.chat.completions.stream(model="m", messages=MESSAGES)  # noqa: E731
    assert len(driver.events(stream_call, client)) == 4
    assert usage.by_model()["m"] == ModelUsage(
        calls=1, input_tokens=3, output_tokens=2, total_tokens=5
    )
    driver.events(stream_call, client)  # no usage chunk this time
    assert usage.by_model()["m"].calls_without_usage == 1


def test_a_stream_closed_early_counts_as_cancelled(driver: Driver) -> None:
    usage = UsageTracker()
    client = driver.make(observers=[usage])
    # The rest comes later, so closing after the first event really is before the end.
    driver.server.script(Reply.sse([chunk("a"), chunk("b"), USAGE_CHUNK], chunk_delay_s=0.3))
    stream = driver.run(client.chat.completions.stream(model="m", messages=MESSAGES))
    if not driver.is_async:
        next(stream)
        stream.close()
    else:
        driver.run(stream.__anext__())
        driver.run(stream.aclose())
    assert usage.by_model()["m"] == ModelUsage(calls=1, cancelled=1)


def test_a_broken_stream_is_an_error(driver: Driver) -> None:
    usage = UsageTracker()
    client = driver.make(observers=[usage])
    driver.server.script(Reply.sse([chunk("a"), chunk("b")], done=False, drop="mid_chunks"))
    with pytest.raises(BabyAPIError):
        driver.events(lambda c: c.chat.completions.stream(model="m", messages=MESSAGES), client)
    assert usage.by_model()["m"] == ModelUsage(calls=1, errors=1)


def test_threads_sharing_a_tracker_lose_nothing(scripted_server: ScriptedServer) -> None:
    usage = UsageTracker()
    scripted_server.script(answer(2, 3))
    client = BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, observers=[usage])

    def work() -> None:
        for _ in range(10):
            chat(client)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert usage.by_model()["m"] == ModelUsage(
        calls=60, input_tokens=120, output_tokens=180, total_tokens=300
    )


def test_concurrent_tasks_sharing_a_tracker_lose_nothing(scripted_server: ScriptedServer) -> None:
    usage = UsageTracker()
    scripted_server.script(answer(2, 3))

    async def main() -> None:
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, observers=[usage]
        ) as client:
            await asyncio.gather(*(chat(client) for _ in range(40)))

    asyncio.run(main())
    assert usage.by_model()["m"] == ModelUsage(
        calls=40, input_tokens=80, output_tokens=120, total_tokens=200
    )


def test_a_cancelled_task_is_counted_as_cancelled(scripted_server: ScriptedServer) -> None:
    usage = UsageTracker()
    scripted_server.script(Reply.json({}, delay_s=5.0))

    async def main() -> None:
        async with AsyncBabyAPI(
            api_key=API_KEY, base_url=scripted_server.base_url, observers=[usage]
        ) as client:
            task = asyncio.ensure_future(chat(client))
            await asyncio.to_thread(scripted_server.wait_for_requests, 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert usage.by_model()["m"] == ModelUsage(calls=1, cancelled=1)


def test_ctrl_c_during_a_sync_call_is_counted_as_cancelled(scripted_server: ScriptedServer) -> None:
    usage = UsageTracker()

    def interrupt(request: httpx.Request) -> None:
        raise KeyboardInterrupt

    http = httpx.Client(event_hooks={"request": [interrupt]})
    client = BabyAPI(
        api_key=API_KEY, base_url=scripted_server.base_url, http_client=http, observers=[usage]
    )
    with pytest.raises(KeyboardInterrupt):
        chat(client)
    http.close()
    assert usage.by_model()["m"] == ModelUsage(calls=1, cancelled=1)


class _Broken(Observer):
    """Fails in every hook it has."""

    def watch(self, call: CallInfo) -> Optional[CallWatch]:
        return _BrokenWatch() if call.path.endswith("completions") else None


class _BrokenWatch(CallWatch):
    def sending(self, retries: int) -> None:
        raise RuntimeError("sending broke")

    def attempt_ended(self, *args: object) -> None:
        raise RuntimeError("attempt broke")

    def first_event(self) -> None:
        raise RuntimeError("first event broke")

    def succeeded(self, answer: Any) -> None:
        answer()
        raise RuntimeError("end broke")


class _BrokenOpen(Observer):
    def watch(self, call: CallInfo) -> Optional[CallWatch]:
        raise ValueError("watch broke")


def test_failing_observers_never_fail_the_call_and_are_logged_once(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    usage = UsageTracker()
    broken, broken_open = _Broken(), _BrokenOpen()
    client = driver.make(observers=[broken, broken_open, usage])
    driver.server.script(Reply(status=503), answer(1, 2), Reply.sse([chunk("a"), USAGE_CHUNK]))
    with caplog.at_level(logging.WARNING, logger="babyapi"):
        result = driver.call(chat, client)
        events = driver.events(
            lambda c: c.chat.completions.stream(model="m", messages=MESSAGES), client
        )
    assert result["usage"]["completion_tokens"] == 2
    assert len(events) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert sorted(w.split()[1].split(".")[-1] for w in warnings) == ["_Broken", "_BrokenOpen"]
    # The healthy observer beside them saw everything.
    assert usage.by_model()["m"] == ModelUsage(
        calls=2, retries=1, input_tokens=4, output_tokens=4, total_tokens=8
    )


def test_observers_must_be_observers(scripted_server: ScriptedServer) -> None:
    with pytest.raises(BabyAPIError, match="observers must be a list") as info:
        BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url, observers=["usage"])  # type: ignore[list-item]
    assert info.value.code == "INVALID_OPTIONS"
    client = BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url)
    with pytest.raises(BabyAPIError, match="observers must be a list"):
        client.with_options(observers=[object()])


def test_a_pickled_client_takes_a_copy_of_its_tracker(scripted_server: ScriptedServer) -> None:
    import pickle

    usage = UsageTracker()
    scripted_server.script(answer(1, 1))
    client = BabyAPI(
        api_key=API_KEY,
        base_url=scripted_server.base_url,
        observers=[usage],
        retry_read_timeouts=True,
    )
    chat(client)
    revived = pickle.loads(pickle.dumps(client))
    assert revived._config.retry_read_timeouts is True  # every setting travels, not only some
    chat(revived)
    (copied,) = revived._config.observers
    assert isinstance(copied, UsageTracker) and copied is not usage
    assert copied.by_model()["m"].calls == 2
    assert usage.by_model()["m"].calls == 1
    client.close()
    revived.close()
