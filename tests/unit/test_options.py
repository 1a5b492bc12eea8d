"""RequestOptions: normalisation, validation, precedence over the client config, key hygiene."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi import RequestOptions
from babyapi._config import ClientConfig, build_config
from babyapi._errors import BabyAPIError
from babyapi._options import as_request_options, resolve_settings

KEY = "sk-test-SECRET-0123456789"
OTHER_KEY = "sk-other-SECRET-9876543210"


def make_config(**overrides: Any) -> ClientConfig:
    args: Dict[str, Any] = {
        "api_key": KEY,
        "base_url": "http://127.0.0.1:9",
        "timeout_s": 60.0,
        "max_retries": 2,
        "retry_base_delay_s": 0.25,
        "default_model": None,
        "default_headers": None,
        "deadline_s": None,
        "environ": {},
    }
    args.update(overrides)
    return build_config(**args)


def test_dict_and_dataclass_are_equivalent() -> None:
    as_dict: Dict[str, Any] = {
        "api_key": OTHER_KEY,
        "timeout_s": 5,
        "max_retries": 1,
        "headers": {"X-A": "1"},
    }
    assert as_request_options(as_dict) == RequestOptions(**as_dict)
    instance = RequestOptions(timeout_s=3.0)
    assert as_request_options(instance) is instance
    assert as_request_options(None) == RequestOptions()
    assert as_request_options({}) == RequestOptions()


@pytest.mark.parametrize(
    "value",
    [{"timeout": 5}, {"retries": 1}, {"api_key": KEY, "Headers": {}}, {"stream": True}, {1: 2}],
    ids=["timeout", "retries", "Headers case", "stream", "int key"],
)
def test_unknown_keys(value: Mapping[Any, Any]) -> None:
    with pytest.raises(BabyAPIError) as info:
        as_request_options(value)
    assert info.value.code == "INVALID_REQUEST_OPTIONS"
    assert "unknown keys" in info.value.message
    assert "timeout_s" in info.value.message, "the message should list the valid keys"
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "value", ["timeout_s=3", [("timeout_s", 3)], 3], ids=["str", "list", "int"]
)
def test_not_a_mapping(value: Any) -> None:
    with pytest.raises(BabyAPIError) as info:
        as_request_options(value)
    assert info.value.code == "INVALID_REQUEST_OPTIONS"


BAD_SECONDS: List[Any] = [
    0,
    0.0,
    -1,
    -0.001,
    math.nan,
    math.inf,
    -math.inf,
    "30",
    True,
    False,
    [30],
]
SECONDS_FIELDS = ["timeout_s", "deadline_s", "stream_idle_timeout_s", "headers_timeout_s"]


@pytest.mark.parametrize("field", SECONDS_FIELDS)
@pytest.mark.parametrize("value", BAD_SECONDS, ids=repr)
def test_bad_seconds(field: str, value: Any) -> None:
    with pytest.raises(BabyAPIError) as info:
        RequestOptions(**{field: value})
    assert info.value.code == "INVALID_TIMEOUT"
    assert f"request_options.{field}" in info.value.message
    with pytest.raises(BabyAPIError) as from_dict:
        as_request_options({field: value})
    assert from_dict.value.code == "INVALID_TIMEOUT"


@pytest.mark.parametrize("value", [-1, 1.5, 2.0, "2", True, [1]], ids=repr)
def test_bad_max_retries(value: Any) -> None:
    with pytest.raises(BabyAPIError) as info:
        RequestOptions(max_retries=value)
    assert info.value.code == "INVALID_MAX_RETRIES"
    assert "request_options.max_retries" in info.value.message


@pytest.mark.parametrize("value", [0, 1, 10])
def test_good_max_retries(value: int) -> None:
    assert RequestOptions(max_retries=value).max_retries == value


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "a\nb"},
        {"X-A": "a\r\nInjected: 1"},
        {"X-A": "a\x00b"},
        {"X A": "1"},
        {"X:A": "1"},
        {"": "1"},
        {"X-\u00e9": "1"},
        {"X-A\n": "1"},
        {1: "1"},
        {"X-A": b"bytes"},
        {"X-A": True},
        {"X-A": ["1"]},
        [("X-A", "1")],
        "X-A: 1",
    ],
    ids=repr,
)
def test_bad_headers(headers: Any) -> None:
    with pytest.raises(BabyAPIError) as info:
        RequestOptions(headers=headers)
    assert info.value.code == "INVALID_HEADERS"
    assert "request_options.headers" in info.value.message


def test_header_values_none_dropped_numbers_stringified() -> None:
    settings_ = resolve_settings(
        make_config(), {"headers": {"X-None": None, "X-Int": 3, "X-Float": 1.5}}, stream=False
    )
    assert settings_.headers == {"x-int": "3", "x-float": "1.5"}


def test_defaults_from_config() -> None:
    config = make_config(
        timeout_s=12.0, max_retries=4, deadline_s=30.0, default_headers={"X-D": "d"}
    )
    s = resolve_settings(config, None, stream=False)
    assert (s.api_key, s.timeout_s, s.max_retries, s.deadline_s) == (KEY, 12.0, 4, 30.0)
    assert s.headers == {"x-d": "d"}
    assert (s.stream_idle_timeout_s, s.headers_timeout_s) == (None, None)


def test_request_options_win_over_config() -> None:
    config = make_config(
        timeout_s=12.0,
        max_retries=4,
        deadline_s=30.0,
        default_headers={"X-D": "d", "X-O": "config"},
    )
    options = {
        "api_key": OTHER_KEY,
        "timeout_s": 3,
        "max_retries": 0,
        "deadline_s": 5,
        "headers": {"X-O": "call", "X-N": "n"},
        "stream_idle_timeout_s": 7,
        "headers_timeout_s": 2,
    }
    s = resolve_settings(config, options, stream=False)
    assert (s.api_key, s.timeout_s, s.max_retries, s.deadline_s) == (OTHER_KEY, 3.0, 0, 5.0)
    assert s.headers == {"x-d": "d", "x-o": "call", "x-n": "n"}
    assert (s.stream_idle_timeout_s, s.headers_timeout_s) == (7.0, 2.0)
    # The config itself is unchanged by a call's options.
    assert dict(config.default_headers) == {"x-d": "d", "x-o": "config"}


@pytest.mark.parametrize(
    ("client", "call", "expected"),
    [(None, None, None), (True, None, True), (None, False, False), (True, False, False)],
)
def test_retry_read_timeouts_call_wins_over_client(client: Any, call: Any, expected: Any) -> None:
    s = resolve_settings(
        make_config(retry_read_timeouts=client),
        RequestOptions(retry_read_timeouts=call),
        stream=False,
    )
    assert s.retry_read_timeouts is expected


def test_streams_have_no_read_timeout_and_no_retries_by_default() -> None:
    config = make_config(timeout_s=12.0, max_retries=5)
    s = resolve_settings(config, None, stream=True)
    assert s.timeout_s is None
    assert s.max_retries == 0


def test_stream_timeout_and_retries_from_options() -> None:
    s = resolve_settings(make_config(), {"timeout_s": 4, "max_retries": 3}, stream=True)
    assert s.timeout_s == 4.0
    assert s.max_retries == 0, "streams are never retried, even when max_retries is passed"


@pytest.mark.parametrize("env", [{}, {"BABYAPI_API_KEY": ""}, {"BABY_API_KEY": "  "}], ids=repr)
def test_api_key_required(env: Dict[str, str]) -> None:
    config = make_config(api_key=None, environ=env)
    for stream in (False, True):
        with pytest.raises(BabyAPIError) as info:
            resolve_settings(config, None, stream=stream)
        assert info.value.code == "API_KEY_REQUIRED"
        assert "BABYAPI_API_KEY" in info.value.message and "api_key" in info.value.message
        assert "any non-empty key" in info.value.message  # what a keyless local server takes


def test_api_key_from_request_options_alone_suffices() -> None:
    config = make_config(api_key=None)
    assert resolve_settings(config, {"api_key": OTHER_KEY}, stream=False).api_key == OTHER_KEY


def test_non_string_api_key() -> None:
    with pytest.raises(BabyAPIError) as info:
        RequestOptions(api_key=12345)  # type: ignore[arg-type]
    assert info.value.code == "INVALID_REQUEST_OPTIONS"


def test_blank_request_api_key_counts_as_absent() -> None:
    s = resolve_settings(make_config(), {"api_key": "   "}, stream=False)
    assert s.api_key == KEY


# --- the key never leaks ---------------------------------------------------------------------


def test_key_not_in_reprs() -> None:
    options = RequestOptions(api_key=KEY, timeout_s=3.0, headers={"X-A": "1"})
    assert KEY not in repr(options) and KEY not in str(options)
    assert "timeout_s=3.0" in repr(options)
    config = make_config()
    assert KEY not in repr(config) and KEY not in str(config)
    settings_ = resolve_settings(config, options, stream=False)
    assert KEY not in repr(settings_)


@pytest.mark.parametrize(
    "options",
    [
        {"api_key": KEY, "timeout_s": -1},
        {"api_key": KEY, "max_retries": -1},
        {"api_key": KEY, "headers": {"X-A": "x\n"}},
        {"api_key": KEY, "headers": {"Authorization": f"Bearer {KEY}\n"}},
        {"api_key": KEY, "headers": {"Authorization": [KEY]}},
        {"api_key": KEY, "bogus": 1},
        {"api_key": KEY, "deadline_s": "soon"},
    ],
    ids=[
        "timeout",
        "retries",
        "header value",
        "auth header newline",
        "auth header list",
        "unknown key",
        "deadline",
    ],
)
def test_key_not_in_error_messages(options: Dict[str, Any]) -> None:
    with pytest.raises(BabyAPIError) as info:
        resolve_settings(make_config(), options, stream=False)
    error = info.value
    for text in (str(error), repr(error), error.message, str(error.details)):
        assert KEY not in text


# --- hypothesis ------------------------------------------------------------------------------

_GOOD: Dict[str, st.SearchStrategy[Any]] = {
    "api_key": st.none() | st.just(OTHER_KEY),
    "timeout_s": st.none() | st.floats(0.001, 1e6) | st.integers(1, 10_000),
    "deadline_s": st.none() | st.floats(0.001, 1e6),
    "stream_idle_timeout_s": st.none() | st.floats(0.001, 1e6),
    "headers_timeout_s": st.none() | st.floats(0.001, 1e6),
    "max_retries": st.none() | st.integers(0, 100),
    "retry_read_timeouts": st.none() | st.booleans(),
    "headers": st.none()
    | st.dictionaries(
        st.from_regex(r"\AX-[A-Za-z0-9-]{1,10}\Z"), st.from_regex(r"\A[ -~]{0,20}\Z"), max_size=3
    ),
}
_BAD: Dict[str, Tuple[str, st.SearchStrategy[Any]]] = {
    "timeout_s": ("INVALID_TIMEOUT", st.sampled_from([0, -1.0, math.nan, math.inf, "1", True])),
    "deadline_s": ("INVALID_TIMEOUT", st.floats(max_value=0) | st.just(math.nan)),
    "stream_idle_timeout_s": ("INVALID_TIMEOUT", st.booleans() | st.text(max_size=3)),
    "headers_timeout_s": ("INVALID_TIMEOUT", st.integers(max_value=0)),
    "max_retries": (
        "INVALID_MAX_RETRIES",
        st.integers(max_value=-1) | st.floats(allow_nan=False) | st.booleans(),
    ),
    "headers": (
        "INVALID_HEADERS",
        st.builds(lambda v: {"X-A": "a" + v + "b"}, st.sampled_from(["\n", "\r", "\x00"])),
    ),
    "api_key": ("INVALID_REQUEST_OPTIONS", st.integers() | st.binary(min_size=1)),
    "retry_read_timeouts": ("INVALID_REQUEST_OPTIONS", st.sampled_from([0, 1, "yes", "true"])),
}


@settings(max_examples=100, deadline=None)
@given(data=st.data(), stream=st.booleans())
def test_valid_option_dicts(data: st.DataObject, stream: bool) -> None:
    names = data.draw(st.lists(st.sampled_from(sorted(_GOOD)), unique=True))
    options = {name: data.draw(_GOOD[name], label=name) for name in names}
    config = make_config(timeout_s=9.0, max_retries=3, deadline_s=None)
    s = resolve_settings(config, options, stream=stream)

    def given_or(name: str, default: Any) -> Any:
        return default if options.get(name) is None else options[name]

    assert s.api_key == given_or("api_key", KEY)
    assert s.max_retries == (0 if stream else given_or("max_retries", 3))
    expected_timeout = given_or("timeout_s", None if stream else 9.0)
    assert s.timeout_s == (None if expected_timeout is None else float(expected_timeout))
    assert s.deadline_s == given_or("deadline_s", None)
    assert s.retry_read_timeouts is given_or("retry_read_timeouts", None)
    assert s.headers == {k.lower(): v for k, v in (options.get("headers") or {}).items()}
    assert KEY not in repr(s) and OTHER_KEY not in repr(s)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_invalid_option_dicts(data: st.DataObject) -> None:
    good_names = data.draw(st.lists(st.sampled_from(sorted(_GOOD)), unique=True))
    options: Dict[str, Any] = {name: data.draw(_GOOD[name]) for name in good_names}
    bad_name = data.draw(st.sampled_from(sorted(_BAD)))
    code, strategy = _BAD[bad_name]
    options[bad_name] = data.draw(strategy, label=bad_name)
    with pytest.raises(BabyAPIError) as info:
        resolve_settings(make_config(), options, stream=data.draw(st.booleans()))
    assert info.value.code == code
    assert KEY not in str(info.value) and OTHER_KEY not in str(info.value)


@settings(max_examples=50, deadline=None)
@given(extra=st.text(min_size=1, max_size=12).filter(lambda k: k not in _GOOD))
def test_any_unknown_key_is_refused(extra: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        as_request_options({"timeout_s": 1, extra: None})
    assert info.value.code == "INVALID_REQUEST_OPTIONS"


def test_one_options_object_reused_across_clients_merges_over_each_clients_config() -> None:
    """A batch job passes one RequestOptions to every request: the merge is shared per client."""
    options = RequestOptions(max_retries=0, deadline_s=9.0)
    first = make_config(timeout_s=7.0, default_headers={"x-team": "a"})
    second = make_config(api_key=OTHER_KEY, timeout_s=3.0, default_headers={"x-team": "b"})
    for _ in range(2):  # the second round reads what the first worked out
        for config, key, timeout, team in ((first, KEY, 7.0, "a"), (second, OTHER_KEY, 3.0, "b")):
            call = resolve_settings(config, options, stream=False)
            stream = resolve_settings(config, options, stream=True)
            assert (call.api_key, call.timeout_s, call.max_retries) == (key, timeout, 0)
            assert (call.deadline_s, call.headers) == (9.0, {"x-team": team})
            assert stream.timeout_s is None  # streams keep no read timeout of their own
    # Options with headers, or a dict, are merged per call: a header added later is sent.
    headers = {"x-one": "1"}
    assert resolve_settings(first, {"headers": headers}, stream=False).headers["x-one"] == "1"
    headers["x-one"] = "2"
    assert resolve_settings(first, {"headers": headers}, stream=False).headers["x-one"] == "2"
