"""Write three tiny random-weight llama GGUF files (chat, embed, rerank); nothing is downloaded.

The vocabulary is SentencePiece-style ("llama" tokenizer model): byte-fallback tokens,
ChatML markers and a fixed English word list with every prefix of every word (SPM only
merges two pieces when the merged piece exists).  Weights come from a seeded generator,
so the files are identical on every run.  The chat model can only emit word tokens and
never EOS: generation runs to max_tokens unless a stop string matches.

Usage: python make_tiny_gguf.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import gguf
import numpy as np

# The script's own folder is on sys.path: the word list is shared with the other generator.
from words import WORDS

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

N_EMBD, N_LAYER, N_FF, N_HEAD, N_HEAD_KV, N_CTX_TRAIN = 64, 2, 128, 4, 2, 4096
SPACE = "\u2581"


def vocabulary() -> tuple[list[str], list[float], list[int], int]:
    """Return tokens, scores, token types and how many leading tokens are special."""
    kind = gguf.TokenType
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [kind.UNKNOWN, kind.CONTROL, kind.CONTROL] + [kind.BYTE] * 256
    tokens += ["<|im_start|>", "<|im_end|>"]
    types += [kind.CONTROL, kind.CONTROL]
    n_special = len(tokens)
    pieces = [chr(c) for c in range(33, 127)] + [SPACE]
    pieces += [
        SPACE + c
        for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()"
    ]
    for word in dict.fromkeys(w for base in WORDS for w in (base, base.capitalize())):
        for full in (SPACE + word, word):
            pieces += [full[:k] for k in range(2, len(full) + 1)]
    scores = [0.0] * n_special
    for piece in dict.fromkeys(pieces):
        if piece not in tokens[:n_special]:
            tokens.append(piece)
            types.append(kind.NORMAL)
            scores.append(-1000.0 + 10.0 * len(piece))  # longer pieces win the SPM merge
    return tokens, scores, [int(t) for t in types], n_special


def write(path: Path, role: str, seed: int) -> None:
    """Write one model; `role` is chat, embed (mean pooling) or rerank (rank pooling)."""
    tokens, scores, types, n_special = vocabulary()
    rng = np.random.default_rng(seed)
    head_dim = N_EMBD // N_HEAD
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_name(f"babyapi-tiny-{role}")
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_vocab_size(len(tokens))
    if role == "embed":
        writer.add_pooling_type(gguf.PoolingType.MEAN)
    if role == "rerank":
        writer.add_pooling_type(gguf.PoolingType.RANK)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    # With SentencePiece's leading space, llama-server cannot fit the generation prompt into
    # a json_schema grammar ("Failed to initialize samplers").
    writer.add_add_space_prefix(False)
    writer.add_chat_template(CHATML)

    def normal(*shape: int, scale: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    embed = normal(len(tokens), N_EMBD, scale=1.0)
    output = normal(len(tokens), N_EMBD, scale=1.0)
    if role == "chat":
        # A constant first dimension survives RMS norm, so output column 0 becomes a
        # per-token logit bias: specials, bytes and EOS are pushed out of reach.
        embed[:, 0] = 8.0
        embed[:, 1:] *= 0.5
        bias = np.zeros(len(tokens), dtype=np.float32)
        bias[:n_special] = -30.0
        output[:, 0] = bias / np.sqrt(N_EMBD)
    ones = np.ones(N_EMBD, dtype=np.float32)
    writer.add_tensor("token_embd.weight", embed)
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", output)
    for layer in range(N_LAYER):
        name = f"blk.{layer}."
        writer.add_tensor(name + "attn_norm.weight", ones)
        writer.add_tensor(name + "attn_q.weight", normal(N_HEAD * head_dim, N_EMBD))
        writer.add_tensor(name + "attn_k.weight", normal(N_HEAD_KV * head_dim, N_EMBD))
        writer.add_tensor(name + "attn_v.weight", normal(N_HEAD_KV * head_dim, N_EMBD))
        writer.add_tensor(name + "attn_output.weight", normal(N_EMBD, N_HEAD * head_dim))
        writer.add_tensor(name + "ffn_norm.weight", ones)
        writer.add_tensor(name + "ffn_gate.weight", normal(N_FF, N_EMBD))
        writer.add_tensor(name + "ffn_up.weight", normal(N_FF, N_EMBD))
        writer.add_tensor(name + "ffn_down.weight", normal(N_EMBD, N_FF))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(out_dir: str) -> None:
    """Write tiny-chat.gguf, tiny-embed.gguf and tiny-rerank.gguf into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for seed, role in enumerate(("chat", "embed", "rerank")):
        write(out / f"tiny-{role}.gguf", role, seed)
        print(f"wrote {out / f'tiny-{role}.gguf'}")


if __name__ == "__main__":
    main(sys.argv[1])
