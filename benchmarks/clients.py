"""One client, one scenario, one fresh process: prints one JSON line of measurements.

Usage: ``python benchmarks/clients.py CLIENT SCENARIO --port N [--n ...]``

Clients: ``httpx`` (raw httpx, + httpx-sse for streams: the floor), ``openai``,
``babyapi-0.2.0`` (the published release, imported from benchmarks/.peers/)
and ``babyapi`` (this repository, default settings: AsyncBabyAPI picks aiohttp
when installed). Async only: ``aiohttp`` (a raw aiohttp.ClientSession),
``babyapi-httpx`` (AsyncBabyAPI(transport="httpx")), ``httpx-aiohttp`` (httpx
with the httpx-aiohttp transport) and ``babyapi-httpx-aiohttp`` (AsyncBabyAPI on
that httpx client). Scenarios: ``chat``, ``stream``, ``async`` (``--concurrency``
calls at once), ``astream`` (async streams), ``curve`` (calls/s at each of
``--levels`` concurrencies) and ``memory``. Every client does the same work per
call: send the request, parse the JSON and read the answer text (for streams:
parse every chunk and read its delta content), the way a user of that client
writes it. To add a client, add it to CLIENTS and to the adapters it supports.

A client that lacks a scenario (babyapi 0.2.0 has no async client) or is not
installed prints ``{"skipped": "reason"}`` and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

HERE = Path(__file__).resolve().parent
# "babyapi-before": another checkout's src/ (run.py --before), for same-run before/after figures.
PEER_DIRS = {
    "babyapi-0.2.0": HERE / ".peers" / "babyapi-0.2.0",
    "babyapi-before": Path(os.environ.get("BENCH_BEFORE_SRC", HERE / ".peers" / "babyapi-before")),
}
CLIENTS = (
    "httpx",
    "openai",
    "babyapi-0.2.0",
    "babyapi",
    "babyapi-before",
    "aiohttp",
    "babyapi-httpx",
    "httpx-aiohttp",
    "babyapi-httpx-aiohttp",
    "babyapi-stdlib",
    "http.client",
)
SCENARIOS = ("chat", "stream", "async", "astream", "curve", "memory")
MODEL = "bench-model"
MESSAGES = [{"role": "user", "content": "Say hello."}]
API_KEY = "bench"

# Columns that only exist for the async scenarios.
ASYNC_ONLY = ("aiohttp", "babyapi-httpx", "httpx-aiohttp", "babyapi-httpx-aiohttp")
# Columns that only exist for the sync ones: BabyAPI(transport="stdlib"), and raw
# http.client (one keep-alive HTTPConnection: the floor of that transport).
SYNC_ONLY = ("babyapi-stdlib", "http.client")

SyncCall = Callable[[], Any]
StreamCall = Callable[[int], int]
AsyncCall = Callable[[], Awaitable[Any]]
AsyncStreamCall = Callable[[int], Awaitable[int]]
AsyncClose = Callable[[], Awaitable[None]]


class Skip(Exception):
    """This client cannot run this scenario."""


# ---------------------------------------------------------------------------
# Per-client adapters: build a client, return a closure doing one call.
# Each returns (call, close).
# ---------------------------------------------------------------------------


def _root(port: int) -> str:
    return f"http://127.0.0.1:{port}"


# What to attach to babyapi clients (benchmarks/bench_observers.py sets it): "" for nothing,
# "usage" for a UsageTracker, "otel" for OpenTelemetry with the API's no-op providers,
# "otel-sdk" for OpenTelemetry with the SDK and in-memory exporters.
OBSERVE = os.environ.get("BABYAPI_BENCH_OBSERVE", "")


def _observed(babyapi: Any, client: Any) -> Any:
    """The client with the observers OBSERVE names attached."""
    if OBSERVE == "usage":
        # Attached in place (not with_options), so close() still closes the pool.
        client._api.observe([babyapi.UsageTracker()])
        return client
    if OBSERVE in ("otel", "otel-sdk"):
        from babyapi.integrations.otel import instrument

        if OBSERVE == "otel":
            return instrument(client)
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(_Discard()))
        meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        return instrument(client, tracer_provider=tracer_provider, meter_provider=meter_provider)
    return client


class _Discard:
    """A span exporter that keeps nothing, so memory stays flat over many calls."""

    def export(self, spans: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _import_babyapi(client: str) -> Any:
    try:
        import babyapi
    except ImportError as exc:
        raise Skip(f"babyapi not importable: {exc}") from exc
    peer = PEER_DIRS.get(client)
    if peer is not None and not str(babyapi.__file__).startswith(str(peer)):
        raise Skip(f"{client} not installed in {peer}")
    return babyapi


def sync_chat(client: str, port: int) -> tuple[SyncCall, Callable[[], None]]:
    """A closure doing one non-streaming chat round trip, and a close function."""
    if client in ASYNC_ONLY:
        raise Skip(f"{client} is measured on async scenarios only")
    if client == "httpx":
        import httpx

        hc = httpx.Client(
            base_url=_root(port),
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=60.0,
        )
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 16}

        def call_httpx() -> Any:
            r = hc.post("/v1/chat/completions", json=body)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return r.json()["choices"][0]["message"]["content"]

        return call_httpx, hc.close
    if client == "openai":
        openai = _import_openai()
        oc = openai.OpenAI(base_url=_root(port) + "/v1", api_key=API_KEY, max_retries=0)

        def call_openai() -> Any:
            res = oc.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=16)
            return res.choices[0].message.content

        return call_openai, oc.close
    if client == "http.client":
        return _http_client_chat(port)
    bc = _sync_babyapi(client, port)

    def call_babyapi() -> Any:
        res = bc.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=16)
        return res["choices"][0]["message"]["content"]

    return call_babyapi, bc.close


def sync_stream(client: str, port: int) -> tuple[StreamCall, Callable[[], None]]:
    """A closure consuming one stream of ``n`` chunks; it returns the chunks seen."""
    if client in ASYNC_ONLY:
        raise Skip(f"{client} is measured on async scenarios only")
    if client == "httpx":
        import httpx

        try:
            from httpx_sse import connect_sse
        except ImportError as exc:
            raise Skip("httpx-sse not installed") from exc
        hc = httpx.Client(
            base_url=_root(port),
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=60.0,
        )
        loads = json.loads

        def stream_httpx(n: int) -> int:
            body = {"model": MODEL, "messages": MESSAGES, "max_tokens": n, "stream": True}
            seen = 0
            with connect_sse(hc, "POST", "/v1/chat/completions", json=body) as es:
                for sse in es.iter_sse():
                    if sse.data == "[DONE]":
                        break
                    _ = loads(sse.data)["choices"][0]["delta"].get("content")
                    seen += 1
            return seen

        return stream_httpx, hc.close
    if client == "openai":
        openai = _import_openai()
        oc = openai.OpenAI(base_url=_root(port) + "/v1", api_key=API_KEY, max_retries=0)

        def stream_openai(n: int) -> int:
            seen = 0
            for chunk in oc.chat.completions.create(
                model=MODEL, messages=MESSAGES, max_tokens=n, stream=True
            ):
                _ = chunk.choices[0].delta.content
                seen += 1
            return seen

        return stream_openai, oc.close
    if client == "http.client":
        raise Skip("raw http.client is measured on chat only")
    bc = _sync_babyapi(client, port)

    def stream_babyapi(n: int) -> int:
        seen = 0
        for event in bc.chat.completions.stream(model=MODEL, messages=MESSAGES, max_tokens=n):
            if event.done:
                break
            _ = event.data["choices"][0]["delta"].get("content")
            seen += 1
        return seen

    return stream_babyapi, bc.close


def _sync_babyapi(client: str, port: int) -> Any:
    """A BabyAPI for one of the babyapi columns (babyapi-stdlib: on the standard library)."""
    babyapi = _import_babyapi(client)
    if not hasattr(babyapi, "BabyAPI"):
        raise Skip("babyapi.BabyAPI not available yet")
    kwargs = {"transport": "stdlib"} if client == "babyapi-stdlib" else {}
    return _observed(
        babyapi, babyapi.BabyAPI(api_key=API_KEY, base_url=_root(port), max_retries=0, **kwargs)
    )


def _http_client_chat(port: int) -> tuple[SyncCall, Callable[[], None]]:
    """One chat round trip on a raw keep-alive http.client connection, as its docs show it."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 16}
    loads, dumps = json.loads, json.dumps

    def call_http_client() -> Any:
        conn.request("POST", "/v1/chat/completions", body=dumps(body).encode(), headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(r.status)
        return loads(data)["choices"][0]["message"]["content"]

    return call_http_client, conn.close


def async_chat(client: str, port: int) -> tuple[AsyncCall, Callable[[], Awaitable[None]]]:
    """A coroutine function doing one async chat round trip, and an async close."""
    if client == "httpx":
        import httpx

        hc = httpx.AsyncClient(
            base_url=_root(port),
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=60.0,
        )
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 16}

        async def call_httpx() -> Any:
            r = await hc.post("/v1/chat/completions", json=body)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return r.json()["choices"][0]["message"]["content"]

        return call_httpx, hc.aclose
    if client == "openai":
        openai = _import_openai()
        oc = openai.AsyncOpenAI(base_url=_root(port) + "/v1", api_key=API_KEY, max_retries=0)

        async def call_openai() -> Any:
            res = await oc.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=16)
            return res.choices[0].message.content

        return call_openai, oc.close
    if client == "aiohttp":
        session = _aiohttp_session()
        url = _root(port) + "/v1/chat/completions"
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 16}
        loads = json.loads

        async def call_aiohttp() -> Any:
            async with session.post(url, json=body) as r:
                if r.status != 200:
                    raise RuntimeError(r.status)
                return loads(await r.read())["choices"][0]["message"]["content"]

        return call_aiohttp, session.close
    if client == "httpx-aiohttp":
        hc = _httpx_aiohttp_client(port, auth=True)
        body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 16}

        async def call_httpx_aiohttp() -> Any:
            r = await hc.post("/v1/chat/completions", json=body)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return r.json()["choices"][0]["message"]["content"]

        return call_httpx_aiohttp, hc.aclose
    bc, close_babyapi = _async_babyapi(client, port)

    async def call_babyapi() -> Any:
        res = await bc.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=16)
        return res["choices"][0]["message"]["content"]

    return call_babyapi, close_babyapi


