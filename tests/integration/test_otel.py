"""OpenTelemetry spans and metrics by the GenAI conventions, read back from in-memory exporters."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple, Optional

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from babyapi import AsyncBabyAPI, BabyAPI, BabyAPIError
from babyapi.integrations.otel import instrument, uninstrument
from drivers import API_KEY, Driver  # pyright: ignore[reportImplicitRelativeImport]
from scripted_server import Reply, ScriptedServer  # pyright: ignore[reportImplicitRelativeImport]

MESSAGES = [{"role": "user", "content": "What is secret-prompt-text?"}]
ANSWER = {
    "id": "chatcmpl-42",
    "model": "m-2025",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "secret-answer-text"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
}
OK = Reply.json(ANSWER)


def chunk(delta: dict[str, Any], finish: Optional[str] = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-s",
        "model": "m-2025",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


STREAM = Reply.sse(
    [
        chunk({"role": "assistant", "content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "length"),
        {
            "id": "chatcmpl-s",
            "choices": [],
            "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
        },
    ]
)


class Otel(NamedTuple):
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def call_span(self, name: str = "chat m") -> ReadableSpan:
        (span,) = [s for s in self.finished() if s.name == name]
        return span

    def attempts(self) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.name.startswith("POST ")]

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Otel(spans, reader, tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def traced(driver: Driver, otel: Otel, **kwargs: Any) -> Any:
    return instrument(
        driver.make(),
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        **kwargs,
    )


def chat(client: Any, **extra: Any) -> Any:
    return client.chat.completions.create(model="m", messages=MESSAGES, **extra)


def all_attribute_text(otel: Otel) -> str:
    return json.dumps([dict(s.attributes or {}) for s in otel.finished()], default=str)


def test_a_call_is_a_client_span_with_the_genai_attributes(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel)
    driver.server.script(OK)
    driver.call(
        lambda c: chat(c, max_tokens=20, temperature=0.5, top_p=0.9, stop="END", seed=7), client
    )
    span = otel.call_span()
    assert span.name == "chat m"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    sent = driver.server.requests[0]
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "babyapi",
        "gen_ai.request.model": "m",
        "server.address": "127.0.0.1",
        "server.port": driver.server.port,
        "gen_ai.request.max_tokens": 20,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "babyapi.request_id": sent.headers["x-request-id"],
        "gen_ai.response.model": "m-2025",
        "gen_ai.response.id": "chatcmpl-42",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 5,
    }
    (attempt,) = otel.attempts()
    assert attempt.name == "POST /v1/chat/completions"
    assert attempt.parent is not None and attempt.parent.span_id == span.context.span_id
    assert (attempt.attributes or {})["http.response.status_code"] == 200
    # The server receives the attempt's trace context, so its own spans join the trace.
    trace_id, span_id = sent.headers["traceparent"].split("-")[1:3]
    assert int(trace_id, 16) == span.context.trace_id
    assert int(span_id, 16) == attempt.context.span_id


def test_the_span_is_a_child_of_the_callers_span(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel)
    driver.server.script(OK)
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle request") as parent:
        driver.call(chat, client)
    span = otel.call_span()
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id


def test_each_attempt_is_a_child_span_with_its_status_and_retry_decision(
    driver: Driver, otel: Otel
) -> None:
    client = traced(driver, otel)
    driver.server.script(Reply(status=503), Reply(status=429, headers={"retry-after": "1"}), OK)
    driver.call(chat, client)
    span = otel.call_span()
    first, second, third = otel.attempts()
    assert all(
        a.parent and a.parent.span_id == span.context.span_id for a in (first, second, third)
    )
    assert dict(first.attributes or {}) == {
        "http.request.method": "POST",
        "url.full": driver.server.url("/v1/chat/completions"),
        "server.address": "127.0.0.1",
        "server.port": driver.server.port,
        "http.response.status_code": 503,
        "error.type": "503",
        "babyapi.retry.decision": "retry",
        "babyapi.retry.reason": "retrying",
        "babyapi.retry.wait_s": 0.25,
    }
    assert first.status.status_code is StatusCode.ERROR
    assert (second.attributes or {})["http.request.resend_count"] == 1
    assert (second.attributes or {})["babyapi.retry.wait_s"] == 1.0
    assert (third.attributes or {})["http.request.resend_count"] == 2
    assert "babyapi.retry.decision" not in (third.attributes or {})
    # Errors that a retry healed are not the call's errors.
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in (span.attributes or {})


def test_a_failed_call_marks_its_span_and_duration_with_the_error(
    driver: Driver, otel: Otel
) -> None:
    client = traced(driver, otel)
    driver.server.script(Reply.api_error(400, "bad temperature"))
    with pytest.raises(BabyAPIError) as info:
        driver.call(chat, client)
    span = otel.call_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == str(info.value)
    assert (span.attributes or {})["error.type"] == "400"
    (attempt,) = otel.attempts()
    assert (attempt.attributes or {})["babyapi.retry.decision"] == "stop"
    (point,) = otel.points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "400"
    assert point.count == 1


def test_a_connection_failure_is_named_by_the_sdks_code(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel).with_options(max_retries=0)
    driver.server.script(Reply(drop="before_headers"))
    with pytest.raises(BabyAPIError):
        driver.call(chat, client)
    span = otel.call_span()
    assert (span.attributes or {})["error.type"] == "connection_error"
    (attempt,) = otel.attempts()
    # The attempt names the library's own exception, as that library's instrumentation would.
    library = {"aiohttp": "aiohttp.", "stdlib": "http.client."}.get(driver.kind, "httpx.")
    assert (attempt.attributes or {})["error.type"].startswith(library)


def test_metrics_follow_the_conventions(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel)
    driver.server.script(OK)
    driver.call(chat, client)
    driver.call(chat, client)
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 2
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "babyapi",
        "gen_ai.request.model": "m",
        "gen_ai.response.model": "m-2025",
        "server.address": "127.0.0.1",
        "server.port": driver.server.port,
    }
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]
    tokens = {
        p.attributes["gen_ai.token.type"]: p for p in otel.points("gen_ai.client.token.usage")
    }
    assert (tokens["input"].sum, tokens["input"].count) == (22, 2)
    assert (tokens["output"].sum, tokens["output"].count) == (10, 2)
    assert otel.points("gen_ai.client.operation.time_to_first_chunk") == []


def test_a_stream_span_ends_at_its_last_event_with_time_to_first_chunk(
    driver: Driver, otel: Otel
) -> None:
    client = traced(driver, otel)
    driver.server.script(STREAM)
    events = driver.events(
        lambda c: c.chat.completions.stream(
            model="m", messages=MESSAGES, stream_options={"include_usage": True}
        ),
        client,
    )
    assert events[-1].done
    span = otel.call_span()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.request.stream"] is True
    assert attributes["gen_ai.response.id"] == "chatcmpl-s"
    assert attributes["gen_ai.response.model"] == "m-2025"
    assert attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (
        4,
        2,
    )
    ttfc = attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(ttfc, float) and ttfc > 0
    assert span.end_time is not None and span.start_time is not None
    assert ttfc <= (span.end_time - span.start_time) / 1e9
    (first_chunk,) = otel.points("gen_ai.client.operation.time_to_first_chunk")
    assert first_chunk.count == 1 and first_chunk.sum == pytest.approx(ttfc)
    assert span.status.status_code is StatusCode.UNSET


def test_a_stream_closed_early_ends_its_span(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel)
    # The rest comes later, so closing after the first event really is before the end.
    driver.server.script(Reply.sse([chunk({"content": "a"})] * 3, chunk_delay_s=0.3))
    stream = driver.run(client.chat.completions.stream(model="m", messages=MESSAGES))
    if not driver.is_async:
        next(stream)
        assert otel.finished() and not any(s.name == "chat m" for s in otel.finished())
        stream.close()
    else:
        driver.run(stream.__anext__())
        driver.run(stream.aclose())
    span = otel.call_span()
    assert (span.attributes or {})["babyapi.stream.closed_early"] is True
    assert span.status.status_code is StatusCode.UNSET


def test_a_stream_dropped_unread_ends_its_span(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel)
    driver.server.script(STREAM)
    stream = driver.run(client.chat.completions.stream(model="m", messages=MESSAGES))
    del stream
    gc.collect()
    if driver.is_async:
        # The event loop closes a dropped async generator in a task of its own.
        for _ in range(200):
            if any(s.name == "chat m" for s in otel.finished()):
                break
            driver.run(asyncio.sleep(0.01))
    span = otel.call_span()
    assert (span.attributes or {})["babyapi.stream.closed_early"] is True


def test_a_stream_that_breaks_is_an_error(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel)
    driver.server.script(Reply.sse([chunk({"content": "a"})] * 3, done=False, drop="mid_chunks"))
    with pytest.raises(BabyAPIError):
        driver.events(lambda c: c.chat.completions.stream(model="m", messages=MESSAGES), client)
    span = otel.call_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "stream_interrupted"


def test_a_cancelled_call_ends_its_span_marked_cancelled(
    scripted_server: ScriptedServer, otel: Otel
) -> None:
    scripted_server.script(Reply.json({}, delay_s=5.0))

    async def main() -> None:
        async with AsyncBabyAPI(api_key=API_KEY, base_url=scripted_server.base_url) as client:
            instrument(
                client, tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider
            )
            task = asyncio.ensure_future(chat(client))
            await asyncio.to_thread(scripted_server.wait_for_requests, 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    span = otel.call_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "cancelled"
    (attempt,) = otel.attempts()
    assert attempt.end_time is not None
    assert (attempt.attributes or {})["error.type"] == "cancelled"
    (point,) = otel.points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "cancelled"


def test_content_is_recorded_only_when_asked_and_the_key_never(driver: Driver, otel: Otel) -> None:
    driver.server.script(OK)
    driver.call(chat, traced(driver, otel))
    text = all_attribute_text(otel)
    assert "secret-prompt-text" not in text and "secret-answer-text" not in text
    assert API_KEY not in text
    otel.spans.clear()
    driver.call(chat, traced(driver, otel, capture_content=True))
    span = otel.call_span()
    attributes = span.attributes or {}
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": MESSAGES[0]["content"]}]}
    ]
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "secret-answer-text"}],
            "finish_reason": "stop",
        }
    ]
    assert API_KEY not in all_attribute_text(otel)


def test_copies_inherit_the_switch_and_uninstrument_turns_it_off(
    driver: Driver, otel: Otel
) -> None:
    client = traced(driver, otel)
    copy = client.with_options(timeout_s=5)
    driver.server.script(OK)
    driver.call(chat, copy)
    assert [s.name for s in otel.finished()] == ["POST /v1/chat/completions", "chat m"]
    uninstrument(client)
    driver.call(chat, client)
    assert len(otel.finished()) == 2
    assert "traceparent" not in driver.server.requests[-1].headers


def test_every_endpoint_names_its_operation(driver: Driver, otel: Otel) -> None:
    client = traced(driver, otel)
    driver.server.script(
        Reply.json(
            {
                "data": [{"embedding": [0.1]}],
                "model": "e",
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            }
        )
    )
    driver.call(
        lambda c: c.embeddings.create(model="e", input="x", encoding_format="float"), client
    )
    driver.server.script(Reply.json({"choices": [{"text": "t", "finish_reason": "stop"}]}))
    driver.call(lambda c: c.completions.create(model="m", prompt="p"), client)
    driver.server.script(Reply.json({"output": "o"}))
    driver.call(lambda c: c.baby.infer("p", model="b"), client)
    driver.server.script(Reply.json({"results": []}))
    driver.call(lambda c: c.rerank.create(model="r", query="q", documents=["d"]), client)
    driver.server.script(Reply.json({"data": []}))
    driver.call(lambda c: c.models.list(), client)
    names = [s.name for s in otel.finished() if not s.name.startswith(("POST", "GET"))]
    assert names == [
        "embeddings e",
        "text_completion m",
        "text_completion b",
        "rerank r",
        "list_models",
    ]
    embeddings = next(s for s in otel.finished() if s.name == "embeddings e")
    assert (embeddings.attributes or {})["gen_ai.request.encoding_formats"] == ("float",)
    tokens = [p.attributes["gen_ai.token.type"] for p in otel.points("gen_ai.client.token.usage")]
    assert tokens == ["input"]  # embeddings have no output tokens


# --- faults: a broken telemetry pipeline never breaks a call -----------------------------


class _Raising(SpanProcessor):
    def __init__(self, where: str) -> None:
        self.where = where

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        if self.where == "start":
            raise RuntimeError("processor broke on start")

    def on_end(self, span: ReadableSpan) -> None:
        if self.where == "end":
            raise RuntimeError("processor broke on end")


class _RaisingProvider(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        raise RuntimeError("no tracer for you")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_failing_span_processor_never_fails_the_call(
    driver: Driver, otel: Otel, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    otel.tracer_provider.add_span_processor(_Raising(where))
    client = traced(driver, otel)
    driver.server.script(Reply(status=503), OK)
    with caplog.at_level(logging.WARNING, logger="babyapi"):
        first = driver.call(chat, client)
        second = driver.call(chat, client)
    assert first == second == ANSWER
    assert len(_warnings(caplog)) == 1
    assert "GenAITelemetry" in _warnings(caplog)[0]
    if where == "end":
        # Metrics are taken before the span ends, so they survive a processor that fails there.
        (duration,) = otel.points("gen_ai.client.operation.duration")
        assert duration.count == 2


def test_a_tracer_provider_that_raises_never_fails_the_call(
    driver: Driver, otel: Otel, caplog: pytest.LogCaptureFixture
) -> None:
    client = instrument(driver.make(), tracer_provider=_RaisingProvider())
    driver.server.script(STREAM, OK)
    with caplog.at_level(logging.WARNING, logger="babyapi"):
        events = driver.events(
            lambda c: c.chat.completions.stream(model="m", messages=MESSAGES), client
        )
        result = driver.call(chat, client)
    assert len(events) == 5 and result == ANSWER
    assert len(_warnings(caplog)) == 1


class _BlockedExporter(MetricExporter):
    """An exporter stuck on a slow backend until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        self.entered.set()
        self.release.wait(10)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.release.set()


