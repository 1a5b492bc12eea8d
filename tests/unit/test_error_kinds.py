"""Mistakes caught before sending are also ValueError or TypeError; error codes are constants."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, Callable

import pytest

import babyapi
from babyapi import (
    APIConnectionError,
    BabyAPI,
    BabyAPIError,
    ErrorCode,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    RequestOptions,
    RetryBudget,
)

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "babyapi"
# Nothing is ever sent: every case fails before a request (port 9 is discard, never answered).
URL = "http://127.0.0.1:9"
MSGS = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BABYAPI_API_KEY", "BABY_API_KEY", "BABYAPI_DEFAULT_MODEL", "BABYAPI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def client(**settings: Any) -> BabyAPI:
    for name, value in (("api_key", "sk-kinds"), ("base_url", URL), ("max_retries", 0)):
        settings.setdefault(name, value)
    settings.setdefault("timeout_s", 0.5)
    return BabyAPI(**settings)


VALUE_MISTAKES: list[tuple[str, Callable[[], Any], str]] = [
    ("no key", lambda: BabyAPI(base_url=URL, api_key=None).models.list(), "API_KEY_REQUIRED"),
    ("no model", lambda: client().baby.infer("Hi"), "MODEL_REQUIRED"),
    (
        "blank model",
        lambda: client().chat.completions.create(model=" ", messages=MSGS),
        "MODEL_REQUIRED",
    ),
    ("no prompt", lambda: client().baby.infer({"model": "m"}), "PROMPT_REQUIRED"),
    ("infer neither", lambda: client().infer(model="m"), "INVALID_INFER_INPUT"),
    (
        "stream=True",
        lambda: client().chat.completions.create(model="m", messages=MSGS, stream=True),
        "STREAM_METHOD_REQUIRED",
    ),
    ("timeout 0", lambda: client(timeout_s=0), "INVALID_TIMEOUT"),
    ("negative retries", lambda: BabyAPI(base_url=URL, max_retries=-1), "INVALID_MAX_RETRIES"),
    ("bad base_url", lambda: client(base_url="ftp://x"), "INVALID_OPTIONS"),
    ("header line break", lambda: client(default_headers={"x-a": "1\n2"}), "INVALID_HEADERS"),
    (
        "unknown option key",
        lambda: client().models.list(request_options={"timeout": 1}),
        "INVALID_REQUEST_OPTIONS",
    ),
    (
        "NaN in body",
        lambda: client().chat.completions.create(
            model="m", messages=MSGS, temperature=float("nan")
        ),
        "INVALID_REQUEST_BODY",
    ),
    (
        "option given twice",
        lambda: client().baby.infer({"prompt": "Hi", "max_tokens": 5, "maxTokens": 6}, model="m"),
        "INVALID_OPTIONS",
    ),
    ("budget ratio", lambda: RetryBudget(ratio=-1.0), "INVALID_OPTIONS"),
]

TYPE_MISTAKES: list[tuple[str, Callable[[], Any], str]] = [
    ("key not a string", lambda: client(api_key=123), "INVALID_OPTIONS"),
    (
        "model not a string",
        lambda: client().chat.completions.create(model=3, messages=MSGS),
        "MODEL_REQUIRED",
    ),
    ("infer input", lambda: client().baby.infer(42, model="m"), "INVALID_INFER_INPUT"),
    ("timeout a string", lambda: client(timeout_s="30"), "INVALID_TIMEOUT"),
    ("retries a float", lambda: BabyAPI(base_url=URL, max_retries=1.0), "INVALID_MAX_RETRIES"),
    ("retries a bool", lambda: RequestOptions(max_retries=True), "INVALID_MAX_RETRIES"),
    ("headers a string", lambda: client(default_headers="x-a: 1"), "INVALID_HEADERS"),
    ("query a list", lambda: client().models.list(extra_query=[("a", "b")]), "INVALID_QUERY"),
    ("model id a number", lambda: client().models.retrieve(7), "MODEL_REQUIRED"),
    (
        "request_options a list",
        lambda: client().models.list(request_options=[1]),
        "INVALID_REQUEST_OPTIONS",
    ),
    (
        "messages a string",
        lambda: client().chat.completions.create(model="m", messages="Hi"),
        "INVALID_REQUEST_BODY",
    ),
    (
        "a set in the body",
        lambda: client().chat.completions.create(model="m", messages=MSGS, stop={"x"}),
        "INVALID_REQUEST_BODY",
    ),
    (
        "extra_body a list",
        lambda: client().chat.completions.create(model="m", messages=MSGS, extra_body=[1]),
        "INVALID_REQUEST_BODY",
    ),
    ("unknown setting", lambda: client(timeout=5), "INVALID_OPTIONS"),
    ("unknown with_options", lambda: client().with_options(retries=1), "INVALID_OPTIONS"),
    ("retry_budget a dict", lambda: client(retry_budget={"ratio": 0.1}), "INVALID_OPTIONS"),
    ("retry_read_timeouts 1", lambda: client(retry_read_timeouts=1), "INVALID_OPTIONS"),
    ("http_client", lambda: client(http_client=object()), "INVALID_OPTIONS"),
]


@pytest.mark.parametrize(
    ("case", "mistake", "code"), VALUE_MISTAKES, ids=[c[0] for c in VALUE_MISTAKES]
)
def test_a_bad_value_is_a_value_error(case: str, mistake: Callable[[], Any], code: str) -> None:
    with pytest.raises(ValueError) as info:
        mistake()
    error = info.value
    assert isinstance(error, BabyAPIError) and isinstance(error, InvalidArgumentError)
    assert not isinstance(error, TypeError)
    assert error.code == code and error.attempts is None


@pytest.mark.parametrize(
    ("case", "mistake", "code"), TYPE_MISTAKES, ids=[c[0] for c in TYPE_MISTAKES]
)
def test_a_wrong_type_is_a_type_error(case: str, mistake: Callable[[], Any], code: str) -> None:
    with pytest.raises(TypeError) as info:
        mistake()
    error = info.value
    assert isinstance(error, InvalidArgumentTypeError) and isinstance(error, BabyAPIError)
    assert error.code == code


def test_a_fallback_can_let_mistakes_through() -> None:
    def answer(c: BabyAPI) -> str:
        try:
            c.chat.completions.create(model="m", messages=MSGS)
        except InvalidArgumentError:
            raise
        except BabyAPIError:
            return "fallback"
        return "answer"

    assert answer(client()) == "fallback"  # nothing listens on port 9
    with pytest.raises(ValueError):
        answer(client(api_key=None))


def test_failures_from_the_network_are_not_value_errors() -> None:
    with pytest.raises(APIConnectionError) as info:
        client().models.list()
    assert not isinstance(info.value, (ValueError, TypeError))


def test_the_kind_survives_pickling() -> None:
    with pytest.raises(InvalidArgumentTypeError) as info:
        client(timeout_s="30")
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is InvalidArgumentTypeError
    assert isinstance(again, TypeError) and isinstance(again, ValueError)
    assert again.code == ErrorCode.INVALID_TIMEOUT and again.message == info.value.message


# --- the codes ---------------------------------------------------------------------------------

CODES = {name: value for name, value in vars(ErrorCode).items() if name.isupper()}


def test_codes_are_their_own_names_as_plain_strings() -> None:
    assert CODES, "ErrorCode lists no codes"
    for name, value in CODES.items():
        assert type(value) is str and value == name
    with pytest.raises(BabyAPIError) as info:
        client().baby.infer("Hi")
    assert info.value.code == ErrorCode.MODEL_REQUIRED == "MODEL_REQUIRED"
    assert babyapi.ErrorCode is ErrorCode


def test_0_2_0_codes_are_kept() -> None:
    old = [
        "API_KEY_REQUIRED",
        "MODEL_REQUIRED",
        "PROMPT_REQUIRED",
        "INVALID_INFER_INPUT",
        "INVALID_OPTIONS",
        "INVALID_REQUEST_OPTIONS",
        "INVALID_REQUEST_BODY",
        "INVALID_HEADERS",
        "INVALID_TIMEOUT",
        "INVALID_MAX_RETRIES",
        "STREAM_METHOD_REQUIRED",
        "TIMEOUT",
    ]
    assert set(old) <= set(CODES)


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if "server" in path.relative_to(SRC).parts:
            continue  # the local server speaks the wire's lower-case codes, not the SDK's
        found |= set(re.findall(r'\bcode="([A-Z_]+)"', path.read_text()))
        found |= set(re.findall(r"\bErrorCode\.([A-Z_]+)", path.read_text()))
    return found


def test_every_code_the_sdk_sets_is_a_constant() -> None:
    missing = _codes_in_source() - set(CODES)
    assert not missing, f"add these to babyapi.ErrorCode (and docs/errors.md): {sorted(missing)}"


def test_every_constant_is_documented() -> None:
    page = (ROOT / "docs" / "errors.md").read_text()
    undocumented = [code for code in CODES if f"`{code}`" not in page]
    assert not undocumented, undocumented


VALIDATION_CODES = {
    "API_KEY_REQUIRED",
    "MODEL_REQUIRED",
    "PROMPT_REQUIRED",
    "INVALID_INFER_INPUT",
    "INVALID_OPTIONS",
    "INVALID_REQUEST_OPTIONS",
    "INVALID_REQUEST_BODY",
    "INVALID_HEADERS",
    "INVALID_QUERY",
    "INVALID_TIMEOUT",
    "INVALID_MAX_RETRIES",
    "STREAM_METHOD_REQUIRED",
}


def test_no_refusal_is_raised_as_a_bare_babyapierror() -> None:
    bare = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(r"BabyAPIError\((.{0,600}?)\bcode=\"([A-Z_]+)\"", text, re.S):
            if match.group(2) in VALIDATION_CODES and "BabyAPIError(" not in match.group(1):
                bare.append(f"{path.name}: {match.group(2)}")
    assert not bare, "raise InvalidArgumentError (or ...TypeError) for these: " + ", ".join(bare)
