"""The Llama this project trains: HF transformers' LlamaForCausalLM from a tiny config (no download),
with one addition of ours: ids outside the vocabulary are refused before the embedding.

Why the check: on a GPU an out-of-range id in the embedding lookup is a device-side assert that kills
the process (and poisons the CUDA context) far from the batch that caused it; on the CPU it is an
IndexError deep inside torch. A ValueError naming the bad ids, raised at the model's entry, is what a
data bug should look like. Never clamp: a clamped id trains silently on the wrong token.
"""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM

VOCAB_SIZE = 128
MAX_SEQ_LEN = 32
SHAPE = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,  # grouped-query attention: 2 key/value heads serve 4 query heads
}


class OutOfVocabulary(ValueError):
    def __init__(self, ids: torch.Tensor, vocab_size: int) -> None:
        shown = sorted(set(ids.tolist()))[:5]
        super().__init__(
            f"token ids {shown} are outside the vocabulary [0, {vocab_size}): the tokenizer and the "
            "model disagree"
        )


class CheckedLlama(LlamaForCausalLM):
    """LlamaForCausalLM that refuses out-of-vocabulary ids at its entry."""

    def forward(self, input_ids: torch.LongTensor | None = None, **kwargs):
        if input_ids is not None:
            bad = (input_ids < 0) | (input_ids >= self.config.vocab_size)
            if bool(bad.any()):
                raise OutOfVocabulary(input_ids[bad], self.config.vocab_size)
        return super().forward(input_ids=input_ids, **kwargs)


def build_model(vocab_size: int = VOCAB_SIZE, max_seq_len: int = MAX_SEQ_LEN, **shape: int) -> CheckedLlama:
    config = LlamaConfig(
        vocab_size=vocab_size,
        max_position_embeddings=max_seq_len,
        **{**SHAPE, **shape},
        rope_theta=10_000.0,
        attention_dropout=0.0,
        bos_token_id=0,
        eos_token_id=1,
        tie_word_embeddings=False,  # Llama's own choice: a separate output matrix
    )
    return CheckedLlama(config)
