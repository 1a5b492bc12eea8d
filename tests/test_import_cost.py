"""``import babyapi`` loads the shells, chat and the core, and no capability.

Capabilities (batch jobs, tools, structured outputs, the Responses API, integrations, and any
added later), the resources beyond chat, streams, observers, several servers and the public
names that need them load on first use; docs/architecture.md says how to attach a new one so.
Each case below is checked both ways in a fresh interpreter: absent after ``import babyapi``
and after a plain chat call, present after its own first use (against the local server).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from babyapi.server import LocalServer

API_KEY = "import-cost-key"
# What `import babyapi` may load: everything else under babyapi waits for first use.
ALLOWED_PREFIXES = ("babyapi._", "babyapi.resources")
HEAVY = ("anyio", "asyncio", "aiohttp", "pydantic", "opentelemetry", "ray")
MSGS = "[{'role': 'user', 'content': 'Hi'}]"

# module -> the first use that loads it (``client`` is a BabyAPI on the local server;
# ``run_async(f)`` awaits ``f(ac)`` with an AsyncBabyAPI ``ac`` on it).
FIRST_USE = {
    "babyapi.batch": "client.batch.embed(['a', 'b'], model='qwen3-embedding')",
    "babyapi.tools": (
        "def add(a: int, b: int) -> int:\n"
        "    '''Add.'''\n"
        "    return a + b\n"
        "client.chat.completions.run_tools(model='mistral', messages=MSGS, tools=[add])"
    ),
    "babyapi.structured": (
        "client.chat.completions.parse(model='mistral', messages=MSGS,"
        " response_format={'type': 'object', 'properties': {'a': {'type': 'integer'}}})"
    ),
    "babyapi._schema": (
        "client.chat.completions.parse(model='mistral', messages=MSGS,"
        " response_format={'type': 'object', 'properties': {'a': {'type': 'integer'}}})"
    ),
    "babyapi.resources.responses": "client.responses.create(model='mistral', input='Hi')",
    "babyapi._response_events": ("client.responses.stream(model='mistral', input='Hi').final()"),
    "babyapi.vllm.tokenizer": "client.tokenizer.tokenize('Hi', model='mistral')",
    "babyapi.vllm.pooling": (
        "client.score.create(model='qwen3-reranker', queries='a', documents=['b'])"
    ),
    "babyapi.vllm.lora": "client.lora",
    "babyapi._aiohttp": (
        "run_async(lambda ac: ac.chat.completions.create(model='mistral', messages=MSGS))"
    ),
    "babyapi._streaming": (
        "client.chat.completions.stream(model='mistral', messages=MSGS).final()"
    ),
    "babyapi._sse": "client.chat.completions.stream(model='mistral', messages=MSGS).final()",
    "babyapi._accumulate": (
        "client.chat.completions.stream(model='mistral', messages=MSGS).final()"
    ),
    "babyapi._servers": (
        "babyapi.BabyAPI(api_key=KEY, base_url=[URL, URL.replace('127.0.0.1', 'localhost')])"
        ".chat.completions.create(model='mistral', messages=MSGS)"
    ),
    "babyapi._route": (
        "babyapi.BabyAPI(api_key=KEY, base_url=[URL, URL.replace('127.0.0.1', 'localhost')])"
        ".chat.completions.create(model='mistral', messages=MSGS)"
    ),
    "babyapi._usage": "babyapi.UsageTracker",
    "babyapi._observe": (
        "client.with_options(observers=[babyapi.UsageTracker()])"
        ".chat.completions.create(model='mistral', messages=MSGS)"
    ),
    "contextvars": "client.with_response.chat.completions.create(model='mistral', messages=MSGS)",
    "babyapi._infer": "client.baby.infer('Hi', model='mistral')",
    "babyapi.resources.embeddings": "client.embeddings.create(input='a', model='qwen3-embedding')",
    "babyapi._embeddings": "client.embeddings.create(input='a', model='qwen3-embedding')",
    "babyapi.resources.completions": (
        "client.completions.create(model='mistral', prompt='Hi', max_tokens=2)"
    ),
    "babyapi.resources.rerank": (
        "client.rerank.create(model='qwen3-reranker', query='a', documents=['b'])"
    ),
    "babyapi.resources.models": "client.models.list()",
    "babyapi.resources.baby": "client.baby.infer('Hi', model='mistral')",
}
# Loaded only by code that names them (the command, the server, integrations, extensions).
NAMED_ONLY = ("babyapi.cli", "babyapi.server", "babyapi.integrations", "babyapi._request_api")
NOT_AT_IMPORT = (*FIRST_USE, *NAMED_ONLY)

PRELUDE = (
    "import json, sys\n"
    "import babyapi\n"
    "KEY, URL, MSGS = {key!r}, {url!r}, {msgs}\n"
    "client = babyapi.BabyAPI(api_key=KEY, base_url=URL, max_retries=0)\n"
    "def run_async(call):\n"
    "    import asyncio\n"
    "    async def go():\n"
    "        async with babyapi.AsyncBabyAPI(api_key=KEY, base_url=URL, max_retries=0) as ac:\n"
    "            return await call(ac)\n"
    "    return asyncio.run(go())\n"
)


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _loaded_by_import(module: str = "babyapi") -> list[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    loaded: list[str] = json.loads(_run(code))
    return loaded


def _under(name: str, loaded: list[str]) -> bool:
    """Whether module ``name``, or any module in it, is among ``loaded``."""
    return any(m == name or m.startswith(name + ".") for m in loaded)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(api_key=API_KEY) as local:
        yield local


def test_import_babyapi_loads_no_capability_and_nothing_heavy() -> None:
    loaded = _loaded_by_import()
    ours = [name for name in loaded if name.startswith("babyapi.")]
    # What httpx itself loads is not ours to avoid (httpx 0.25's httpcore imports anyio, and
    # with it contextvars).
    by_httpx = set(_loaded_by_import("httpx"))
    assert [name for name in NOT_AT_IMPORT if _under(name, loaded) and name not in by_httpx] == []
    assert [name for name in ours if not name.startswith(ALLOWED_PREFIXES)] == []
    assert [name for name in HEAVY if name in loaded and name not in by_httpx] == []


def test_a_plain_chat_call_loads_no_capability(server: LocalServer) -> None:
    code = PRELUDE.format(key=API_KEY, url=server.base_url, msgs=MSGS) + (
        "answer = client.chat.completions.create(model='mistral', messages=MSGS)\n"
        "client.close()\n"
        "print(json.dumps([answer['object'], sorted(sys.modules)]))\n"
    )
    kind, loaded = json.loads(_run(code).splitlines()[-1])
    assert kind == "chat.completion"
    # Ours only: the call itself may load what httpx needs to send (contextvars, for one).
    ours = [name for name in NOT_AT_IMPORT if name.startswith("babyapi")]
    assert [name for name in ours if _under(name, loaded)] == []


@pytest.mark.parametrize("module", sorted(FIRST_USE))
def test_a_capability_loads_when_first_used(server: LocalServer, module: str) -> None:
    if not module.startswith("babyapi") and module in _loaded_by_import("httpx"):
        pytest.skip(f"this httpx loads {module} itself")
    code = PRELUDE.format(key=API_KEY, url=server.base_url, msgs=MSGS) + (
        f"before = {module!r} in sys.modules\n"
        "try:\n"
        + "".join(f"    {line}\n" for line in FIRST_USE[module].splitlines())
        + "finally:\n"
        "    client.close()\n"
        f"print(json.dumps([before, {module!r} in sys.modules]))\n"
    )
    assert json.loads(_run(code).splitlines()[-1]) == [False, True]


def test_lazy_public_names_are_the_modules_own() -> None:
    code = (
        "import babyapi, json\n"
        "from babyapi._servers import Server\n"
        "from babyapi._streaming import AsyncStream, Stream\n"
        "from babyapi._usage import UsageTracker\n"
        "names = ['Server', 'Stream', 'AsyncStream', 'UsageTracker', 'SSEEvent', 'ServerStatus',"
        " 'ModelUsage']\n"
        "print(json.dumps([all(n in dir(babyapi) for n in names), babyapi.Server is Server,"
        " babyapi.Stream is Stream, babyapi.AsyncStream is AsyncStream,"
        " babyapi.UsageTracker is UsageTracker, sorted(set(names) - set(babyapi.__all__))]))\n"
    )
    assert json.loads(_run(code)) == [True, True, True, True, True, []]