def test_a_stuck_metrics_exporter_never_holds_a_call_up(
    scripted_server: ScriptedServer, otel: Otel
) -> None:
    exporter = _BlockedExporter()
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=5)
    meter_provider = MeterProvider(metric_readers=[reader])
    client = instrument(
        BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url),
        tracer_provider=otel.tracer_provider,
        meter_provider=meter_provider,
    )
    scripted_server.script(OK)
    chat(client)  # something to export
    assert exporter.entered.wait(10)
    # The exporter is now stuck mid-export; calls still run and record their figures.
    assert [chat(client) for _ in range(3)] == [ANSWER] * 3
    assert len([s for s in otel.finished() if s.name == "chat m"]) == 4
    exporter.release.set()
    meter_provider.shutdown()
    client.close()


def test_without_instrument_nothing_imports_opentelemetry() -> None:
    code = (
        "import sys, babyapi\n"
        "from babyapi.server import LocalServer\n"
        "with LocalServer() as server:\n"
        "    client = babyapi.BabyAPI(api_key='k', base_url=server.base_url, observers=[babyapi.UsageTracker()])\n"
        "    client.chat.completions.create(model='mistral', messages=[{'role': 'user', 'content': 'hi'}])\n"
        "    list(client.chat.completions.stream(model='mistral', messages=[{'role': 'user', 'content': 'hi'}]))\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'babyapi.integrations')))\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_pickled_client_traces_with_the_global_providers(
    scripted_server: ScriptedServer, otel: Otel
) -> None:
    import pickle

    scripted_server.script(OK)
    client = instrument(
        BabyAPI(api_key=API_KEY, base_url=scripted_server.base_url),
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
    )
    revived = pickle.loads(pickle.dumps(client))
    assert chat(revived) == ANSWER  # the global providers here are the API's no-op ones
    assert otel.finished() == []
    client.close()
    revived.close()


