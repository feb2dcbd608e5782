"""Guards: pure checks that refuse a run (or stop it) with a status and the contract gate they enforce.

Each guard raises a `GuardError` subclass whose message names the numbers involved and says what to do;
the CLI prints that message and exits with `error.status.exit_code`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from trainer.errors import DeviceError, DivergenceError, NonFiniteError, PreflightError
from trainer.status import RunStatus

GATE_VOCAB = "GATE-MODEL-VOCAB"
GATE_BUDGET = "GATE-TRAIN-BUDGET"
GATE_EXHAUST = "GATE-TRAIN-EXHAUST"
GATE_NON_DIVERGENCE = "GATE-TRAIN-005"
GATE_FINITE = "GATE-TRAIN-007"
GATE_DEVICE = "GATE-TRAIN-DEVICE"

FINETUNE_EPOCH_ZERO_CAP = 10.0
# val[N] may be at most this multiple of val[N-1]; strictly greater is divergence.
DIVERGENCE_FACTOR = 2.0


def vocab_preflight(
    tokenizer_vocab_size: int, model_vocab_size: int, *, max_token_id: int | None = None
) -> None:
    """Every id the tokenizer can emit must index a row of the model's embedding."""
    top = tokenizer_vocab_size - 1 if max_token_id is None else max_token_id
    if tokenizer_vocab_size > model_vocab_size or top >= model_vocab_size:
        raise PreflightError(
            f"[{GATE_VOCAB}] tokenizer vocab_size {tokenizer_vocab_size} (max token id {top}) does not fit "
            f"the model vocab_size {model_vocab_size}: ids >= {model_vocab_size} have no embedding row. "
            f"Pass --vocab-size {tokenizer_vocab_size} (or larger), or omit --vocab-size to use the "
            f"tokenizer's.",
            gate=GATE_VOCAB,
        )


# AdamW training holds four float32 copies of every parameter: weights, gradients, two moments.
TRAIN_BYTES_PER_PARAM = 4 * 4


def memory_preflight(parameters: int, available_bytes: int | None, device: str) -> None:
    """Refuse a model whose weights + gradients + AdamW state alone exceed the device's free memory.

    Activations come on top, so passing is no promise; failing is certain failure (an allocator error
    minutes later, or the OOM killer). `available_bytes` None: unknown, nothing to check.
    """
    need = parameters * TRAIN_BYTES_PER_PARAM
    if available_bytes is not None and need > available_bytes:
        raise DeviceError(
            f"[{GATE_DEVICE}] the model has {parameters:,} parameters: training needs at least "
            f"{need / 2**30:.1f} GiB (weights, gradients, AdamW state) but {device} has "
            f"{available_bytes / 2**30:.1f} GiB available; lower --vocab-size or choose a smaller --model"
        )


def budget_preflight(planned_tokens: int, corpus_tokens: int, allow_cycle: bool) -> bool:
    """Refuse a plan that needs more training tokens than exist, unless cycling is allowed.

    Returns True when the plan will cycle through the shards (so the caller can say so once).
    """
    if corpus_tokens <= 0:
        raise PreflightError(
            f"[{GATE_BUDGET}] the dataset has {corpus_tokens} training tokens; prepare a non-empty dataset "
            f"with `trainer data prepare`.",
            gate=GATE_BUDGET,
        )
    if planned_tokens <= corpus_tokens:
        return False
    if allow_cycle:
        return True
    raise PreflightError(
        f"[{GATE_BUDGET}] the plan needs {planned_tokens} training tokens (num_steps x batch_size x "
        f"seq_length) but the dataset has {corpus_tokens} ({planned_tokens / corpus_tokens:.2f} passes). "
        f"Lower --num-steps/--batch-size/--seq-length, prepare more data, or pass --allow-shard-cycle "
        f"to repeat the shards.",
        gate=GATE_BUDGET,
    )


def epoch_zero_cap(mode: str, vocab_size: int) -> float:
    """Highest val loss epoch 0 may report: 10.0 finetune, 2·ln(vocab) from scratch (random ≈ ln V)."""
    if mode == "finetune":
        return FINETUNE_EPOCH_ZERO_CAP
    if vocab_size < 2:
        raise PreflightError(f"vocab_size must be >= 2, got {vocab_size}", gate=GATE_NON_DIVERGENCE)
    return 2.0 * math.log(vocab_size)


