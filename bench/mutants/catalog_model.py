"""Mutants of the model, the optimizer and the schedule: bugs in how correct kernels are wired together.

Each kernel stays right on its own (the kernel falsifiers still pass); what breaks is the model or the
update as training calls it, so only the surface kinds (`model-surface`, `hf-differential`,
`optimizer-schedule`) can see them. bench/mutants/catalog.py adds `model_mutants(Mutant)` to MUTANTS
(the class is passed in, so this module never imports the catalog: no import cycle). Classes: (6) model
bugs invisible to kernel tests, (7) optimizer and schedule, (2) model dimensions that never arrive.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from bench.mutants._patch import obj as _obj
from bench.mutants._patch import set_attr as _set

MODEL = "trainer/model.py"
OPTIM = "trainer/optim.py"
KERNELS = "trainer/kernels.py"
MODEL_BUG = "(6) model bug invisible to kernel tests"
OPTIM_BUG = "(7) optimizer and schedule"
NEVER_ARRIVES = "(2) configuration that never arrives"
REFERENCE = "FALSIFY-MODEL-REFERENCE"


# ---------------------------------------------------------------- model bodies (monkeypatches)


def _rope_partial() -> None:
    """The last quarter of every head's dims passes unrotated (a rotary_pct < 1 nobody asked for)."""
    cls, apply_rope = _obj("trainer.model:RotaryEmbedding"), _obj("trainer.kernels:apply_rope")

    def forward(self, x, pos_offset=0):
        keep = x.shape[-1] // 4
        out = apply_rope(x, self.cos[pos_offset:], self.sin[pos_offset:]).clone()
        out[..., x.shape[-1] - keep :] = x[..., x.shape[-1] - keep :]
        return out

    cls.forward = forward


def _rope_dropped() -> None:
    _obj("trainer.model:RotaryEmbedding").forward = lambda self, x, pos_offset=0: x


def _norm(body: Callable) -> Callable[[], None]:
    def apply() -> None:
        _obj("trainer.model:RMSNorm").forward = body

    return apply


def _gain_ignored(self, x):
    import torch

    return _obj("trainer.kernels:rms_norm")(x, torch.ones_like(self.weight), self.eps)


def _eps_outside_sqrt(self, x):
    xf = x.float()
    return (xf / (xf.pow(2).mean(-1, keepdim=True).sqrt() + self.eps) * self.weight).to(x.dtype)


def _stats_over_batch(self, x):
    xf = x.float()  # the mean square over (batch, features): rows normalise each other
    return (xf * (xf.pow(2).mean(dim=(0, -1), keepdim=True) + self.eps).rsqrt() * self.weight).to(x.dtype)


def _eps_hardcoded() -> None:
    cls = _obj("trainer.model:RMSNorm")
    init = cls.__init__

    def __init__(self, dim, eps):
        init(self, dim, 1e-6)  # the configured norm_eps never reaches the norms

    cls.__init__ = __init__


def _labels_rolled_by_two() -> None:
    cls = _obj("trainer.model:Transformer")
    forward = cls.forward

    def forward_(self, idx, targets=None, *, pos_offset=0):
        shifted = None if targets is None else targets.roll(2, dims=1)
        return forward(self, idx, shifted, pos_offset=pos_offset)

    cls.forward = forward_


def _embedding_maps_ids(fix: Callable) -> Callable[[], None]:
    """The range check dropped, the embedding itself maps any id onto a row (clamp or wrap)."""

    def apply() -> None:
        import torch

        cls = _obj("trainer.model:Transformer")
        init = cls.__init__

        class MappingEmbedding(torch.nn.Embedding):
            def forward(self, ids):
                return super().forward(fix(ids, self.num_embeddings))

        def __init__(self, config):
            init(self, config)
            self.tok_emb.__class__ = MappingEmbedding  # same weight, still tied

        def _check_ids(self, *args, **kwargs):  # the range check is gone (whatever its signature)
            return None

        cls.__init__, cls._check_ids = __init__, _check_ids

    return apply


def _untied() -> None:
    import torch

    cls = _obj("trainer.model:Transformer")
    init = cls.__init__

    def __init__(self, config):
        init(self, config)
        self.lm_head.weight = torch.nn.Parameter(self.tok_emb.weight.detach().clone())

    cls.__init__ = __init__


def _attention_scale() -> None:
    import torch.nn.functional as F

    # wraps: the replacement still counts as trainer code for pv.runtime.resolve (a kernel falsifier
    # targets attend itself), as a bug edited into trainer/model.py would.
    @functools.wraps(_obj("trainer.model:attend"))
    def attend(q, k, v):  # 1/d instead of 1/sqrt(d)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1.0 / q.shape[-1])

    _set("trainer.model:attend", attend)


