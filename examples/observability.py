"""Spans and metrics on the console (OpenTelemetry), and the same calls counted by UsageTracker.

The OpenTelemetry part needs the otel extra and an SDK: pip install 'babyapi[otel]'
opentelemetry-sdk. Without them (as in `make demo`) the example says so and counts usage only.
"""

from __future__ import annotations

from typing import Any, Optional

from babyapi import BabyAPI, UsageTracker


def console_telemetry() -> Optional[Any]:
    """Print spans and metrics on the console; the meter provider, or None without the SDK."""
    try:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import (
            ConsoleMetricExporter,
            PeriodicExportingMetricReader,
        )
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        print("OpenTelemetry skipped: pip install 'babyapi[otel]' opentelemetry-sdk to see spans")
        return None
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    meter_provider = MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter())]
    )
    metrics.set_meter_provider(meter_provider)
    return meter_provider


meter_provider = console_telemetry()
usage = UsageTracker()
# BABYAPI_API_KEY and BABYAPI_BASE_URL come from the environment.
client = BabyAPI(observers=[usage])
if meter_provider is not None:
    from opentelemetry import trace

    from babyapi.integrations.otel import instrument

    instrument(client)  # every call a span, child of the application's current span
    span = trace.get_tracer("my-app").start_as_current_span("answer the user")
else:
    from contextlib import nullcontext

    span = nullcontext()

with client, span:
    client.chat.completions.create(
        model="mistral", messages=[{"role": "user", "content": "Hi"}], max_tokens=20
    )
    stream = client.chat.completions.stream(
        model="mistral",
        messages=[{"role": "user", "content": "Count to three"}],
        stream_options={"include_usage": True},
    )
    print("".join(stream.text_deltas()))
    client.embeddings.create(model="qwen3-embedding", input=["a", "b"])

if meter_provider is not None:
    meter_provider.shutdown()  # prints the metrics once more and stops the reader

# The tracker saw the same three calls, counted per model.
for model, sums in sorted(usage.by_model().items()):
    print(f"usage {model}: {sums.calls} calls, {sums.input_tokens} in, {sums.output_tokens} out")
print(f"usage total: {usage.total().calls} calls, {usage.total().errors} errors")
