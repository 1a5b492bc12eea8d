"""SSE decoding: babyapi vs httpx-sse vs openai, side by side in one process.

Run: ``.venv/bin/python benchmarks/bench_sse.py`` (prints a markdown table).
A harness can ``from bench_sse import run`` and get the rows as dicts.

Workloads:
1. chat: 2,000 ``chat.completion.chunk`` events of ~200 bytes plus ``[DONE]``,
   cut into random 1-4 KiB network chunks that ignore event boundaries.
2. huge: one 8 MiB data event fed in 1 KiB chunks.

Each decoder is driven the way its library drives it on a live response:
- httpx-sse: httpx's incremental ``TextDecoder`` (what ``iter_text`` uses),
  its ``SSELineDecoder`` to split lines, ``rstrip("\\n")``, then
  ``SSEDecoder.decode(line)`` per line, as ``EventSource.iter_sse`` does, but
  in plain loops without its generators, which only flatters it.
- openai: ``openai._streaming.SSEDecoder().iter_bytes(chunks)``, its own entry
  point for ``Stream``.
- babyapi: ``SSEDecoder.feed(chunk)`` per chunk, then ``end()``.
Times are CPU seconds (time.process_time), the median of interleaved rounds.
None of them parses JSON here: that cost is the same for all and is not decoding.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Union

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from babyapi._sse import SSEDecoder

Row = Dict[str, Union[str, float, int, None]]
Decoder = Callable[[Sequence[bytes]], List[str]]

CHAT_EVENTS = 2000
HUGE_BYTES = 8 * 1024 * 1024


def chat_stream(n_events: int = CHAT_EVENTS, seed: int = 1) -> bytes:
    """A vLLM-like chat completion stream: ~200-byte chunk events, then [DONE]."""
    rng = random.Random(seed)
    words = ["the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", " é", " 日本"]
    out: List[bytes] = []
    for i in range(n_events):
        chunk = {
            "id": "chatcmpl-9f8e7d6c5b4a39281706f5e4",
            "object": "chat.completion.chunk",
            "created": 1718000000 + i // 50,
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": rng.choice(words)},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
        }
        out.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def network_chunks(data: bytes, lo: int = 1024, hi: int = 4096, seed: int = 2) -> List[bytes]:
    """Cut ``data`` like a socket would: random sizes, blind to event boundaries."""
    rng = random.Random(seed)
    chunks: List[bytes] = []
    i = 0
    while i < len(data):
        n = rng.randint(lo, hi)
        chunks.append(data[i : i + n])
        i += n
    return chunks


def fixed_chunks(data: bytes, size: int) -> List[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def decode_babyapi(chunks: Sequence[bytes]) -> List[str]:
    decoder = SSEDecoder()
    out: List[str] = []
    for chunk in chunks:
        for event in decoder.feed(chunk):
            out.append(event.raw)
    decoder.end()
    return out


def decode_httpx_sse(chunks: Sequence[bytes]) -> List[str]:
    from httpx._decoders import TextDecoder
    from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
    from httpx_sse._decoders import SSELineDecoder

    text_decoder = TextDecoder("utf-8")
    line_decoder = SSELineDecoder()
    decoder = HttpxSSEDecoder()
    out: List[str] = []
    for chunk in chunks:
        for line in line_decoder.decode(text_decoder.decode(chunk)):
            sse = decoder.decode(line.rstrip("\n"))
            if sse is not None:
                out.append(sse.data)
    for line in line_decoder.decode(text_decoder.flush()) + line_decoder.flush():
        sse = decoder.decode(line.rstrip("\n"))
        if sse is not None:
            out.append(sse.data)
    return out


def decode_openai(chunks: Sequence[bytes]) -> List[str]:
    from openai._streaming import SSEDecoder as OpenAISSEDecoder

    return [sse.data for sse in OpenAISSEDecoder().iter_bytes(iter(chunks))]


DECODERS: Dict[str, Decoder] = {
    "babyapi": decode_babyapi,
    "httpx-sse": decode_httpx_sse,
    "openai": decode_openai,
}


def _time(fn: Decoder, chunks: Sequence[bytes]) -> float:
    # CPU time of this process, not wall time: on a shared machine other load
    # would otherwise land on whichever decoder happened to be running.
    gc.collect()
    start = time.process_time()
    fn(chunks)
    return time.process_time() - start


def _median_times(chunks: Sequence[bytes], rounds: int) -> Dict[str, float]:
    """Median seconds per decoder; rounds interleave decoders so drift hits all alike."""
    samples: Dict[str, List[float]] = {name: [] for name in DECODERS}
    for fn in DECODERS.values():
        fn(chunks)  # warm-up: imports, caches
    for _ in range(rounds):
        for name, fn in DECODERS.items():
            samples[name].append(_time(fn, chunks))
    return {name: statistics.median(times) for name, times in samples.items()}


def _check_agreement(chunks: Sequence[bytes]) -> None:
    results = {name: fn(chunks) for name, fn in DECODERS.items()}
    reference = results["babyapi"]
    for name, got in results.items():
        if got != reference:
            raise AssertionError(f"{name} decoded differently from babyapi")


def run(rounds: int = 21, huge_rounds: int = 7) -> List[Row]:
    """Run both workloads; one row per (workload, decoder)."""
    rows: List[Row] = []

    stream = chat_stream()
    chunks = network_chunks(stream)
    _check_agreement(chunks)
    n_events = CHAT_EVENTS + 1
    times = _median_times(chunks, rounds)
    for name, seconds in times.items():
        rows.append(
            {
                "workload": f"chat: {n_events} events, {len(stream) / 1e6:.2f} MB, "
                f"{len(chunks)} chunks of 1-4 KiB",
                "decoder": name,
                "ms": seconds * 1e3,
                "MB/s": len(stream) / seconds / 1e6,
                "events/s": n_events / seconds,
                "x httpx-sse": times["httpx-sse"] / seconds,
                "x openai": times["openai"] / seconds,
            }
        )

    huge = b"data: " + b"x" * HUGE_BYTES + b"\n\n"
    huge_chunks = fixed_chunks(huge, 1024)
    _check_agreement(huge_chunks)
    times = _median_times(huge_chunks, huge_rounds)
    for name, seconds in times.items():
        rows.append(
            {
                "workload": "huge: one 8 MiB data event in 1 KiB chunks",
                "decoder": name,
                "ms": seconds * 1e3,
                "MB/s": len(huge) / seconds / 1e6,
                "events/s": None,
                "x httpx-sse": times["httpx-sse"] / seconds,
                "x openai": times["openai"] / seconds,
            }
        )
    return rows


def _fmt(value: Union[str, float, int, None]) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    return str(value)


def markdown(rows: List[Row]) -> str:
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_fmt(row[h]) for h in headers) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    import httpx_sse
    import openai

    print(
        f"Python {sys.version.split()[0]}, openai {openai.__version__}, "
        f"httpx-sse {getattr(httpx_sse, '__version__', '?')}; median of rounds\n"
    )
    print(markdown(run()))
