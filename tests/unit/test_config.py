"""Client configuration: arguments over environment over defaults, base_url cleanup, with_changes."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

from babyapi._config import DEFAULT_BASE_URL, ClientConfig, build_config
from babyapi._errors import BabyAPIError

KEY = "sk-config-SECRET-42"


def make_config(environ: Optional[Dict[str, str]] = None, **overrides: Any) -> ClientConfig:
    args: Dict[str, Any] = {
        "api_key": None,
        "base_url": None,
        "timeout_s": 60.0,
        "max_retries": 2,
        "retry_base_delay_s": 0.25,
        "default_model": None,
        "default_headers": None,
        "deadline_s": None,
        "environ": {} if environ is None else environ,
    }
    args.update(overrides)
    return build_config(**args)


def test_defaults() -> None:
    config = make_config()
    assert config.api_key is None
    assert config.base_url == DEFAULT_BASE_URL == "https://api.babyapi.org"
    assert (config.timeout_s, config.max_retries, config.retry_base_delay_s) == (60.0, 2, 0.25)
    assert config.default_model is None
    assert dict(config.default_headers) == {}
    assert config.deadline_s is None


# (name, environ, api_key argument, expected key)
KEY_CASES = [
    ("BABYAPI_API_KEY", {"BABYAPI_API_KEY": "a"}, None, "a"),
    ("BABY_API_KEY fallback", {"BABY_API_KEY": "b"}, None, "b"),
    (
        "BABYAPI_API_KEY wins over BABY_API_KEY",
        {"BABYAPI_API_KEY": "a", "BABY_API_KEY": "b"},
        None,
        "a",
    ),
    ("empty BABYAPI_API_KEY falls back", {"BABYAPI_API_KEY": "", "BABY_API_KEY": "b"}, None, "b"),
    ("argument wins over both", {"BABYAPI_API_KEY": "a", "BABY_API_KEY": "b"}, "arg", "arg"),
    ("blank argument falls back to env", {"BABYAPI_API_KEY": "a"}, "   ", "a"),
    ("empty argument falls back to env", {"BABY_API_KEY": "b"}, "", "b"),
    ("nothing anywhere", {}, None, None),
    ("blank env is no key", {"BABY_API_KEY": "  "}, None, None),
]


@pytest.mark.parametrize(
    ("environ", "api_key", "expected"), [c[1:] for c in KEY_CASES], ids=[c[0] for c in KEY_CASES]
)
def test_api_key_sources(
    environ: Dict[str, str], api_key: Optional[str], expected: Optional[str]
) -> None:
    assert make_config(environ, api_key=api_key).api_key == expected


def test_environment_settings_and_arguments_win() -> None:
    env = {
        "BABYAPI_BASE_URL": "http://env:1/",
        "BABYAPI_DEFAULT_MODEL": "env-model",
        "BABYAPI_API_KEY": "k",
    }
    from_env = make_config(env)
    assert (from_env.base_url, from_env.default_model) == ("http://env:1", "env-model")
    from_args = make_config(env, base_url="http://arg:2", default_model="arg-model")
    assert (from_args.base_url, from_args.default_model) == ("http://arg:2", "arg-model")


def test_embedding_and_rerank_defaults_come_from_their_own_variables() -> None:
    env = {
        "BABYAPI_DEFAULT_MODEL": "chat-model",
        "BABYAPI_DEFAULT_EMBEDDING_MODEL": " env-embed ",
        "BABYAPI_DEFAULT_RERANK_MODEL": "env-rerank",
    }
    config = make_config(env)
    assert (config.default_embedding_model, config.default_rerank_model) == (
        "env-embed",
        "env-rerank",
    )
    chosen = make_config(env, default_embedding_model="arg-embed")
    assert chosen.default_embedding_model == "arg-embed"
    assert make_config({"BABYAPI_DEFAULT_MODEL": "chat"}).default_embedding_model is None
    changed = config.with_changes(default_rerank_model="other")
    assert (changed.default_rerank_model, changed.default_embedding_model) == ("other", "env-embed")


def test_blank_default_model_falls_back() -> None:
    assert make_config({"BABYAPI_DEFAULT_MODEL": " m "}, default_model="  ").default_model == "m"
    assert make_config({"BABYAPI_DEFAULT_MODEL": "   "}).default_model is None


def test_process_environment_not_read_when_environ_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BABYAPI_API_KEY", "from-process")
    monkeypatch.setenv("BABYAPI_BASE_URL", "http://process:1")
    config = make_config({})
    assert config.api_key is None and config.base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.babyapi.org", "https://api.babyapi.org"),
        ("https://api.babyapi.org/", "https://api.babyapi.org"),
        ("https://api.babyapi.org///", "https://api.babyapi.org"),
        ("https://api.babyapi.org/v1", "https://api.babyapi.org"),
        ("https://api.babyapi.org/v1/", "https://api.babyapi.org"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("  http://host:1/  ", "http://host:1"),
        ("https://gateway.example/openai/v1", "https://gateway.example/openai"),
        ("https://gateway.example/v1beta", "https://gateway.example/v1beta"),
        ("HTTP://Host:1", "HTTP://Host:1"),
    ],
)
def test_base_url_cleanup(given: str, expected: str) -> None:
    assert make_config(base_url=given).base_url == expected
    assert make_config({"BABYAPI_BASE_URL": given}).base_url == expected


@pytest.mark.parametrize(
    "given",
    [
        "api.babyapi.org",
        "127.0.0.1:8000",
        "localhost",
        "ftp://host",
        "http://",
        "https:///",
        "http://a b",
        "//host",
    ],
)
def test_base_url_without_http_scheme(given: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        make_config(base_url=given)
    assert info.value.code == "INVALID_OPTIONS"
    assert "http" in info.value.message and repr(given) in info.value.message


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"base_url": 8000}, "INVALID_OPTIONS"),
        ({"api_key": 123}, "INVALID_OPTIONS"),
        ({"default_model": ["m"]}, "INVALID_OPTIONS"),
        ({"timeout_s": 0}, "INVALID_TIMEOUT"),
        ({"timeout_s": None}, "INVALID_TIMEOUT"),
        ({"timeout_s": float("nan")}, "INVALID_TIMEOUT"),
        ({"deadline_s": -1}, "INVALID_TIMEOUT"),
        ({"max_retries": -1}, "INVALID_MAX_RETRIES"),
        ({"max_retries": 1.0}, "INVALID_MAX_RETRIES"),
        ({"retry_base_delay_s": -0.1}, "INVALID_OPTIONS"),
        ({"retry_base_delay_s": True}, "INVALID_OPTIONS"),
        ({"retry_base_delay_s": float("nan")}, "INVALID_OPTIONS"),
        ({"default_headers": {"X-A": "1\r\n"}}, "INVALID_HEADERS"),
        ({"default_headers": "X-A: 1"}, "INVALID_HEADERS"),
        ({"retry_read_timeouts": "yes"}, "INVALID_OPTIONS"),
        ({"retry_read_timeouts": 1}, "INVALID_OPTIONS"),
    ],
    ids=repr,
)
def test_bad_arguments(overrides: Dict[str, Any], code: str) -> None:
    with pytest.raises(BabyAPIError) as info:
        make_config(**overrides)
    assert info.value.code == code


def test_retry_base_delay_zero_allowed() -> None:
    assert make_config(retry_base_delay_s=0).retry_base_delay_s == 0.0


def test_config_is_frozen_and_headers_are_read_only() -> None:
    headers = {"X-A": "1"}
    config = make_config(default_headers=headers)
    headers["X-A"] = "changed"
    assert dict(config.default_headers) == {
        "x-a": "1"
    }  # names are case-insensitive: kept lower-cased
    with pytest.raises(AttributeError):
        config.timeout_s = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.default_headers["X-B"] = "2"  # type: ignore[index]


def test_key_not_in_repr() -> None:
    config = make_config(api_key=KEY)
    assert KEY not in repr(config) and KEY not in str(config)
    assert KEY not in repr(config.with_changes(timeout_s=3))


def test_with_changes() -> None:
    config = make_config(api_key=KEY, default_headers={"X-A": "1"})
    changed = config.with_changes(timeout_s=5, max_retries=0, base_url="http://127.0.0.1:9/v1/")
    assert (changed.timeout_s, changed.max_retries, changed.base_url) == (
        5.0,
        0,
        "http://127.0.0.1:9",
    )
    assert changed.api_key == KEY and dict(changed.default_headers) == {"x-a": "1"}
    # The original is untouched.
    assert (config.timeout_s, config.max_retries, config.base_url) == (60.0, 2, DEFAULT_BASE_URL)
    assert config.with_changes() == config


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"timeout_s": -1}, "INVALID_TIMEOUT"),
        ({"max_retries": "3"}, "INVALID_MAX_RETRIES"),
        ({"base_url": "localhost:8000"}, "INVALID_OPTIONS"),
        ({"default_headers": {"Bad Name": "1"}}, "INVALID_HEADERS"),
        ({"timeout": 5}, "INVALID_OPTIONS"),
    ],
    ids=repr,
)
def test_with_changes_validates(changes: Dict[str, Any], code: str) -> None:
    config = make_config(api_key=KEY)
    with pytest.raises(BabyAPIError) as info:
        config.with_changes(**changes)
    assert info.value.code == code
    assert KEY not in str(info.value)


def test_with_changes_unknown_setting_lists_valid_ones() -> None:
    with pytest.raises(BabyAPIError) as info:
        make_config().with_changes(timeout=5)
    assert "'timeout': use timeout_s instead" in info.value.message


@pytest.mark.parametrize("raw", [KEY + "\n", f" {KEY}\r\n", KEY + "\t"])
def test_api_key_whitespace_is_stripped_or_refused(raw: str) -> None:
    for config_args in ({"api_key": raw}, {"environ": {"BABYAPI_API_KEY": raw}}):
        try:
            config = make_config(**config_args)
        except BabyAPIError as error:
            assert KEY not in str(error)
            continue
        assert config.api_key == KEY