def _async_babyapi(client: str, port: int) -> tuple[Any, AsyncClose]:
    """An AsyncBabyAPI for one of the babyapi columns, and what closes it."""
    babyapi = _import_babyapi(client)
    if not hasattr(babyapi, "AsyncBabyAPI"):
        raise Skip(f"{client} has no AsyncBabyAPI")
    kwargs: dict[str, Any] = {}
    http: Any = None
    if client == "babyapi-httpx":
        kwargs["transport"] = "httpx"
    elif client == "babyapi-httpx-aiohttp":
        http = kwargs["http_client"] = _httpx_aiohttp_client(port, auth=False)
    elif client != "babyapi" and client not in PEER_DIRS:
        raise Skip(f"{client} has no async chat here")
    bc = _observed(
        babyapi,
        babyapi.AsyncBabyAPI(api_key=API_KEY, base_url=_root(port), max_retries=0, **kwargs),
    )

    async def close_babyapi() -> None:
        closer = getattr(bc, "aclose", None) or bc.close
        result = closer()
        if inspect.isawaitable(result):
            await result
        if http is not None:
            await http.aclose()

    return bc, close_babyapi


def _aiohttp_session() -> Any:
    try:
        import aiohttp
    except ImportError as exc:
        raise Skip("aiohttp not installed") from exc
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"})


