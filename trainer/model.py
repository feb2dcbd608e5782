"""A decoder-only transformer, read top to bottom:
RMSNorm → RoPE → causal attention (SDPA) → SwiGLU MLP → Block → ModelConfig → Transformer.

The math lives in `trainer/kernels.py`; this file only wires it up. Two kernels have a fused torch
equivalent that the training path calls instead: `F.rms_norm` (bit-identical to `kernels.rms_norm` in
float32, tested) and `F.cross_entropy` (no float32 (N, V) log-softmax held for backward); the kernels stay
the oracles the tests compare them with. No biases anywhere, tied input and output embeddings, and token
ids outside [0, vocab_size) raise instead of being clamped or wrapped.
Shape letters: B batch, T time, C d_model, H heads, D head_dim, V vocab, F d_ff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trainer import kernels


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # In float32 and back, as kernels.rms_norm does: a bf16 x would otherwise be normalised in bf16.
        return F.rms_norm(x.float(), (x.shape[-1],), self.weight.float(), self.eps).to(x.dtype)


class RotaryEmbedding(nn.Module):
    """Holds the cos/sin tables; non-persistent buffers, so checkpoints carry only learned weights."""

    def __init__(self, head_dim: int, max_seq_len: int, theta: float) -> None:
        super().__init__()
        cos, sin = kernels.rope_cache(head_dim, max_seq_len, theta)  # (T_max, D) each
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, x: torch.Tensor, pos_offset: int = 0) -> torch.Tensor:
        # Row m of the tables rotates position m: a sequence starting at pos_offset uses rows from there.
        return kernels.apply_rope(x, self.cos[pos_offset:], self.sin[pos_offset:])  # (B, H, T, D)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Fused causal attention; must equal `kernels.attention_reference` (tested)."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.d_model // config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.rope = RotaryEmbedding(self.head_dim, config.max_seq_len, config.rope_theta)

    def forward(self, x: torch.Tensor, pos_offset: int = 0) -> torch.Tensor:
        b, t, c = x.shape  # (B, T, C)
        q, k, v = self.qkv(x).split(c, dim=2)  # 3 × (B, T, C)
        q = q.view(b, t, self.n_head, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = k.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        q, k = self.rope(q, pos_offset), self.rope(k, pos_offset)  # positions enter through q and k only
        y = attend(q, k, v)  # (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(b, t, c)  # (B, T, C)
        return self.proj(y)


class SwiGLU(nn.Module):
    """silu(x W_gate) ⊙ (x W_up), then W_down: three matrices instead of GPT-2's two."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.gate = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.up = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.down = nn.Linear(config.d_ff, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))  # (B, T, F) -> (B, T, C)


class Block(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(config.d_model, config.norm_eps)
        self.attn = CausalSelfAttention(config)
        self.mlp_norm = RMSNorm(config.d_model, config.norm_eps)
        self.mlp = SwiGLU(config)

    def forward(self, x: torch.Tensor, pos_offset: int = 0) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), pos_offset)  # (B, T, C)
        return x + self.mlp(self.mlp_norm(x))


