"""The local server's tokenizer: /tokenize and /detokenize, counted as usage figures count.

A token is a word or a punctuation mark (``generate.token_pieces``), so ``count`` agrees
with the ``usage.prompt_tokens`` of completions for the same prompt and, through the
ChatML-like template below, of chat completions for the same messages (4 tokens of
markers per message, 2 for the answer's opening, 16 per image). A token's id is a
hash of its text, the same in every process; detokenizing needs the text back, so every
piece tokenized here (and every word of the bundled corpus) is remembered, in a bounded
table. An id in the vocabulary that the table does not hold decodes as ``<unk>``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, cast

from babyapi.server.completions import IMAGE_TOKENS, message_text
from babyapi.server.corpus import CORPUS
from babyapi.server.errors import invalid
from babyapi.server.generate import token_pieces
from babyapi.server.validate import Body, optional_bool

BOS, IM_START, IM_END, NEWLINE, IMAGE, UNKNOWN = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "\n",
    "<|image|>",
    "<unk>",
)
SPECIALS: Tuple[str, ...] = (BOS, IM_START, IM_END, NEWLINE, IMAGE, UNKNOWN)
_SPECIAL_IDS = {piece: index for index, piece in enumerate(SPECIALS)}
FIRST_WORD_ID = 16
VOCAB_SIZE = 2**31
_REMEMBERED = 100_000
_NO_SPACE_BEFORE = re.compile(r"^[^\w\s(\[{\"'<]")
_NO_SPACE_AFTER = frozenset("([{")


def piece_id(piece: str) -> int:
    """The id of one token: specials are small, anything else a stable hash of its text."""
    special = _SPECIAL_IDS.get(piece)
    if special is not None:
        return special
    digest = hashlib.blake2b(piece.encode("utf-8"), digest_size=8).digest()
    return FIRST_WORD_ID + int.from_bytes(digest, "little") % (VOCAB_SIZE - FIRST_WORD_ID)


class _Pieces:
    """Id -> text of the pieces seen, the oldest forgotten first past a bound."""

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._table: OrderedDict[int, str] = OrderedDict()
        self._lock = threading.Lock()

    def learn(self, pieces: Sequence[str]) -> List[int]:
        ids = [piece_id(p) for p in pieces]
        with self._lock:
            for token, piece in zip(ids, pieces):
                self._table[token] = piece
                self._table.move_to_end(token)
            while len(self._table) > self._bound:
                self._table.popitem(last=False)
        return ids

    def text_of(self, token: int) -> str:
        if token < len(SPECIALS):
            return SPECIALS[token]
        with self._lock:
            return self._table.get(token, UNKNOWN)


PIECES = _Pieces(_REMEMBERED)
PIECES.learn(sorted(set(token_pieces(CORPUS))))


@dataclass(frozen=True)
class Tokenized:
    """What /tokenize answers, before the model's context length is added."""

    ids: List[int]
    pieces: List[str]

    def body(self, max_model_len: int, with_strings: bool) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "count": len(self.ids),
            "max_model_len": max_model_len,
            "tokens": self.ids,
        }
        if with_strings:
            out["token_strs"] = self.pieces
        return out


def tokenize_prompt(prompt: str) -> Tokenized:
    """Tokens of a plain prompt; this tokenizer adds no special tokens of its own."""
    pieces = token_pieces(prompt)
    return Tokenized(PIECES.learn(pieces), pieces)


def tokenize_messages(body: Body, vision: bool, model: str) -> Tokenized:
    """Tokens of a conversation as the chat template lays it out."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages", "`messages` must be a non-empty list of message objects.")
    generation = optional_bool(body, "add_generation_prompt")
    continue_final = bool(optional_bool(body, "continue_final_message"))
    if continue_final and generation:
        raise invalid(
            "continue_final_message",
            "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
        )
    pieces: List[str] = _tool_turn(body.get("tools"))
    listed = cast(List[object], messages)
    last = len(listed) - 1
    for index, message in enumerate(listed):
        text, images = message_text(message, index, vision, model)
        role = cast(Body, message)["role"]
        pieces += [IM_START, role, NEWLINE, *token_pieces(text), *[IMAGE] * (IMAGE_TOKENS * images)]
        if not (continue_final and index == last):
            pieces.append(IM_END)
    if generation is not False and not continue_final:
        pieces += [IM_START, "assistant"]
    return Tokenized(PIECES.learn(pieces), pieces)


def _tool_turn(tools: object) -> List[str]:
    """The system turn a template writes for ``tools``: their JSON, between markers."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid("tools", "`tools` must be a list of tool definitions.")
    listed = json.dumps(tools, ensure_ascii=False)
    return [IM_START, "system", NEWLINE, *token_pieces(listed), IM_END]


def detokenize(tokens: object) -> str:
    """The text of token ids; refuses what is not an id of this vocabulary."""
    if not isinstance(tokens, list):
        raise invalid("tokens", "`tokens` must be a list of token ids.")
    text: List[str] = []
    previous: Optional[str] = None
    for index, token in enumerate(cast(List[object], tokens)):
        if isinstance(token, bool) or not isinstance(token, int):
            raise invalid(f"tokens[{index}]", f"`tokens[{index}]` must be an integer token id.")
        if not 0 <= token < VOCAB_SIZE:
            raise invalid(
                f"tokens[{index}]",
                f"Token id {token} is out of vocabulary: ids run from 0 to {VOCAB_SIZE - 1}.",
            )
        piece = PIECES.text_of(token)
        if previous is not None and _spaced(previous, piece):
            text.append(" ")
        text.append(piece)
        previous = piece
    return "".join(text)


def _spaced(previous: str, piece: str) -> bool:
    """Whether a space goes between two pieces when they are joined back into text."""
    if NEWLINE in (previous, piece) or previous in _NO_SPACE_AFTER:
        return False
    return _NO_SPACE_BEFORE.match(piece) is None