def _httpx_aiohttp_client(port: int, *, auth: bool) -> Any:
    import httpx

    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError as exc:
        raise Skip("httpx-aiohttp not installed") from exc
    headers = {"Authorization": f"Bearer {API_KEY}"} if auth else None
    return httpx.AsyncClient(
        base_url=_root(port), headers=headers, timeout=60.0, transport=AiohttpTransport()
    )


def async_stream(client: str, port: int) -> tuple[AsyncStreamCall, AsyncClose]:
    """A coroutine function consuming one async stream of ``n`` chunks; it returns the count."""
    loads = json.loads
    if client == "aiohttp":
        session = _aiohttp_session()
        url = _root(port) + "/v1/chat/completions"

        async def stream_aiohttp(n: int) -> int:
            body = {"model": MODEL, "messages": MESSAGES, "max_tokens": n, "stream": True}
            seen = 0
            async with session.post(url, json=body) as r:
                # The usual aiohttp SSE loop: one line at a time, `data:` lines parsed.
                async for line in r.content:
                    if not line.startswith(b"data: "):
                        continue
                    data = line[6:].rstrip(b"\r\n")
                    if data == b"[DONE]":
                        break
                    _ = loads(data)["choices"][0]["delta"].get("content")
                    seen += 1
            return seen

        return stream_aiohttp, session.close
    if client == "httpx":
        import httpx

        try:
            from httpx_sse import aconnect_sse
        except ImportError as exc:
            raise Skip("httpx-sse not installed") from exc
        hc = httpx.AsyncClient(
            base_url=_root(port), headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60.0
        )

        async def stream_httpx(n: int) -> int:
            body = {"model": MODEL, "messages": MESSAGES, "max_tokens": n, "stream": True}
            seen = 0
            async with aconnect_sse(hc, "POST", "/v1/chat/completions", json=body) as es:
                async for sse in es.aiter_sse():
                    if sse.data == "[DONE]":
                        break
                    _ = loads(sse.data)["choices"][0]["delta"].get("content")
                    seen += 1
            return seen

        return stream_httpx, hc.aclose
    if client not in ("babyapi", "babyapi-httpx"):
        raise Skip(f"{client} is not measured on async streams")
    bc, close_babyapi = _async_babyapi(client, port)

    async def stream_babyapi(n: int) -> int:
        seen = 0
        async for event in bc.chat.completions.stream(model=MODEL, messages=MESSAGES, max_tokens=n):
            if event.done:
                break
            _ = event.data["choices"][0]["delta"].get("content")
            seen += 1
        return seen

    return stream_babyapi, close_babyapi


