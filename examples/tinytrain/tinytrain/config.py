"""The knobs of a tinytrain run, in one frozen record (the CLI and the falsifiers build it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 3e-3  # peak learning rate, reached at the end of warmup
    warmup_steps: int = 4
    num_steps: int = 20  # optimizer updates; the cosine reaches its floor here
    min_lr_fraction: float = 0.1  # the cosine's floor as a fraction of the peak
    weight_decay: float = 0.1  # decoupled, on matrices and embeddings only
    grad_clip: float = 1.0  # max global gradient norm
    batch_size: int = 4
    seq_len: int = 16
    vocab_size: int = 320  # the model's embedding rows: must equal the tokenizer's vocabulary
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    seed: int = 0
