"""Throughput of the local server on small non-streaming requests from one keep-alive client.

Not a test (pytest does not collect it). Run:

    .venv/bin/python tests/server/bench_throughput.py [--seconds 5] [--path /infer] [--client raw]

It starts ``python -m babyapi.server`` in a subprocess (so client and server
do not share a GIL), sends requests one after another over one keep-alive
connection and prints requests per second, and the server's CPU time per
request (Linux), which gives the server's capacity on one core independent of
how fast the client is.

``--client httpx`` (default) uses httpx.Client; ``--client raw`` writes the
same HTTP/1.1 request on a plain socket, to take the client's own overhead
out of the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import httpx

BODIES: Dict[str, Optional[Dict[str, Any]]] = {
    "/health": None,
    "/infer": {"model": "mistral", "prompt": "Ping", "max_tokens": 8},
    "/v1/chat/completions": {
        "model": "mistral",
        "messages": [{"role": "user", "content": "Ping"}],
        "max_tokens": 8,
    },
    "/v1/embeddings": {"model": "qwen3-embedding", "input": "Ping", "dimensions": 64},
}
KEY = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _httpx_sender(base: str, path: str) -> Callable[[], None]:
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"})
    body = BODIES[path]

    def send() -> None:
        response = client.post(path, json=body) if body else client.get(path)
        response.raise_for_status()

    return send


def _raw_sender(port: int, path: str) -> Callable[[], None]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = BODIES[path]
    payload = json.dumps(body).encode() if body else b""
    head = (
        f"{'POST' if body else 'GET'} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    request = head + payload

    def send() -> None:
        sock.sendall(request)
        data = sock.recv(65536)
        header_end = data.index(b"\r\n\r\n") + 4
        if not data.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(data[:200].decode())
        length = 0
        for line in data[:header_end].split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(data) < header_end + length:
            data += sock.recv(65536)

    return send


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--path", default="/infer", choices=list(BODIES))
    parser.add_argument("--client", default="httpx", choices=["httpx", "raw"])
    args = parser.parse_args(argv)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "babyapi.server", "--port", str(port), "--api-key", KEY],
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(base + "/health")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        send = (
            _httpx_sender(base, args.path)
            if args.client == "httpx"
            else _raw_sender(port, args.path)
        )
        for _ in range(300):  # warm-up
            send()
        cpu_before = _cpu_seconds(server.pid)
        count = 0
        start = time.perf_counter()
        deadline = start + args.seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                send()
            count += 50
        elapsed = time.perf_counter() - start
        cpu_after = _cpu_seconds(server.pid)
        line = f"{args.path} ({args.client}): {count} requests in {elapsed:.2f} s = {count / elapsed:,.0f} req/s"
        if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before:
            per_request = (cpu_after - cpu_before) / count
            line += f"; server CPU {per_request * 1e6:.0f} us/request = {1 / per_request:,.0f} req/s per core"
        print(line)
        # Figures depend on the machine and its load; this puts them in context.
        started = time.perf_counter()
        for _ in range(1_000_000):
            pass
        loop_ms = (time.perf_counter() - started) * 1000
        print(f"calibration: an empty 1e6-iteration loop took {loop_ms:.0f} ms on this machine now")
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