def _import_openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise Skip("openai not installed") from exc
    return openai


# ---------------------------------------------------------------------------
# Scenarios: identical measuring code for every client.
# ---------------------------------------------------------------------------


def run_chat(client: str, port: int, n: int, warmup: int) -> dict[str, Any]:
    """Non-streaming round trips: client CPU and wall time per call."""
    call, close = sync_chat(client, port)
    try:
        for _ in range(warmup):
            call()
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            call()
        c1, w1 = time.process_time(), time.perf_counter()
    finally:
        close()
    return {
        "calls": n,
        "cpu_us_per_call": (c1 - c0) / n * 1e6,
        "wall_us_per_call": (w1 - w0) / n * 1e6,
    }


def run_stream(client: str, port: int, n: int, chunks: int, warmup: int) -> dict[str, Any]:
    """``n`` streams of ``chunks`` chunks each: chunks consumed per second."""
    stream, close = sync_stream(client, port)
    try:
        for _ in range(warmup):
            stream(chunks)
        gc.collect()
        total = 0
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            total += stream(chunks)
        c1, w1 = time.process_time(), time.perf_counter()
    finally:
        close()
    if total != n * chunks:
        raise RuntimeError(f"expected {n * chunks} chunks, saw {total}")
    return {
        "chunks": total,
        "chunks_per_s": total / (w1 - w0),
        "cpu_us_per_chunk": (c1 - c0) / total * 1e6,
    }


def run_async(
    client: str, port: int, batches: int, concurrency: int, warmup: int
) -> dict[str, Any]:
    """``batches`` rounds of ``concurrency`` concurrent calls: calls/s, CPU and peak RSS."""

    async def main() -> dict[str, Any]:
        call, close = async_chat(client, port)
        try:
            for _ in range(warmup):
                await asyncio.gather(*(call() for _ in range(concurrency)))
            gc.collect()
            peak0 = peak_rss_mb()
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(batches):
                await asyncio.gather(*(call() for _ in range(concurrency)))
            c1, w1 = time.process_time(), time.perf_counter()
            peak1 = peak_rss_mb()
        finally:
            await close()
        calls = batches * concurrency
        return {
            "calls": calls,
            "calls_per_s": calls / (w1 - w0),
            "cpu_us_per_call": (c1 - c0) / calls * 1e6,
            "peak_rss_growth_mb": peak1 - peak0,
        }

    return asyncio.run(main())


