"""The training loop: tokenize the corpus, draw windows, one AdamW update per step, a JSONL log.

`train(run_dir, **overrides)` makes a fresh `run_dir` and writes `log.jsonl` into it: one record per
optimizer step {step (1-based), loss, lr, grad_norm (before clipping), tokens_seen}, then one
{"event": "eval", step, val_loss} over held-out windows.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch

from tinytrain import optim
from tinytrain.config import TrainConfig
from tinytrain.model import build_model
from tinytrain.tokenizer import CORPUS, EOT, build_tokenizer


class VocabMismatch(ValueError):
    """The tokenizer emits ids the model has no embedding row for."""


def check_vocab(tokenizer_vocab: int, model_vocab: int) -> None:
    """Refuse a run whose tokenizer can emit ids past the model's embedding (a larger model is fine)."""
    if tokenizer_vocab > model_vocab:
        raise VocabMismatch(
            f"the tokenizer has {tokenizer_vocab} ids but the model embeds {model_vocab}: "
            "set vocab_size to the tokenizer's"
        )


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def token_ids() -> torch.Tensor:
    tok = build_tokenizer()
    ids: list[int] = []
    for doc in CORPUS:
        ids += [*tok.encode(doc), tok.special_tokens[EOT]]  # only code emits the boundary id
    return torch.tensor(ids, dtype=torch.long)


def windows(tokens: torch.Tensor, batch_size: int, seq_len: int, gen: torch.Generator) -> torch.Tensor:
    starts = torch.randint(0, len(tokens) - seq_len, (batch_size,), generator=gen)
    return torch.stack([tokens[s : s + seq_len] for s in starts.tolist()])  # (B, T)


def train(run_dir: str | Path, **overrides) -> Path:
    cfg = TrainConfig(**overrides)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True)  # a fresh directory: never mix two runs' logs
    check_vocab(build_tokenizer().vocab_size, cfg.vocab_size)
    seed_everything(cfg.seed)
    tokens = token_ids()
    split = int(0.9 * len(tokens))
    train_tokens, val_tokens = tokens[:split], tokens[split:]
    model = build_model(cfg.vocab_size, cfg.seq_len, cfg.n_layer, cfg.n_head, cfg.n_embd)
    optimizer, schedule = optim.build_optimizer(cfg, model)
    gen = torch.Generator().manual_seed(cfg.seed)
    seen = 0
    with open(run_dir / "log.jsonl", "w", encoding="utf-8") as log:
        model.train()
        for step in range(cfg.num_steps):
            x = windows(train_tokens, cfg.batch_size, cfg.seq_len, gen)
            loss = model(input_ids=x, labels=x).loss  # labels shifted inside the model
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = optim.update(optimizer, schedule, step, cfg)
            seen += x.numel()
            record = {"step": step + 1, "loss": loss.item(), "lr": schedule(step), "grad_norm": norm}
            log.write(json.dumps({**record, "tokens_seen": seen}) + "\n")
        model.eval()
        with torch.no_grad():
            x = windows(val_tokens, cfg.batch_size, min(cfg.seq_len, len(val_tokens) - 1), gen)
            val = model(input_ids=x, labels=x).loss.item()
        log.write(json.dumps({"event": "eval", "step": cfg.num_steps, "val_loss": val}) + "\n")
    return run_dir
