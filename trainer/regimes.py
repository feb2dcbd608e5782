"""Training regimes: one table that sets (lr, warmup_steps, target_val_loss) together per --mode.

`--mode` flips all three at once so a run cannot mix a finetune learning rate with a from-scratch
target; an explicit flag still wins over the mode default, field by field.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainer.errors import PreflightError


@dataclass(frozen=True)
class Regime:
    lr: float
    warmup_steps: int
    target_val_loss: float


# from-scratch: a small randomly initialised decoder tolerates a high peak lr after a short warmup;
# its target is what the tiny/small presets reach on the stdlib corpus within a few minutes of CPU.
# finetune: an already trained model needs a ~10x smaller lr and a longer warmup, and is held to a
# tighter target (it starts far below a random model's ln(vocab)).
REGIMES: dict[str, Regime] = {
    "from-scratch": Regime(lr=3e-3, warmup_steps=20, target_val_loss=3.0),
    "finetune": Regime(lr=3e-4, warmup_steps=50, target_val_loss=2.2),
}
DEFAULT_MODE = "from-scratch"


@dataclass(frozen=True)
class Hyperparams:
    mode: str
    lr: float
    warmup_steps: int
    target_val_loss: float


def resolve_hparams(
    mode: str,
    *,
    lr: float | None = None,
    warmup_steps: int | None = None,
    target_val_loss: float | None = None,
) -> Hyperparams:
    """Mode defaults from REGIMES, each replaced by the explicit value when one was given."""
    if mode not in REGIMES:
        known = ", ".join(sorted(REGIMES))
        raise PreflightError(f"unknown mode {mode!r}; use one of: {known}", gate="GATE-TRAIN-REGIME")
    base = REGIMES[mode]
    return Hyperparams(
        mode=mode,
        lr=base.lr if lr is None else float(lr),
        warmup_steps=base.warmup_steps if warmup_steps is None else int(warmup_steps),
        target_val_loss=base.target_val_loss if target_val_loss is None else float(target_val_loss),
    )