@pytest.mark.parametrize("capture_content", [False, True])
def test_stream_attributes_come_from_every_choices_chunks(
    driver: Driver, otel: Otel, capture_content: bool
) -> None:
    frames = [
        b'data: {"id":"s1","model":"m-9","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null},{"index":1,"delta":{"content":"b"},"finish_reason":null}]}\n\n',
        b'data: {"id":"s1","choices":[{"index":1,"delta":{},"finish_reason":"stop"}]}\n\n',
        b'data: {"id":"s1","choices":[{"index":0,"delta":{"content":"c"},"finish_reason":null}]}\n\n',
        b'data: {"id":"s1","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\n',
        b'data: {"id":"s1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12}}\n\n',
    ]
    client = traced(driver, otel, capture_content=capture_content)
    driver.server.script(Reply.sse(frames))
    driver.events(lambda c: c.chat.completions.stream(model="m", messages=MESSAGES, n=2), client)
    attributes = otel.call_span().attributes or {}
    assert attributes["gen_ai.response.id"] == "s1"
    assert attributes["gen_ai.response.model"] == "m-9"
    assert attributes["gen_ai.response.finish_reasons"] == ("length", "stop")
    assert attributes["gen_ai.usage.output_tokens"] == 9
    assert attributes["gen_ai.request.choice.count"] == 2
    if capture_content:
        output = json.loads(str(attributes["gen_ai.output.messages"]))
        assert [m["parts"][0]["content"] for m in output] == ["ac", "b"]


