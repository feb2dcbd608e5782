"""The math the model uses, as small pure torch functions.

Each function is the reference for one kernel contract: `trainer/model.py` calls these (never its own
copy), so a falsifier that checks a property here checks the model too. Nothing here keeps state.
"""

from __future__ import annotations

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x - max) / sum: subtracting the max keeps exp() finite for any finite input."""
    shifted = x - x.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x²) + eps) · weight over the last dim. Computed in float32, returned in x's dtype."""
    xf = x.float()
    normed = xf * torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + eps)
    return (normed * weight.float()).to(x.dtype)


def rope_cache(head_dim: int, seq_len: int, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables, each (seq_len, head_dim), for the rotate-half RoPE layout.

    Layout ("rotate-half", as in GPT-NeoX/Llama): dimension i is paired with i + head_dim/2, and both
    members of pair i rotate by angle m · theta^(-2i/head_dim) at position m.
    """
    if head_dim % 2:
        raise ValueError(f"RoPE needs an even head_dim, got {head_dim}")
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)  # (D/2,)
    pos = torch.arange(seq_len, dtype=torch.float32)  # (T,)
    angles = torch.outer(pos, inv_freq)  # (T, D/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, D): pair i and i + D/2 share an angle
    return angles.cos(), angles.sin()


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x (B, H, T, D) by position: uses the first T rows of the (T_max, D) cos/sin tables."""
    t = x.shape[-2]
    if t > cos.shape[0]:
        raise ValueError(f"sequence length {t} exceeds the RoPE cache length {cos.shape[0]}")
    c = cos[:t].to(x.dtype)  # (T, D), broadcasts over (B, H)
    s = sin[:t].to(x.dtype)
    return x * c + _rotate_half(x) * s


def attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention written out with `softmax`: the reference the model's SDPA call must equal.

    q, k, v: (B, H, T, D) -> (B, H, T, D).
    """
    t, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / d**0.5  # (B, H, T, T)
    future = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    return softmax(scores, dim=-1) @ v


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of `targets` under `logits` (..., V), via a max-shifted log-softmax."""
    flat = logits.reshape(-1, logits.shape[-1]).float()  # (N, V)
    tgt = targets.reshape(-1)  # (N,)
    shifted = flat - flat.amax(dim=-1, keepdim=True)
    log_probs = shifted - shifted.exp().sum(dim=-1, keepdim=True).log()
    return -log_probs.gather(1, tgt.unsqueeze(1)).mean()


def adamw_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    step: int,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One AdamW step (decoupled weight decay, bias-corrected), as torch.optim.AdamW does it.

    `step` is the 1-based count after this update. Returns new (param, exp_avg, exp_avg_sq);
    the inputs are not modified.
    """
    if step < 1:
        raise ValueError(f"step counts from 1, got {step}")
    decayed = param * (1 - lr * weight_decay)  # decay acts on the weight, not on the gradient
    m = exp_avg * beta1 + grad * (1 - beta1)
    v = exp_avg_sq * beta2 + grad * grad * (1 - beta2)
    bias1 = 1 - beta1**step
    bias2 = 1 - beta2**step
    denom = v.sqrt() / bias2**0.5 + eps
    new_param = decayed - (lr / bias1) * m / denom
    return new_param, m, v
