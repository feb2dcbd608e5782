"""The GPT-2 this project trains: HF transformers' GPT2LMHeadModel from a tiny config (no download).

`build_model(vocab_size, max_seq_len, **shape)` is the one place the model is made, so the training
code and pv's falsifiers see the same model. Called as transformers' causal LMs are:
`model(input_ids=ids).logits` (B, T, V) and `model(input_ids=ids, labels=ids).loss` (labels shifted
inside the model: logits[t] is scored against ids[t + 1]).
"""

from __future__ import annotations

from transformers import GPT2Config, GPT2LMHeadModel

VOCAB_SIZE = 96  # byte-ish toy vocabulary: every id the data can hold
MAX_SEQ_LEN = 32  # learned absolute positions: this is also the number of position rows
SHAPE = {"n_layer": 2, "n_head": 2, "n_embd": 32}


def build_model(
    vocab_size: int = VOCAB_SIZE, max_seq_len: int = MAX_SEQ_LEN, **shape: int
) -> GPT2LMHeadModel:
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=max_seq_len,
        **{**SHAPE, **shape},
        # No dropout: train and eval mode compute one function, so runs repeat exactly.
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        # GPT-2's defaults (50256) lie outside a toy vocabulary.
        bos_token_id=vocab_size - 1,
        eos_token_id=vocab_size - 1,
        tie_word_embeddings=True,  # the output head is the token embedding, as in GPT-2
    )
    return GPT2LMHeadModel(config)
