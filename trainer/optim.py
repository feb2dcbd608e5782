"""What training optimizes with: AdamW over two decay groups, the warmup + cosine schedule, one update.

`build_optimizer(cfg, model)` is the only place a run's optimizer and schedule are made, and `update` is
the only place a real step changes the weights (`RealLoop.step` calls both), so a falsifier that builds
and steps them observes what training does. The constants are pinned in contracts/optimizer.yaml.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from trainer.config import TrainConfig

ADAM_BETAS = (0.9, 0.95)  # beta2 0.95, not torch's 0.999: faster to adapt to loss spikes (GPT-3, Llama)
ADAM_EPS = 1e-8
MIN_LR_FRACTION = 0.1  # cosine decays to 10% of the peak lr, never to 0


@dataclass(frozen=True)
class WarmupCosine:
    """lr for 0-based update `step`: linear warmup to `peak` over `warmup_steps` updates (the first
    update already gets peak/warmup, never 0), then a half cosine from `peak` to `min_fraction · peak`
    over the remaining `total_steps - warmup_steps` updates; flat at the floor past the budget."""

    peak: float
    warmup_steps: int
    total_steps: int
    min_fraction: float = MIN_LR_FRACTION

    @classmethod
    def for_config(cls, cfg: TrainConfig) -> WarmupCosine:
        return cls(peak=cfg.lr, warmup_steps=cfg.warmup_steps, total_steps=cfg.num_steps)

    def __call__(self, step: int) -> float:
        peak, warm = self.peak, self.warmup_steps
        if step < warm:
            return peak * (step + 1) / warm
        span = max(1, self.total_steps - warm)
        progress = min(1.0, (step - warm) / span)
        floor = self.min_fraction * peak
        return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


def decay_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay the matrices (embeddings, projections), never the 1-D tensors (norm gains, biases):
    shrinking a gain toward 0 fights the normalisation instead of regularising a mapping."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in trainable if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0},
    ]


def make_adamw(model: torch.nn.Module, lr: float, weight_decay: float, *, fused: bool = False):
    return torch.optim.AdamW(
        decay_groups(model, weight_decay), lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, fused=fused
    )


def build_optimizer(
    cfg: TrainConfig, model: torch.nn.Module, device: torch.device | None = None
) -> tuple[torch.optim.AdamW, WarmupCosine]:
    """The run's AdamW (fused only on CUDA) and its schedule, from the resolved config."""
    fused = device is not None and device.type == "cuda"
    return make_adamw(model, cfg.lr, cfg.weight_decay, fused=fused), WarmupCosine.for_config(cfg)


def update(
    optimizer: torch.optim.Optimizer,
    schedule: Callable[[int], float],
    step: int,
    cfg: TrainConfig,
    before_update: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """One weight update once `.grad` holds the step's gradients: every group gets `schedule(step)`,
    the gradients are clipped to a total L2 norm of `cfg.grad_clip`, `before_update(pre_clip_norm)`
    runs (a guard that raises keeps the weights untouched), then AdamW steps.

    Returns the total gradient norm measured before clipping (what the step record logs)."""
    lr = schedule(step)
    for group in optimizer.param_groups:
        group["lr"] = lr
    params = [p for group in optimizer.param_groups for p in group["params"]]
    norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)  # returns the pre-clip norm
    if before_update is not None:
        before_update(norm)
    optimizer.step()
    return norm