def check_epoch(
    epoch: int, val_loss: float, previous_val_loss: float | None, mode: str, vocab_size: int
) -> None:
    """Non-divergence, regime-aware: epoch-0 cap, then val[N] must not exceed 2·val[N-1]."""
    if not math.isfinite(val_loss):
        raise NonFiniteError(
            f"[{GATE_FINITE}] epoch {epoch}: val_loss is {val_loss}; lower --lr or raise --warmup-steps.",
            gate=GATE_FINITE,
        )
    if epoch == 0 or previous_val_loss is None:
        cap = epoch_zero_cap(mode, vocab_size)
        if val_loss > cap:
            rule = "10.0 (finetune)" if mode == "finetune" else f"2*ln({vocab_size}) (from-scratch)"
            raise DivergenceError(
                f"[{GATE_NON_DIVERGENCE}] epoch {epoch}: val_loss {val_loss:.4f} exceeds the epoch-0 cap "
                f"{cap:.4f} = {rule}; the model is worse than chance. Lower --lr or check --mode.",
                gate=GATE_NON_DIVERGENCE,
            )
        return
    limit = DIVERGENCE_FACTOR * previous_val_loss
    if val_loss > limit:
        raise DivergenceError(
            f"[{GATE_NON_DIVERGENCE}] epoch {epoch}: val_loss {val_loss:.4f} > 2 x previous "
            f"{previous_val_loss:.4f} (= {limit:.4f}); training diverged. Lower --lr or raise "
            f"--warmup-steps, then --resume from an earlier checkpoint or restart.",
            gate=GATE_NON_DIVERGENCE,
        )


def check_finite(step: int, loss: float, grad_norm: float) -> None:
    """Abort before a NaN/Inf is logged: such a record would poison every later statistic."""
    bad = [name for name, v in (("loss", loss), ("grad_norm", grad_norm)) if not math.isfinite(v)]
    if bad:
        values = ", ".join(f"{n}={v}" for n, v in (("loss", loss), ("grad_norm", grad_norm)))
        raise NonFiniteError(
            f"[{GATE_FINITE}] step {step}: non-finite {' and '.join(bad)} ({values}); the step was not "
            f"logged. Lower --lr, raise --warmup-steps, or --resume from the last checkpoint.",
            gate=GATE_FINITE,
        )


def final_status(val_losses: Sequence[float], target_val_loss: float, completed_budget: bool) -> RunStatus:
    """OK only when the target was reached; otherwise say whether the budget ran out or patience did."""
    if not val_losses:
        # No evaluation happened: nothing shows convergence.
        return RunStatus.NOT_CONVERGED if completed_budget else RunStatus.EARLY_STOP
    if min(val_losses) <= target_val_loss:
        return RunStatus.OK
    return RunStatus.NOT_CONVERGED if completed_budget else RunStatus.EARLY_STOP


def patience_exhausted(val_losses: Sequence[float], patience: int | None) -> bool:
    """True when the last `patience` epochs brought no improvement over the best before them."""
    if patience is None or patience <= 0 or len(val_losses) <= patience:
        return False
    best_before = min(val_losses[:-patience])
    return min(val_losses[-patience:]) >= best_before


def resolve_device(requested: str) -> torch.device:
    """auto → cuda if available else cpu; an explicit device that is missing is an error, never a fallback."""
    req = requested.strip().lower()
    if req == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if req == "cpu":
        return torch.device("cpu")
    if req.startswith("cuda"):
        try:
            dev = torch.device(req)  # "cuda:abc", "cuda:-1": torch raises a plain RuntimeError
        except RuntimeError:
            raise DeviceError(
                f"[{GATE_DEVICE}] malformed device {requested!r}; use auto, cpu, cuda, cuda:N or mps."
            ) from None
        if not torch.cuda.is_available():
            raise DeviceError(
                f"[{GATE_DEVICE}] --device {requested} requested but CUDA is not available "
                f"(torch {torch.__version__}, cuda build: {torch.version.cuda}); use --device cpu or auto.",
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(
                f"[{GATE_DEVICE}] --device {requested}: only {torch.cuda.device_count()} CUDA device(s).",
            )
        return dev
    if req == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError(
                f"[{GATE_DEVICE}] --device mps requested but MPS is not available; use --device cpu or auto."
            )
        return torch.device("mps")
    raise DeviceError(f"[{GATE_DEVICE}] unknown device {requested!r}; use auto, cpu, cuda[:N] or mps.")
