"""Hypothesis strategies for answers and the chunks a server streams for them.

``chat_answers()`` and ``completion_answers()`` draw (answer, chunks): the answer as the
non-streaming endpoint returns it, and chunks a server could stream for the same generation
(text cut at random places, tool-call arguments in pieces, choices interleaved).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=40)


def _pieces(draw: st.DrawFn, text: str) -> list[str]:
    """``text`` cut at random places (possibly into nothing but itself)."""
    cuts = sorted(draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=5)))
    bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


@st.composite
def chat_answers(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A chat.completion as a server returns it, and chunks a server could stream for it."""
    head = {"id": draw(st.text(min_size=1, max_size=8)), "created": 1, "model": "m"}
    choices: list[dict[str, Any]] = []
    chunks: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 2))):
        content = draw(st.one_of(st.none(), TEXT))
        calls = draw(st.lists(st.tuples(st.text(min_size=1, max_size=6), TEXT), max_size=2))
        finish = draw(st.sampled_from(["stop", "length", "tool_calls"]))
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
                for i, (n, a) in enumerate(calls)
            ]
        choices.append(
            {"index": index, "message": message, "finish_reason": finish, "logprobs": None}
        )
        deltas: list[dict[str, Any]] = [{"role": "assistant"}]
        deltas += [{"content": piece} for piece in _pieces(draw, content or "")]
        if content == "":
            deltas.append({"content": ""})
        for i, (name, arguments) in enumerate(calls):
            first = {"index": i, "id": f"call_{i}", "type": "function"}
            deltas.append({"tool_calls": [{**first, "function": {"name": name, "arguments": ""}}]})
            deltas += [
                {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
                for piece in _pieces(draw, arguments)
            ]
        choice_chunks = [{"index": index, "delta": d, "finish_reason": None} for d in deltas]
        choice_chunks.append({"index": index, "delta": {}, "finish_reason": finish})
        chunks += [
            {**head, "object": "chat.completion.chunk", "choices": [c]} for c in choice_chunks
        ]
    answer = {**head, "object": "chat.completion", "choices": choices}
    if draw(st.booleans()):
        usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
        chunks.append({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        answer["usage"] = usage
    # With n > 1 choices, their chunks interleave; each choice's own stay in order.
    return answer, _interleave(draw, chunks)


def _interleave(draw: st.DrawFn, chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_choice: dict[int, list[dict[str, Any]]] = {}
    tail = [c for c in chunks if not c["choices"]]
    for chunk in chunks:
        if chunk["choices"]:
            by_choice.setdefault(chunk["choices"][0]["index"], []).append(chunk)
    order = draw(st.permutations([i for i, group in by_choice.items() for _ in group]))
    queues = {i: list(group) for i, group in by_choice.items()}
    return [queues[i].pop(0) for i in order] + tail


@st.composite
def completion_answers(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A text_completion and the chunks of it (each chunk a text piece of one choice)."""
    head = {"id": "cmpl-1", "created": 1, "model": "m"}
    choices, chunks = [], []
    for index in range(draw(st.integers(1, 2))):
        text = draw(TEXT)
        finish = draw(st.sampled_from(["stop", "length"]))
        choices.append({"index": index, "text": text, "finish_reason": finish, "logprobs": None})
        pieces = [*_pieces(draw, text), ""] if text else [""]
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            choice = {"index": index, "text": piece, "finish_reason": finish if last else None}
            chunks.append({**head, "object": "text_completion", "choices": [choice]})
    return {**head, "object": "text_completion", "choices": choices}, _interleave(draw, chunks)