def test_a_traceparent_the_caller_sends_wins(driver: Driver, otel: Otel) -> None:
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    client = traced(driver, otel)
    driver.server.script(OK)
    driver.call(lambda c: chat(c, request_options={"headers": {"traceparent": mine}}), client)
    assert driver.server.requests[0].headers["traceparent"] == mine


def _http_client_that_notes_the_current_span(kind: str, seen: list[Any]) -> Any:
    """The HTTP library's own hooks, where its instrumentation would start its spans."""

    def note(*_: Any) -> None:
        seen.append(trace.get_current_span().get_span_context().span_id)

    async def anote(*_: Any) -> None:
        note()

    if kind in ("sync", "stdlib"):
        return httpx.Client(event_hooks={"request": [note]})
    if kind == "async":
        return httpx.AsyncClient(event_hooks={"request": [anote]})
    import aiohttp

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(anote)
    return aiohttp.ClientSession(trace_configs=[tracing])


def test_each_attempt_is_the_current_span_while_it_is_sent(driver: Driver, otel: Otel) -> None:
    seen: list[Any] = []

    async def build() -> Any:  # aiohttp wants a running loop to build its session
        return _http_client_that_notes_the_current_span(driver.kind, seen)

    if driver.is_async:
        http = driver.run(build())
    else:
        http = _http_client_that_notes_the_current_span(driver.kind, seen)
    client = instrument(
        driver.make(http_client=http, base_url=driver.server.base_url),
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
    )
    driver.server.script(Reply(status=503), OK)
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle request") as parent:
        driver.call(chat, client)
        after = trace.get_current_span()
    if driver.is_async:
        driver.run(http.aclose() if driver.kind == "async" else http.close())
    else:
        http.close()
    assert seen == [a.context.span_id for a in otel.attempts()]  # one per attempt, in order
    assert len(seen) == 2
    assert after is parent  # the call left the caller's span current


def test_over_several_servers_each_attempt_names_its_own(driver: Driver, otel: Otel) -> None:
    with ScriptedServer() as good:
        good.script(OK)
        driver.server.script(Reply.json({"error": {"message": "busy"}}, status=503))
        # The drivers' constant randomness picks the second server first: the failing one.
        client = instrument(
            driver.make(base_url=[good.base_url, driver.server.base_url]),
            tracer_provider=otel.tracer_provider,
            meter_provider=otel.meter_provider,
        )
        driver.call(chat, client)
    first, second = sorted(otel.attempts(), key=lambda span: span.start_time or 0)
    assert (first.attributes or {})["server.port"] == driver.server.port
    assert (first.attributes or {})["http.response.status_code"] == 503
    assert (second.attributes or {})["server.port"] == good.port
    assert (second.attributes or {})["url.full"] == good.url("/v1/chat/completions")
    assert (otel.call_span().attributes or {})["server.port"] == good.port
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.attributes["server.port"] == good.port  # the server that answered
