"""baby.infer normalisation and client.infer routing: tables of inputs to exact wire bodies,
plus hypothesis properties over option aliases."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from babyapi._errors import BabyAPIError
from babyapi._infer import COMPLETIONS_PATH, OPTION_ALIASES, baby_infer_body, route_infer

CHAT_PATH = "/v1/chat/completions"

# (name, input, **options, default model, exact wire body)
BODY_CASES: List[Tuple[str, Any, Dict[str, Any], Optional[str], Dict[str, Any]]] = [
    ("string input", "Hello", {}, "m", {"model": "m", "prompt": "Hello"}),
    ("string input keeps spaces", "  Hi  ", {}, "m", {"model": "m", "prompt": "  Hi  "}),
    ("dict prompt", {"prompt": "Hi", "model": "x"}, {}, None, {"model": "x", "prompt": "Hi"}),
    (
        "payload model beats default",
        {"prompt": "Hi", "model": "x"},
        {},
        "d",
        {"model": "x", "prompt": "Hi"},
    ),
    (
        "payload model is stripped",
        {"prompt": "Hi", "model": " x "},
        {},
        None,
        {"model": "x", "prompt": "Hi"},
    ),
    (
        "blank payload model uses default",
        {"prompt": "Hi", "model": "  "},
        {},
        "d",
        {"model": "d", "prompt": "Hi"},
    ),
    (
        "None payload model uses default",
        {"prompt": "Hi", "model": None},
        {},
        "d",
        {"model": "d", "prompt": "Hi"},
    ),
    ("model as keyword", "Hi", {"model": "kw"}, "d", {"model": "kw", "prompt": "Hi"}),
    ("input key", {"input": "Hi"}, {}, "m", {"model": "m", "prompt": "Hi"}),
    ("text key", {"text": "Hi"}, {}, "m", {"model": "m", "prompt": "Hi"}),
    (
        "prompt beats input and text",
        {"text": "c", "input": "b", "prompt": "a"},
        {},
        "m",
        {"model": "m", "prompt": "a"},
    ),
    ("input beats text", {"text": "c", "input": "b"}, {}, "m", {"model": "m", "prompt": "b"}),
    (
        "blank prompt skipped",
        {"prompt": "   ", "input": "b"},
        {},
        "m",
        {"model": "m", "prompt": "b"},
    ),
    (
        "empty prompt and input skipped",
        {"prompt": "", "input": "\n\t", "text": "c"},
        {},
        "m",
        {"model": "m", "prompt": "c"},
    ),
    ("None prompt skipped", {"prompt": None, "text": "c"}, {}, "m", {"model": "m", "prompt": "c"}),
    (
        "keyword prompt beats payload prompt",
        {"prompt": "a"},
        {"prompt": "kw"},
        "m",
        {"model": "m", "prompt": "kw"},
    ),
    (
        "snake_case top-level options",
        {"prompt": "Hi", "max_tokens": 5, "temperature": 0.5, "top_p": 0.9, "top_k": 40},
        {},
        "m",
        {
            "model": "m",
            "prompt": "Hi",
            "max_tokens": 5,
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 40,
        },
    ),
    (
        "camelCase aliases become snake_case",
        {
            "prompt": "Hi",
            "maxTokens": 5,
            "topP": 0.9,
            "topK": 3,
            "presencePenalty": 0.1,
            "frequencyPenalty": -0.2,
        },
        {},
        "m",
        {
            "model": "m",
            "prompt": "Hi",
            "max_tokens": 5,
            "top_p": 0.9,
            "top_k": 3,
            "presence_penalty": 0.1,
            "frequency_penalty": -0.2,
        },
    ),
    (
        "nested camelCase options",
        {"prompt": "Hi", "options": {"maxTokens": 7, "stop": ["\n"]}},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "max_tokens": 7, "stop": ["\n"]},
    ),
    (
        "nested options win over top-level",
        {"prompt": "Hi", "max_tokens": 5, "temperature": 1.0, "options": {"maxTokens": 9}},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "max_tokens": 9, "temperature": 1.0},
    ),
    (
        "nested snake beats top-level camel",
        {"prompt": "Hi", "topP": 0.1, "options": {"top_p": 0.2}},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "top_p": 0.2},
    ),
    (
        "keyword options",
        "Hi",
        {"maxTokens": 4, "stop": "END"},
        "m",
        {"model": "m", "prompt": "Hi", "max_tokens": 4, "stop": "END"},
    ),
    (
        "None values dropped top-level and nested",
        {
            "prompt": "Hi",
            "max_tokens": None,
            "temperature": 0.0,
            "options": {"topP": None, "stop": None},
        },
        {},
        "m",
        {"model": "m", "prompt": "Hi", "temperature": 0.0},
    ),
    (
        "nested None does not erase top-level value",
        {"prompt": "Hi", "max_tokens": 5, "options": {"max_tokens": None}},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "max_tokens": 5},
    ),
    (
        "options None is no options",
        {"prompt": "Hi", "options": None},
        {},
        "m",
        {"model": "m", "prompt": "Hi"},
    ),
    ("empty options", {"prompt": "Hi", "options": {}}, {}, "m", {"model": "m", "prompt": "Hi"}),
    (
        "same value under both spellings is fine",
        {"prompt": "Hi", "max_tokens": 5, "maxTokens": 5},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "max_tokens": 5},
    ),
    (
        "unknown options pass through unchanged",
        {"prompt": "Hi", "seed": 7, "options": {"repetition_penalty": 1.1}},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "seed": 7, "repetition_penalty": 1.1},
    ),
    (
        "int temperature allowed",
        {"prompt": "Hi", "temperature": 1},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "temperature": 1},
    ),
    (
        "top_k zero allowed",
        {"prompt": "Hi", "top_k": 0},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "top_k": 0},
    ),
    (
        "stop empty list allowed",
        {"prompt": "Hi", "stop": []},
        {},
        "m",
        {"model": "m", "prompt": "Hi", "stop": []},
    ),
]


@pytest.mark.parametrize(
    ("value", "options", "default_model", "expected"),
    [case[1:] for case in BODY_CASES],
    ids=[case[0] for case in BODY_CASES],
)
def test_wire_body(
    value: Any, options: Dict[str, Any], default_model: Optional[str], expected: Dict[str, Any]
) -> None:
    body = baby_infer_body(value, options, default_model)
    assert body == expected
    # Key order is irrelevant on the wire, but model and prompt always lead for readable logs.
    assert list(body)[:2] == ["model", "prompt"]


def test_input_dict_is_not_mutated() -> None:
    payload = {"prompt": "Hi", "maxTokens": 3, "options": {"topP": 0.5}}
    snapshot = {"prompt": "Hi", "maxTokens": 3, "options": {"topP": 0.5}}
    baby_infer_body(payload, {"temperature": 0.1}, "m")
    assert payload == snapshot


# (name, input, **options, default model, error code, words the message must contain)
ERROR_CASES: List[Tuple[str, Any, Dict[str, Any], Optional[str], str, str]] = [
    ("no model anywhere", "Hi", {}, None, "MODEL_REQUIRED", "default_model"),
    (
        "blank model, no default",
        {"prompt": "Hi", "model": " "},
        {},
        None,
        "MODEL_REQUIRED",
        "model",
    ),
    ("non-string model", {"prompt": "Hi", "model": 3}, {}, "d", "MODEL_REQUIRED", "int"),
    ("empty string input", "", {}, "m", "PROMPT_REQUIRED", "prompt"),
    ("blank string input", "   ", {}, "m", "PROMPT_REQUIRED", "prompt"),
    ("empty dict", {}, {}, "m", "PROMPT_REQUIRED", "prompt"),
    (
        "all prompt keys blank",
        {"prompt": "", "input": " ", "text": "\n"},
        {},
        "m",
        "PROMPT_REQUIRED",
        "prompt",
    ),
    ("only options", {"options": {"max_tokens": 3}}, {}, "m", "PROMPT_REQUIRED", "prompt"),
    ("prompt checked before model", {}, {}, None, "PROMPT_REQUIRED", "prompt"),
    ("list input", ["Hi"], {}, "m", "INVALID_INFER_INPUT", "list"),
    ("int input", 42, {}, "m", "INVALID_INFER_INPUT", "int"),
    ("None input", None, {}, "m", "INVALID_INFER_INPUT", "NoneType"),
    ("bytes input", b"Hi", {}, "m", "INVALID_INFER_INPUT", "bytes"),
    ("non-string prompt", {"prompt": 5}, {}, "m", "INVALID_INFER_INPUT", "'prompt'"),
    ("non-string input key", {"input": ["a"]}, {}, "m", "INVALID_INFER_INPUT", "'input'"),
    ("options is a list", {"prompt": "Hi", "options": [1]}, {}, "m", "INVALID_OPTIONS", "list"),
    (
        "options is a string",
        {"prompt": "Hi", "options": "max_tokens=3"},
        {},
        "m",
        "INVALID_OPTIONS",
        "str",
    ),
    (
        "conflicting aliases top-level",
        {"prompt": "Hi", "max_tokens": 5, "maxTokens": 6},
        {},
        "m",
        "INVALID_OPTIONS",
        "maxTokens",
    ),
    (
        "conflicting aliases nested",
        {"prompt": "Hi", "options": {"topP": 0.1, "top_p": 0.2}},
        {},
        "m",
        "INVALID_OPTIONS",
        "top_p",
    ),
    (
        "conflict payload vs keyword alias",
        {"prompt": "Hi", "maxTokens": 5},
        {"max_tokens": 6},
        "m",
        "INVALID_OPTIONS",
        "max_tokens",
    ),
    (
        "max_tokens as string",
        {"prompt": "Hi", "max_tokens": "5"},
        {},
        "m",
        "INVALID_OPTIONS",
        "max_tokens",
    ),
    (
        "max_tokens float",
        {"prompt": "Hi", "maxTokens": 5.0},
        {},
        "m",
        "INVALID_OPTIONS",
        "max_tokens",
    ),
    (
        "max_tokens bool",
        {"prompt": "Hi", "max_tokens": True},
        {},
        "m",
        "INVALID_OPTIONS",
        "max_tokens",
    ),
    (
        "temperature string",
        {"prompt": "Hi", "temperature": "hot"},
        {},
        "m",
        "INVALID_OPTIONS",
        "temperature",
    ),
    (
        "temperature bool",
        {"prompt": "Hi", "temperature": False},
        {},
        "m",
        "INVALID_OPTIONS",
        "temperature",
    ),
    (
        "top_p list",
        {"prompt": "Hi", "options": {"topP": [0.1]}},
        {},
        "m",
        "INVALID_OPTIONS",
        "top_p",
    ),
    (
        "penalty string",
        {"prompt": "Hi", "presencePenalty": "1"},
        {},
        "m",
        "INVALID_OPTIONS",
        "presence_penalty",
    ),
    ("stop int", {"prompt": "Hi", "stop": 3}, {}, "m", "INVALID_OPTIONS", "stop"),
    ("stop list of ints", {"prompt": "Hi", "stop": ["a", 1]}, {}, "m", "INVALID_OPTIONS", "stop"),
    (
        "non-string nested option name",
        {"prompt": "Hi", "options": {1: 2}},
        {},
        "m",
        "INVALID_OPTIONS",
        "option names",
    ),
]


@pytest.mark.parametrize(
    ("value", "options", "default_model", "code", "words"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_errors_before_any_request(
    value: Any, options: Dict[str, Any], default_model: Optional[str], code: str, words: str
) -> None:
    with pytest.raises(BabyAPIError) as info:
        baby_infer_body(value, options, default_model)
    assert info.value.code == code
    assert words in info.value.message
    assert "\n" not in info.value.message


# (name, body, kwargs, expected path, expected merged body)
ROUTE_CASES: List[Tuple[str, Optional[Mapping[str, Any]], Dict[str, Any], str, Dict[str, Any]]] = [
    (
        "messages in body",
        {"model": "m", "messages": [{"role": "user", "content": "Hi"}]},
        {},
        CHAT_PATH,
        {"model": "m", "messages": [{"role": "user", "content": "Hi"}]},
    ),
    (
        "prompt in body",
        {"model": "m", "prompt": "Hi"},
        {},
        COMPLETIONS_PATH,
        {"model": "m", "prompt": "Hi"},
    ),
    ("messages as kwarg", None, {"messages": []}, CHAT_PATH, {"messages": []}),
    (
        "prompt as kwarg",
        None,
        {"prompt": "Hi", "max_tokens": 3},
        COMPLETIONS_PATH,
        {"prompt": "Hi", "max_tokens": 3},
    ),
    (
        "messages beat prompt",
        {"prompt": "Hi"},
        {"messages": []},
        CHAT_PATH,
        {"prompt": "Hi", "messages": []},
    ),
    (
        "kwargs win over body",
        {"prompt": "a", "model": "x"},
        {"model": "y"},
        COMPLETIONS_PATH,
        {"prompt": "a", "model": "y"},
    ),
    (
        "unknown fields pass through",
        {"prompt": "Hi", "guided_json": {"type": "object"}},
        {"extra_body_field": 1},
        COMPLETIONS_PATH,
        {"prompt": "Hi", "guided_json": {"type": "object"}, "extra_body_field": 1},
    ),
]


@pytest.mark.parametrize(
    ("body", "kwargs", "path", "expected"),
    [case[1:] for case in ROUTE_CASES],
    ids=[case[0] for case in ROUTE_CASES],
)
def test_route_infer(
    body: Optional[Mapping[str, Any]], kwargs: Dict[str, Any], path: str, expected: Dict[str, Any]
) -> None:
    assert route_infer(body, kwargs) == (path, expected)


def test_route_infer_does_not_mutate_body() -> None:
    body = {"prompt": "a"}
    route_infer(body, {"model": "m"})
    assert body == {"prompt": "a"}


@pytest.mark.parametrize(
    ("body", "kwargs"),
    [
        (None, {}),
        ({}, {}),
        ({"model": "m", "input": "Hi"}, {}),
        (None, {"text": "Hi"}),
        ("Hi", {}),
        ([{"role": "user"}], {}),
    ],
    ids=["nothing", "empty body", "input is not prompt", "text kwarg", "string body", "list body"],
)
def test_route_infer_refuses(body: Any, kwargs: Dict[str, Any]) -> None:
    with pytest.raises(BabyAPIError) as info:
        route_infer(body, kwargs)
    assert info.value.code == "INVALID_INFER_INPUT"
    assert "messages" in info.value.message and "prompt" in info.value.message


# --- hypothesis ----------------------------------------------------------------------------

_SNAKE = sorted(set(OPTION_ALIASES.values()))
_CAMEL = sorted(k for k, v in OPTION_ALIASES.items() if k != v)
_VALID_VALUE = {
    "max_tokens": st.integers(1, 4096),
    "top_k": st.integers(0, 100),
    "temperature": st.floats(0, 2, allow_nan=False) | st.integers(0, 2),
    "top_p": st.floats(0, 1, allow_nan=False),
    "presence_penalty": st.floats(-2, 2, allow_nan=False),
    "frequency_penalty": st.floats(-2, 2, allow_nan=False),
    "stop": st.text(max_size=3) | st.lists(st.text(max_size=3), max_size=3),
}


@st.composite
def option_layer(draw: st.DrawFn) -> Dict[str, Any]:
    """Options at one level: each wire name under one spelling (or two with the same value), some None."""
    layer: Dict[str, Any] = {}
    for wire in draw(st.lists(st.sampled_from(_SNAKE), unique=True)):
        value = draw(st.none() | _VALID_VALUE[wire])
        spellings = [k for k, v in OPTION_ALIASES.items() if v == wire]
        chosen = draw(st.lists(st.sampled_from(spellings), min_size=1, unique=True))
        if value is None and draw(st.booleans()):
            # A None alias beside a real value must not conflict: None is simply dropped.
            layer[chosen[0]] = None
            other = draw(_VALID_VALUE[wire])
            for name in chosen[1:]:
                layer[name] = other
            continue
        for name in chosen:
            layer[name] = value
    return layer


def _effective(layer: Mapping[str, Any]) -> Dict[str, Any]:
    return {OPTION_ALIASES[k]: v for k, v in layer.items() if v is not None}


@settings(max_examples=60, deadline=None)
@given(top=option_layer(), nested=option_layer(), nest=st.booleans(), as_kwargs=st.booleans())
def test_aliases_normalise(
    top: Dict[str, Any], nested: Dict[str, Any], nest: bool, as_kwargs: bool
) -> None:
    payload: Dict[str, Any] = {"prompt": "Hi"}
    if nest:
        payload["options"] = nested
    kwargs: Dict[str, Any] = {}
    (kwargs if as_kwargs else payload).update(top)

    body = baby_infer_body(payload, kwargs, "m")

    assert not set(body) & set(_CAMEL), "camelCase keys reached the wire"
    assert "options" not in body
    assert all(v is not None for v in body.values())
    expected = {"model": "m", "prompt": "Hi", **_effective(top)}
    if nest:
        expected.update(_effective(nested))
    assert body == expected


@settings(max_examples=50, deadline=None)
@given(
    wire=st.sampled_from(["max_tokens", "top_p", "top_k", "presence_penalty", "frequency_penalty"]),
    a=st.integers(1, 50),
    b=st.integers(1, 50),
)
def test_different_values_under_two_spellings_conflict(wire: str, a: int, b: int) -> None:
    camel = next(k for k, v in OPTION_ALIASES.items() if v == wire and k != wire)
    payload = {"prompt": "Hi", wire: a, camel: b}
    if a == b:
        assert baby_infer_body(payload, {}, "m")[wire] == a
    else:
        with pytest.raises(BabyAPIError) as info:
            baby_infer_body(payload, {}, "m")
        assert info.value.code == "INVALID_OPTIONS"


def test_option_ranges_are_left_to_the_server() -> None:
    # vLLM reads top_k=-1 as "no limit"; whether max_tokens=0 is allowed is the server's call.
    body = baby_infer_body({"prompt": "Hi", "topK": -1, "maxTokens": 0}, {}, "m")
    assert (body["top_k"], body["max_tokens"]) == (-1, 0)
