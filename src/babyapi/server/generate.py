"""The built-in text generator: a word-level Markov chain over a small bundled text.

It is not a language model, but its replies read like text, it streams one
token (word) at a time, and it honours the sampling knobs clients send
(max_tokens, stop, temperature, top_p, top_k, penalties, seed), which is what
examples, tests and benchmarks of a client need.

Determinism: at temperature 0 the reply depends only on the prompt; with a
seed it depends only on the prompt, the seed and the choice index. Otherwise
each call draws fresh randomness.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from babyapi.server.corpus import CORPUS
from babyapi.server.words import STOPWORDS, content_words

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = (".", "!", "?")
# Replies shorter than this never end on their own, so a test asking for a few
# tokens reliably gets finish_reason "length".
MIN_TOKENS_BEFORE_EOS = 8
# Without max_tokens a reply still ends: at a sentence end, or at this cap.
DEFAULT_MAX_TOKENS = 256
MIN_TEMPERATURE = 0.02
# Words too common to steer the reply towards a topic, beyond the ranker's stop words.
_STOPWORDS = STOPWORDS | frozenset(
    [
        "give",
        "me",
        "my",
        "no",
        "not",
        "so",
        "then",
        "we",
        "will",
        "write",
        "you",
        "your",
    ]
)


def token_pieces(text: str) -> List[str]:
    """The tokens of a text as usage figures count them: words and punctuation marks."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    """Count tokens the way usage figures do: words and punctuation marks."""
    return len(_TOKEN_RE.findall(text))


def prompt_words(text: str) -> List[str]:
    """Lower-case words of a prompt that can steer the reply, in order."""
    return content_words(text, _STOPWORDS)


def stable_seed(*parts: object) -> int:
    """Hash parts into a seed that is the same in every process (unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True)
