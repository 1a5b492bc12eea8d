"""One client over three servers: calls spread over them, and carry on when one is killed.

Starts three local BabyAPI servers (``python -m babyapi.server``, each its own process) on free
ports, sends calls through one client given all three, kills one server mid-way and shows that
no call fails: the client moves the calls to the other two, cools the dead one down, and sends
it work again once it is back.

    python examples/replicas.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from typing import List

from babyapi import BabyAPI

API_KEY = "replicas-demo-key"
MESSAGES = [{"role": "user", "content": "Say hello."}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int) -> subprocess.Popen[bytes]:
    """A local server in its own process, returned once it accepts connections."""
    env = {**os.environ, "BABYAPI_SERVER_API_KEY": API_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "babyapi.server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the server on port {port} did not start")


def show(client: BabyAPI) -> None:
    for server in client.servers:
        cooling = f", back in {server.cooling_for_s:.1f}s" if server.state == "cooling" else ""
        print(f"  {server.url}: {server.state}{cooling}, {server.attempts} attempts")


def calls(client: BabyAPI, count: int) -> Counter[str]:
    """Make ``count`` calls; which server answered each (the local server names its port)."""
    answered: Counter[str] = Counter()
    for _ in range(count):
        with_response = client.with_response.chat.completions.create(
            model="mistral", messages=MESSAGES, max_tokens=5
        )
        answered[str(with_response.response.url.port)] += 1
    return answered


def main() -> None:
    ports = [free_port() for _ in range(3)]
    servers: List[subprocess.Popen[bytes]] = [start_server(port) for port in ports]
    try:
        urls = [f"http://127.0.0.1:{port}/v1" for port in ports]
        with BabyAPI(api_key=API_KEY, base_url=urls) as client:
            print("20 calls over three healthy servers, answered by port:")
            print(" ", dict(sorted(calls(client, 20).items())))

            servers[0].kill()
            servers[0].wait()
            print(f"\nKilled the server on port {ports[0]}; 20 more calls:")
            print(" ", dict(sorted(calls(client, 20).items())), "- none failed")
            show(client)

            servers[0] = start_server(ports[0])
            print("\nStarted it again; after its cooldown it takes calls again:")
            time.sleep(max(s.cooling_for_s for s in client.servers))
            print(" ", dict(sorted(calls(client, 20).items())))
            show(client)
    finally:
        for process in servers:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
