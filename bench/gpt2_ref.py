"""The reference the trainer is measured against: a minimal GPT-2 and a bare torch training loop.

Shared by bench_trainer.py (tokens/s) and bench_learning.py (held-out loss after equal wall time).
GPT-2's architecture (learned positions, LayerNorm with biases, biased attention and a 4x-style GELU
MLP, tied embeddings) written the lean way a hand-rolled reference loop would: fused LayerNorm, SDPA
causal attention, `F.cross_entropy`. Its MLP width is chosen so the parameter count equals our preset's
(`gpt2_config_like`). The loop has no guards, no logging and no host sync per step. Not a bench itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trainer.config import TrainConfig
from trainer.loop import lr_at
from trainer.model import ModelConfig, count_parameters


@dataclass(frozen=True)
class Gpt2Config:
    vocab_size: int
    n_layer: int
    n_head: int
    d_model: int
    d_ff: int
    max_seq_len: int


def gpt2_param_count(c: Gpt2Config) -> int:
    per_block = (3 * c.d_model * c.d_model + 3 * c.d_model) + (c.d_model * c.d_model + c.d_model)  # attn
    per_block += (c.d_model * c.d_ff + c.d_ff) + (c.d_ff * c.d_model + c.d_model)  # mlp
    per_block += 4 * c.d_model  # two LayerNorms (weight + bias)
    return c.vocab_size * c.d_model + c.max_seq_len * c.d_model + c.n_layer * per_block + 2 * c.d_model


def gpt2_config_like(ours: ModelConfig) -> Gpt2Config:
    """Same depth, width, heads, vocab and context as `ours`; d_ff solved for an equal parameter count."""
    base = Gpt2Config(ours.vocab_size, ours.n_layer, ours.n_head, ours.d_model, 0, ours.max_seq_len)
    fixed = gpt2_param_count(base)
    target = ours.n_layer * (4 * ours.d_model**2 + 3 * ours.d_model * ours.d_ff + 2 * ours.d_model)
    target += ours.vocab_size * ours.d_model + ours.d_model
    per_unit = ours.n_layer * (2 * ours.d_model + 1)  # parameters one unit of d_ff adds
    return Gpt2Config(**{**base.__dict__, "d_ff": max(1, round((target - fixed) / per_unit))})


class _Block(nn.Module):
    def __init__(self, c: Gpt2Config) -> None:
        super().__init__()
        self.n_head = c.n_head
        self.ln_1, self.ln_2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.c_attn = nn.Linear(c.d_model, 3 * c.d_model)
        self.c_proj = nn.Linear(c.d_model, c.d_model)
        self.c_fc = nn.Linear(c.d_model, c.d_ff)
        self.mlp_proj = nn.Linear(c.d_ff, c.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, c: Gpt2Config) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(c.vocab_size, c.d_model), nn.Embedding(c.max_seq_len, c.d_model)
        self.blocks = nn.ModuleList(_Block(c) for _ in range(c.n_layer))
        self.ln_f = nn.LayerNorm(c.d_model)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        for m in self.modules():
            if isinstance(m, nn.Linear | nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        for blk in self.blocks:  # GPT-2's scaled residual projections, as our model does
            for proj in (blk.c_proj, blk.mlp_proj):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * c.n_layer))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for blk in self.blocks:
            x = blk(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))


def make_gpt2(ours: ModelConfig, seed: int) -> Gpt2:
    torch.manual_seed(seed)
    model = Gpt2(gpt2_config_like(ours))
    assert abs(count_parameters(model) - gpt2_param_count(gpt2_config_like(ours))) == 0
    return model


def adamw(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """The trainer's AdamW settings: decay on matrices only, betas (0.9, 0.95); fused only on CUDA."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8, fused=device.type == "cuda")


class BareLoop:
    """One bare training step at a time: forward, backward, clip, AdamW with the trainer's lr schedule.

    No guard, no log, no host sync (on CUDA the step is only queued; `sync()` waits for it).
    """

    def __init__(self, model: nn.Module, batches: Iterator, cfg: TrainConfig, device: torch.device,
                 steps: int) -> None:  # fmt: skip
        self.model, self.batches, self.cfg, self.device = model.train(), batches, cfg, device
        self.opt = adamw(model, cfg, device)
        self.sched = cfg.replace(num_steps=steps)
        self.i = 0

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def step(self) -> int:
        """Run one step; returns its token count."""
        x, y = next(self.batches)
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.i, self.sched)
        cuda = self.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext():
            loss = self.model(x, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.opt.step()
        self.i += 1
        return x.numel()


def bare_train(
    model: nn.Module, batches: Iterator, cfg: TrainConfig, device: torch.device, steps: int, *, skip: int = 0
) -> tuple[float, float, int]:
    """`steps` bare steps in a row.

    Returns (wall seconds, process CPU seconds, tokens) over the steps after the first `skip` (warm-up
    excluded). CPU seconds are this process's own: on a shared machine other processes barely move them.
    """
    loop = BareLoop(model, batches, cfg, device, steps)
    t0, c0, tokens = time.perf_counter(), time.process_time(), 0
    for i in range(steps):
        if i == skip:
            loop.sync()
            t0, c0, tokens = time.perf_counter(), time.process_time(), 0
        tokens += loop.step()
    loop.sync()
    return time.perf_counter() - t0, time.process_time() - c0, tokens


@torch.no_grad()
def held_out_loss(
    model: nn.Module, val: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device
) -> float:
    """Mean per-token loss over fixed held-out batches (the trainer's evaluate(), for this model)."""
    model.eval()
    total, count = 0.0, 0
    for x, y in val:
        total += float(model(x.to(device), y.to(device))) * y.numel()
        count += y.numel()
    model.train()
    return total / count