class SamplingParams:
    """The knobs a request may set; defaults mean 'not given'."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    stop: Tuple[str, ...] = ()
    seed: Optional[int] = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    ignore_eos: bool = False


@dataclass(frozen=True)
class Generation:
    """One reply: its streamed pieces (one per token), why it ended, and its token count."""

    pieces: Tuple[str, ...]
    finish_reason: str
    completion_tokens: int

    @property
    def text(self) -> str:
        """The whole reply."""
        return "".join(self.pieces)


_Candidates = Tuple[Tuple[str, ...], Tuple[int, ...]]


class MarkovChain:
    """An order-2 word chain with order-1 backoff, built once from a text."""

    def __init__(self, text: str) -> None:
        words = text.split()
        self.words = words
        pairs: Dict[Tuple[str, str], Dict[str, int]] = defaultdict(dict)
        singles: Dict[str, Dict[str, int]] = defaultdict(dict)
        for i in range(len(words) - 1):
            nxt = words[i + 1]
            single = singles[words[i]]
            single[nxt] = single.get(nxt, 0) + 1
            if i > 0:
                pair = pairs[(words[i - 1], words[i])]
                pair[nxt] = pair.get(nxt, 0) + 1
        self._pairs: Dict[Tuple[str, str], _Candidates] = {
            key: (tuple(nexts), tuple(nexts.values())) for key, nexts in pairs.items()
        }
        self._singles: Dict[str, _Candidates] = {
            key: (tuple(nexts), tuple(nexts.values())) for key, nexts in singles.items()
        }
        self.sentence_starts: List[int] = [
            i for i in range(1, len(words) - 1) if words[i - 1].endswith(_SENTENCE_END)
        ]
        # word -> starts of the sentences containing it, so a reply can open
        # with a sentence about what the prompt mentions.
        by_word: Dict[str, List[int]] = defaultdict(list)
        bounds = [*self.sentence_starts, len(words)]
        for start, end in zip(bounds, bounds[1:]):
            for word in set(prompt_words(" ".join(words[start:end]))):
                by_word[word].append(start)
        self._starts_by_word = dict(by_word)

    def _start(self, prompt: str, rng: random.Random) -> int:
        topical = sorted({s for w in prompt_words(prompt) for s in self._starts_by_word.get(w, ())})
        return rng.choice(topical or self.sentence_starts)

    def _candidates(self, a: str, b: str) -> Optional[_Candidates]:
        return self._pairs.get((a, b)) or self._singles.get(b)

    def generate(self, prompt: str, params: SamplingParams, rng: random.Random) -> Generation:
        """Generate one reply to `prompt`."""
        start = self._start(prompt, rng)
        a, b = self.words[start - 1], self.words[start]
        words: List[str] = [b]
        counts: Dict[str, int] = {b: 1}
        target_sentences = rng.randint(1, 3)
        sentences = 0
        finish = "length"
        while True:
            if b.endswith(_SENTENCE_END):
                sentences += 1
                if (
                    not params.ignore_eos
                    and sentences >= target_sentences
                    and len(words) >= MIN_TOKENS_BEFORE_EOS
                    and len(words) < params.max_tokens
                ):
                    finish = "stop"
                    break
            if len(words) >= params.max_tokens:
                break
            found = self._candidates(a, b)
            if found is None:  # the corpus' last word: carry on from a fresh sentence
                nxt = self.words[rng.choice(self.sentence_starts)]
            else:
                nxt = _sample(found, counts, params, rng)
            words.append(nxt)
            counts[nxt] = counts.get(nxt, 0) + 1
            a, b = b, nxt
        pieces = [words[0], *(" " + w for w in words[1:])]
        if params.stop:
            return _apply_stop(pieces, params.stop, finish)
        return Generation(tuple(pieces), finish, len(pieces))


def _sample(
    found: _Candidates, counts: Dict[str, int], params: SamplingParams, rng: random.Random
) -> str:
    words, freqs = found
    if len(words) == 1:
        return words[0]
    # Temperature 0 is "deterministic", not "greedy": argmax over a tiny chain
    # loops forever, so we sample with a prompt-seeded generator instead.
    temperature = params.temperature if params.temperature > 0 else 0.7
    # Below this, sampling is already greedy; a floor keeps f ** (1 / T) finite.
    temperature = max(temperature, MIN_TEMPERATURE)
    plain = (
        params.top_k <= 0
        and params.top_p >= 1.0
        and not params.presence_penalty
        and not params.frequency_penalty
    )
    if plain:  # the common case, kept cheap: no sorting, no logits
        if temperature == 1.0:
            return rng.choices(words, freqs)[0]
        return rng.choices(words, [f ** (1.0 / temperature) for f in freqs])[0]
    logits: List[Tuple[float, str]] = []
    for word, freq in zip(words, freqs):
        seen = counts.get(word, 0)
        logit = math.log(freq) - params.frequency_penalty * seen
        if seen:
            logit -= params.presence_penalty
        logits.append((logit / temperature, word))
    logits.sort(key=lambda item: -item[0])
    if params.top_k > 0:
        logits = logits[: params.top_k]
    top = logits[0][0]
    weights = [math.exp(logit - top) for logit, _ in logits]
    if params.top_p < 1.0:
        total = sum(weights)
        kept, mass = 0, 0.0
        for weight in weights:
            kept += 1
            mass += weight / total
            if mass >= params.top_p:
                break
        weights = weights[:kept]
    return rng.choices([word for _, word in logits[: len(weights)]], weights)[0]


def _apply_stop(pieces: Sequence[str], stops: Sequence[str], finish: str) -> Generation:
    """Cut the reply before the first stop string, as vLLM does (the stop is not included)."""
    text = "".join(pieces)
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    if cut < 0:
        return Generation(tuple(pieces), finish, len(pieces))
    kept: List[str] = []
    used = 0
    tokens = 0
    for piece in pieces:
        tokens += 1
        if used + len(piece) >= cut:
            if cut > used:
                kept.append(piece[: cut - used])
            break
        kept.append(piece)
        used += len(piece)
    return Generation(tuple(kept), "stop", tokens)


_UNSEEDED = random.Random()


@functools.cache
def chain() -> MarkovChain:
    """Return the shared chain, built on first use."""
    return MarkovChain(CORPUS)


def rng_for(prompt: str, params: SamplingParams, index: int) -> random.Random:
    """Pick the randomness for choice `index`: prompt-seeded at temperature 0, seeded, or fresh."""
    if params.temperature == 0:
        return random.Random(stable_seed(prompt))
    if params.seed is not None:
        return random.Random(stable_seed(prompt, params.seed, index))
    # Shared: seeding a fresh Random() reads 2.5 KB from os.urandom per request.
    return _UNSEEDED


def generate(prompt: str, params: SamplingParams, index: int = 0) -> Generation:
    """Generate choice `index` of a reply to `prompt`."""
    return chain().generate(prompt, params, rng_for(prompt, params, index))