def run_curve(client: str, port: int, levels: list[int], calls: int) -> dict[str, Any]:
    """Calls/s at each concurrency level, about ``calls`` calls per level, one client."""

    async def main() -> dict[str, Any]:
        call, close = async_chat(client, port)
        out: dict[str, Any] = {}
        try:
            for level in levels:
                waves = max(1, calls // level)
                await asyncio.gather(*(call() for _ in range(level)))  # opens the connections
                w0 = time.perf_counter()
                for _ in range(waves):
                    await asyncio.gather(*(call() for _ in range(level)))
                out[f"calls_per_s_at_{level}"] = waves * level / (time.perf_counter() - w0)
        finally:
            await close()
        return out

    return asyncio.run(main())


def run_astream(client: str, port: int, n: int, chunks: int, warmup: int) -> dict[str, Any]:
    """``n`` async streams of ``chunks`` chunks each, one after another: chunks per second."""

    async def main() -> dict[str, Any]:
        stream, close = async_stream(client, port)
        try:
            for _ in range(warmup):
                await stream(chunks)
            gc.collect()
            total = 0
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                total += await stream(chunks)
            c1, w1 = time.process_time(), time.perf_counter()
        finally:
            await close()
        if total != n * chunks:
            raise RuntimeError(f"expected {n * chunks} chunks, saw {total}")
        return {
            "chunks": total,
            "chunks_per_s": total / (w1 - w0),
            "cpu_us_per_chunk": (c1 - c0) / total * 1e6,
        }

    return asyncio.run(main())


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1e6 if sys.platform == "darwin" else 1e3)


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1e6 if sys.platform == "darwin" else 1e3)


def run_memory(client: str, port: int, n: int, warmup: int) -> dict[str, Any]:
    """RSS after warm-up, after n/2 and after n calls."""
    call, close = sync_chat(client, port)
    try:
        for _ in range(warmup):
            call()
        gc.collect()
        start, peak0 = rss_mb(), peak_rss_mb()
        for _ in range(n // 2):
            call()
        half = rss_mb()
        for _ in range(n - n // 2):
            call()
        end, peak1 = rss_mb(), peak_rss_mb()
    finally:
        close()
    return {
        "calls": n,
        "rss_start_mb": start,
        "rss_growth_mb": end - start,
        "rss_growth_second_half_mb": end - half,
        "peak_rss_growth_mb": peak1 - peak0,
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run one benchmark scenario for one client.")
    parser.add_argument("client", choices=CLIENTS)
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n", type=int, default=1000, help="calls, streams or batches")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=2000, help="chunks per stream")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument(
        "--levels", default="1,4,16,64,256,1024", help="curve: comma-separated concurrencies"
    )
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the run")
    args = parser.parse_args(argv)

    peer = PEER_DIRS.get(args.client)
    if peer is not None:
        # The published release must win over the editable install of this repo.
        sys.path.insert(0, str(peer))

    def scenario() -> dict[str, Any]:
        if args.scenario == "chat":
            return run_chat(args.client, args.port, args.n, args.warmup)
        if args.scenario == "stream":
            return run_stream(args.client, args.port, args.n, args.chunks, args.warmup)
        if args.scenario == "async":
            return run_async(args.client, args.port, args.n, args.concurrency, args.warmup)
        if args.scenario == "astream":
            return run_astream(args.client, args.port, args.n, args.chunks, args.warmup)
        if args.scenario == "curve":
            levels = [int(x) for x in args.levels.split(",")]
            return run_curve(args.client, args.port, levels, args.n)
        return run_memory(args.client, args.port, args.n, args.warmup)

    try:
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            result = profiler.runcall(scenario)
            profiler.dump_stats(args.profile)
        else:
            result = scenario()
    except Skip as exc:
        result = {"skipped": str(exc)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
