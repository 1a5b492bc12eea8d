"""Reading vLLM's and llama-server's Prometheus text into the three figures that tell load."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi import BabyAPIError
from babyapi.vllm.status import parse_metrics

VLLM_TEXT = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="tiny \\"chat\\", v2"} 3.0
vllm:num_requests_running{engine="1",model_name="tiny \\"chat\\", v2"} 1.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 5.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25
vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.5
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="m"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 4.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 4.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 0.12
"""


def test_vllm_gauges_sum_over_engines_and_the_cache_is_the_fullest() -> None:
    metrics = parse_metrics(VLLM_TEXT)
    assert metrics["requests_running"] == 4.0
    assert metrics["requests_waiting"] == 5.0
    assert metrics["kv_cache_usage"] == 0.5
    assert metrics["text"] == VLLM_TEXT


def test_a_server_without_the_gauges_gives_none() -> None:
    metrics = parse_metrics("# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total 1.5\n")
    assert metrics["requests_running"] is None
    assert metrics["kv_cache_usage"] is None


@pytest.mark.parametrize(
    "text",
    [
        "<html><body>502 Bad Gateway</body></html>",
        '{"error": "x"}',
        "vllm:num_requests_running abc\n",
    ],
)
def test_text_that_is_not_prometheus_is_an_sdk_error(text: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        parse_metrics(text)
    assert info.value.code == "INVALID_RESPONSE"


label_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(label_values, st.integers(0, 10_000), st.floats(0, 1)), min_size=1, max_size=4
    )
)
def test_any_model_names_and_values_read_back(engines: list[tuple[str, int, float]]) -> None:
    lines = ["# TYPE vllm:num_requests_running gauge"]
    lines += [
        f'vllm:num_requests_running{{engine="{i}",model_name="{_escaped(name)}"}} {running}'
        for i, (name, running, _) in enumerate(engines)
    ]
    lines.append("# TYPE vllm:kv_cache_usage_perc gauge")
    lines += [
        f'vllm:kv_cache_usage_perc{{engine="{i}",model_name="{_escaped(name)}"}} {used!r}'
        for i, (name, _, used) in enumerate(engines)
    ]
    metrics = parse_metrics("\n".join(lines) + "\n")
    assert metrics["requests_running"] == sum(running for _, running, _ in engines)
    assert metrics["kv_cache_usage"] == max(used for _, _, used in engines)
    assert metrics["requests_waiting"] is None
