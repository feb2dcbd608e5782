"""AdamW with decoupled weight decay on matrices and embeddings, a linear warmup to the peak lr and a
half cosine down to `min_lr_fraction` of it; one `update` that a training step calls."""

from __future__ import annotations

import math

import torch

BETAS = (0.9, 0.95)
EPS = 1e-8


def lr_at(step: int, cfg) -> float:
    """The lr of update `step` (0-based): peak·(step+1)/warmup while warming up, then a half cosine
    from the peak to the floor over the remaining num_steps − warmup updates (flat after them)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.num_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.min_lr_fraction * cfg.lr
    return floor + 0.5 * (cfg.lr - floor) * (1.0 + math.cos(math.pi * progress))


def build_optimizer(cfg, model: torch.nn.Module):
    """(optimizer, schedule): 2-D tensors (matrices, embeddings) decay, 1-D ones (biases, norm gains)
    do not; `schedule(step) -> lr`."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=BETAS, eps=EPS)
    return optimizer, lambda step: lr_at(step, cfg)


def update(optimizer, schedule, step: int, cfg) -> float:
    """One update once `.grad` holds the gradients: set the step's lr, clip, step. Returns the
    gradient norm before clipping."""
    for group in optimizer.param_groups:
        group["lr"] = schedule(step)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
    optimizer.step()
    return float(norm)