@dataclass(frozen=True)
class ModelConfig:
    # No default: the vocabulary always comes from the tokenizer (or an explicit flag), never from here.
    vocab_size: int
    n_layer: int
    n_head: int
    d_model: int
    # SwiGLU width; ~8/3·d_model keeps the MLP's parameter count equal to GPT-2's 4·d_model with 2 matrices.
    d_ff: int
    max_seq_len: int
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_layer", "n_head", "d_model", "d_ff", "max_seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive int, got {value!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_head {self.n_head}")
        if (self.d_model // self.n_head) % 2:
            raise ValueError(f"head_dim {self.d_model // self.n_head} must be even for RoPE")

    @property
    def parameter_count(self) -> int:
        """Learned parameters of Transformer(self), without building it (the tied embedding once)."""
        d = self.d_model
        per_block = 4 * d * d + 3 * d * self.d_ff + 2 * d  # qkv + proj, gate/up/down, two RMSNorm gains
        return self.vocab_size * d + self.n_layer * per_block + d  # + the final norm


# Shapes only; vocab_size and max_seq_len come from the caller (`model_config`).
# Counts at vocab 2048 / 32768: tiny ≈ 1.12M / 5.05M, small ≈ 10.5M / 22.3M, 124m ≈ 86.5M / 110.1M
# (124m is GPT-2 small's shape; with GPT-2's 50257-token vocab it has 123.6M).
PRESETS: dict[str, dict] = {
    "tiny": {"n_layer": 4, "n_head": 4, "d_model": 128, "d_ff": 384},
    "small": {"n_layer": 6, "n_head": 6, "d_model": 384, "d_ff": 896},
    "124m": {"n_layer": 12, "n_head": 12, "d_model": 768, "d_ff": 2048},
}


def model_config(preset: str, vocab_size: int, max_seq_len: int, **shape: int | float) -> ModelConfig:
    """The preset's shape at this vocabulary and context; `shape` overrides single fields (tests)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose one of {sorted(PRESETS)}")
    return ModelConfig(vocab_size=vocab_size, max_seq_len=max_seq_len, **{**PRESETS[preset], **shape})


class Transformer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight  # tied: one (V, C) matrix reads and writes tokens
        self.apply(self._init_weights)
        # Residual projections add into the stream once per sublayer (2 per block): scale them down so
        # the stream's variance does not grow with depth (GPT-2's scheme).
        resid_std = 0.02 / math.sqrt(2 * config.n_layer)
        for block in self.blocks:
            nn.init.normal_(block.attn.proj.weight, mean=0.0, std=resid_std)
            nn.init.normal_(block.mlp.down.weight, mean=0.0, std=resid_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def _check_ids(self, **named: torch.Tensor | None) -> None:
        """Every id tensor is int and inside [0, vocab_size): one host sync for all of them together."""
        tensors = {what: ids for what, ids in named.items() if ids is not None}
        for what, ids in tensors.items():
            if ids.dtype not in (torch.int64, torch.int32):  # what nn.Embedding and gather accept
                raise ValueError(f"{what} must be an int64 or int32 tensor, got {ids.dtype}")
            if ids.numel() == 0:
                raise ValueError(f"{what} is empty")
        bounds = torch.stack([b for ids in tensors.values() for b in torch.aminmax(ids)]).tolist()
        v = self.config.vocab_size
        for (what, _), lo, hi in zip(tensors.items(), bounds[::2], bounds[1::2], strict=True):
            if hi >= v or lo < 0:
                bad = hi if hi >= v else lo
                raise ValueError(
                    f"{what} contains token id {bad} outside the model's vocabulary [0, {v}) "
                    f"(vocab_size={v}); the tokenizer and the model disagree on the vocabulary size"
                )

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, *, pos_offset: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> logits (B, T, V); loss is the mean cross-entropy when targets (B, T) are given."""
        self._check_ids(**{"input ids": idx, "target ids": targets})
        t = idx.shape[1]
        # pos_offset is the position of idx[:, 0] (0 in training; a continuation starts further on).
        if pos_offset < 0 or pos_offset + t > self.config.max_seq_len:
            raise ValueError(
                f"positions {pos_offset}..{pos_offset + t - 1} exceed max_seq_len {self.config.max_seq_len}"
            )
        x = self.tok_emb(idx)  # (B, T, C)
        for block in self.blocks:
            x = block(x, pos_offset)
        logits = self.lm_head(self.norm(x))  # (B, T, V)
        if targets is None:
            return logits, None
        # Fused: equal to kernels.cross_entropy (tested), without its float32 (N, V) log-softmax.
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
        return logits, loss


def build_model(vocab_size: int, max_seq_len: int, preset: str = "tiny", **shape: int | float) -> Transformer:
    """The model a run trains (RealLoop.build calls this): the preset's shape at the run's vocabulary and
    context. The model-surface falsifiers build through here, so they see what training builds."""
    return Transformer(model_config(preset, vocab_size, max_seq_len, **shape))


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters; `parameters()` yields a tied tensor once, so the embedding counts once."""
    return sum(p.numel() for p in model.parameters())