def _vocab_padded() -> None:
    """nanoGPT's trick applied silently: the vocabulary rounded up to a multiple of 64."""
    orig = _obj("trainer.model:model_config")

    @functools.wraps(orig)
    def model_config(preset, vocab_size, max_seq_len, **shape):
        return orig(preset, -(-vocab_size // 64) * 64, max_seq_len, **shape)

    _set("trainer.model:model_config", model_config)


# ---------------------------------------------------------------- optimizer bodies (monkeypatches)


def _warmup_missing() -> None:
    cls = _obj("trainer.optim:WarmupCosine")
    for_config = cls.for_config.__func__

    def for_config_(klass, cfg):
        return for_config(klass, cfg.replace(warmup_steps=0))

    cls.for_config = classmethod(for_config_)


def _decay_everything() -> None:
    @functools.wraps(_obj("trainer.optim:decay_groups"))
    def decay_groups(model, weight_decay):
        return [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": weight_decay}]

    _set("trainer.optim:decay_groups", decay_groups)


def _update(variant: str) -> Callable[[], None]:
    def apply() -> None:
        import torch

        @functools.wraps(_obj("trainer.optim:update"))  # still trainer code for pv.runtime.resolve
        def update(optimizer, schedule, step, cfg, before_update=None):
            if variant != "lr-not-applied":
                for group in optimizer.param_groups:
                    group["lr"] = schedule(step)
            params = [p for group in optimizer.param_groups for p in group["params"]]
            clip = float("inf") if variant == "clip-not-applied" else cfg.grad_clip
            norm = torch.nn.utils.clip_grad_norm_(params, clip)
            if before_update is not None:
                before_update(norm)
            optimizer.step()
            return norm

        _set("trainer.optim:update", update)

    return apply


def model_mutants(Mutant: type) -> tuple:
    """The model / optimizer / schedule mutants, as instances of the catalog's Mutant class."""
    return (
        # --- (6) positional encoding
        Mutant(
            "rope-q-only",
            MODEL_BUG,
            ("trainer.model:CausalSelfAttention.forward",),
            text_patch=(
                (
                    MODEL,
                    "q, k = self.rope(q, pos_offset), self.rope(k, pos_offset)",
                    "q = self.rope(q, pos_offset)",
                ),
            ),
            expect=("FALSIFY-MODEL-RELATIVE-POSITION", REFERENCE),
        ),
        Mutant(
            "rope-on-v-too",
            MODEL_BUG,
            ("trainer.model:CausalSelfAttention.forward",),
            text_patch=(
                (
                    MODEL,
                    "q, k = self.rope(q, pos_offset), self.rope(k, pos_offset)",
                    "q, k, v = self.rope(q, pos_offset), self.rope(k, pos_offset), self.rope(v, pos_offset)",
                ),
            ),
            expect=("FALSIFY-MODEL-RELATIVE-POSITION", REFERENCE),
        ),
        Mutant(
            "rope-partial",
            MODEL_BUG,
            ("trainer.model:RotaryEmbedding.forward",),
            _rope_partial,
            expect=(REFERENCE, "FALSIFY-MODEL-RELATIVE-POSITION"),
        ),
        Mutant(
            "rope-dropped",
            MODEL_BUG,
            ("trainer.model:RotaryEmbedding.forward",),
            _rope_dropped,
            expect=(REFERENCE,),
        ),
        Mutant(
            "rope-theta-ignored",
            MODEL_BUG,
            ("trainer.model:CausalSelfAttention.__init__",),
            text_patch=(
                (
                    MODEL,
                    "RotaryEmbedding(self.head_dim, config.max_seq_len, config.rope_theta)",
                    "RotaryEmbedding(self.head_dim, config.max_seq_len, 10000.0)",
                ),
            ),
            expect=(REFERENCE,),
        ),
        Mutant(
            "rope-exponent",
            MODEL_BUG,
            ("trainer.kernels:rope_cache",),
            text_patch=(
                (
                    KERNELS,
                    "-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim",
                    "-torch.arange(0, head_dim, 2, dtype=torch.float32) / (head_dim // 2)",
                ),
            ),
            expect=(REFERENCE,),
        ),
        # --- (6) masking
        Mutant(
            "mask-train-only",
            MODEL_BUG,
            ("trainer.model:CausalSelfAttention.forward",),
            text_patch=(
                (
                    MODEL,
                    "y = attend(q, k, v)  # (B, H, T, D)",
                    "y = F.scaled_dot_product_attention(q, k, v, is_causal=self.training)  # (B, H, T, D)",
                ),
            ),
            expect=("FALSIFY-MODEL-CAUSAL", "FALSIFY-MODEL-MODES", REFERENCE),
        ),
        Mutant(
            "mask-sees-next",
            MODEL_BUG,
            ("trainer.model:CausalSelfAttention.forward",),
            text_patch=(
                (
                    MODEL,
                    "y = attend(q, k, v)  # (B, H, T, D)",
                    "sees = torch.ones(t, t, dtype=torch.bool, device=x.device).tril(diagonal=1)\n"
                    "        y = F.scaled_dot_product_attention(q, k, v, attn_mask=sees)  # (B, H, T, D)",
                ),
            ),
            expect=("FALSIFY-MODEL-CAUSAL", REFERENCE),
        ),
        Mutant(
            "attention-scale",
            MODEL_BUG,
            ("trainer.model:attend",),
            _attention_scale,
            expect=("FALSIFY-KERN-ATTN-REF", REFERENCE),
        ),
        # --- (6) normalisation
        Mutant(
            "norm-gain-ignored",
            MODEL_BUG,
            ("trainer.model:RMSNorm.forward",),
            _norm(_gain_ignored),
            expect=("FALSIFY-MODEL-GRADIENTS", REFERENCE),
        ),
        Mutant(
            "norm-eps-outside-sqrt",
            MODEL_BUG,
            ("trainer.model:RMSNorm.forward",),
            _norm(_eps_outside_sqrt),
            expect=(REFERENCE,),
        ),
        Mutant(
            "norm-eps-hardcoded",
            MODEL_BUG,
            ("trainer.model:RMSNorm.__init__",),
            _eps_hardcoded,
            expect=(REFERENCE,),
        ),
        Mutant(
            "norm-over-batch",
            MODEL_BUG,
            ("trainer.model:RMSNorm.forward",),
            _norm(_stats_over_batch),
            expect=("FALSIFY-MODEL-BATCH", REFERENCE),
        ),
        Mutant(
            "swiglu-swapped",
            MODEL_BUG,
            ("trainer.model:SwiGLU.forward",),
            text_patch=(
                (
                    MODEL,
                    "self.down(F.silu(self.gate(x)) * self.up(x))",
                    "self.down(F.silu(self.up(x)) * self.gate(x))",
                ),
            ),
            expect=(REFERENCE,),
        ),
        # --- (6) labels and logits
        Mutant(
            "loss-shift-by-one",
            MODEL_BUG,
            ("trainer.model:Transformer.forward",),
            text_patch=(
                (
                    MODEL,
                    "loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))",  # noqa: E501
                    "loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), targets[:, 1:].reshape(-1))",  # noqa: E501
                ),
            ),
            expect=("FALSIFY-MODEL-LOSS",),
        ),
        Mutant(
            "labels-rolled-by-two",
            MODEL_BUG,
            ("trainer.model:Transformer.forward",),
            _labels_rolled_by_two,
            expect=("FALSIFY-MODEL-LOSS",),
        ),
        # --- (6) vocabulary at the embedding, tying
        Mutant(
            "oov-wrap-at-embedding",
            MODEL_BUG,
            ("trainer.model:Transformer.__init__", "trainer.model:Transformer._check_ids"),
            _embedding_maps_ids(lambda ids, v: ids % v),
            expect=("FALSIFY-MODEL-SURFACE-OOV", "FALSIFY-MODEL-OOV"),
        ),
        Mutant(
            "oov-clamp-at-embedding",
            MODEL_BUG,
            ("trainer.model:Transformer.__init__", "trainer.model:Transformer._check_ids"),
            _embedding_maps_ids(lambda ids, v: ids.clamp(0, v - 1)),
            expect=("FALSIFY-MODEL-SURFACE-OOV", "FALSIFY-MODEL-OOV"),
        ),
        Mutant(
            "weights-untied",
            MODEL_BUG,
            ("trainer.model:Transformer.__init__",),
            _untied,
            expect=(REFERENCE, "FALSIFY-MODEL-TIED"),
        ),
        # --- (2) model dimensions that never arrive
        Mutant(
            "model-vocab-hardcoded",
            NEVER_ARRIVES,
            ("trainer.model:model_config",),
            text_patch=(
                (
                    MODEL,
                    "return ModelConfig(vocab_size=vocab_size, max_seq_len=max_seq_len,",
                    "return ModelConfig(vocab_size=2048, max_seq_len=max_seq_len,",
                ),
            ),
            expect=("FALSIFY-MODEL-CAUSAL", "FALSIFY-MODEL-SURFACE-OOV", REFERENCE),
        ),
        Mutant(
            "model-vocab-padded",
            NEVER_ARRIVES,
            ("trainer.model:model_config",),
            _vocab_padded,
            expect=("FALSIFY-MODEL-CAUSAL", "FALSIFY-MODEL-SURFACE-OOV", REFERENCE),
        ),
        # --- (7) schedule
        Mutant(
            "warmup-off-by-one",
            OPTIM_BUG,
            ("trainer.optim:WarmupCosine.__call__",),
            text_patch=((OPTIM, "return peak * (step + 1) / warm", "return peak * step / warm"),),
            expect=("FALSIFY-OPT-SCHEDULE", "FALSIFY-OPT-UPDATE"),
        ),
        Mutant(
            "warmup-missing",
            OPTIM_BUG,
            ("trainer.optim:WarmupCosine.for_config",),
            _warmup_missing,
            expect=("FALSIFY-OPT-SCHEDULE", "FALSIFY-OPT-UPDATE"),
        ),
        Mutant(
            "cosine-to-zero",
            OPTIM_BUG,
            ("trainer.optim:WarmupCosine.__call__",),
            text_patch=((OPTIM, "floor = self.min_fraction * peak", "floor = 0.0"),),
            expect=("FALSIFY-OPT-SCHEDULE", "FALSIFY-OPT-UPDATE"),
        ),
        Mutant(
            "cosine-wrong-span",
            OPTIM_BUG,
            ("trainer.optim:WarmupCosine.__call__",),
            text_patch=(
                (OPTIM, "span = max(1, self.total_steps - warm)", "span = max(1, self.total_steps)"),
            ),
            expect=("FALSIFY-OPT-SCHEDULE", "FALSIFY-OPT-UPDATE"),
        ),
        Mutant(
            "lr-ignored",
            OPTIM_BUG,
            ("trainer.optim:WarmupCosine.for_config",),
            text_patch=((OPTIM, "return cls(peak=cfg.lr,", "return cls(peak=3e-3,"),),
            expect=("FALSIFY-OPT-SCHEDULE", "FALSIFY-OPT-UPDATE"),
        ),
        Mutant(
            "lr-not-applied",
            OPTIM_BUG,
            ("trainer.optim:update",),
            _update("lr-not-applied"),
            expect=("FALSIFY-OPT-UPDATE",),
        ),
        # --- (7) decay policy and hyper-parameters
        Mutant(
            "decay-on-norm-gains",
            OPTIM_BUG,
            ("trainer.optim:decay_groups",),
            _decay_everything,
            expect=("FALSIFY-OPT-GROUPS", "FALSIFY-OPT-UPDATE"),
        ),
        Mutant(
            "weight-decay-hardcoded",
            OPTIM_BUG,
            ("trainer.optim:build_optimizer",),
            text_patch=(
                (
                    OPTIM,
                    "make_adamw(model, cfg.lr, cfg.weight_decay, fused=fused)",
                    "make_adamw(model, cfg.lr, 0.1, fused=fused)",
                ),
            ),
            expect=("FALSIFY-OPT-GROUPS", "FALSIFY-OPT-UPDATE"),
        ),
        Mutant(
            "betas-default",
            OPTIM_BUG,
            ("trainer.optim:make_adamw",),
            text_patch=((OPTIM, "lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS,", "lr=lr, eps=ADAM_EPS,"),),
            expect=("FALSIFY-OPT-GROUPS", "FALSIFY-OPT-UPDATE"),
        ),
        # --- (7) clipping
        Mutant(
            "clip-not-applied",
            OPTIM_BUG,
            ("trainer.optim:update",),
            _update("clip-not-applied"),
            expect=("FALSIFY-OPT-UPDATE",),
        ),
        Mutant(
            "clip-after-step",
            OPTIM_BUG,
            ("trainer.optim:update",),
            text_patch=(
                (
                    OPTIM,
                    "    norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)  # returns the pre-clip norm\n"  # noqa: E501
                    "    if before_update is not None:\n"
                    "        before_update(norm)\n"
                    "    optimizer.step()\n",
                    "    optimizer.step()\n"
                    "    norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)  # too late: weights moved\n"  # noqa: E501
                    "    if before_update is not None:\n"
                    "        before_update(norm)\n",
                ),
            ),
            expect=("FALSIFY-OPT-UPDATE",),
        ),
        Mutant(
            "clip-hardcoded",
            OPTIM_BUG,
            ("trainer.optim:update",),
            text_patch=((OPTIM, "clip_grad_norm_(params, cfg.grad_clip)", "clip_grad_norm_(params, 1.0)"),),
            expect=("FALSIFY-OPT-UPDATE",),
        ),
    )
