"""The model: HF transformers' GPT-2 from a tiny config (no download), built in one place."""

from __future__ import annotations

from transformers import GPT2Config, GPT2LMHeadModel


def build_model(vocab_size: int, max_seq_len: int, n_layer: int = 2, n_head: int = 2, n_embd: int = 32):
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=max_seq_len,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        resid_pdrop=0.0,  # no dropout: a seeded run repeats exactly, eval = train
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,  # <|endoftext|> (GPT-2's 50256 lies outside this vocabulary)
        eos_token_id=0,
    )
    return GPT2LMHeadModel(config)
