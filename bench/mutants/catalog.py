"""The defect catalog: one named mutant per class of bug the contracts must catch.

A mutant is either a monkeypatch (`apply()` replaces module attributes inside the pytest process of
`pv gate`, so every caller sees it; loaded by bench/mutants/plugin.py from PV_MUTANT) or, where a
monkeypatch cannot express the bug (a statement moved inside a loop body), a text patch applied to a
scratch copy of the repository. `targets` names every `module:attr` the mutant replaces or edits, so
the catalog can be checked to still fit the code (tests/falsifiers/test_mutants.py).
"""

from __future__ import annotations

import functools
import importlib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.mutants._patch import obj as _obj
from bench.mutants._patch import set_attr as _set


@dataclass(frozen=True)
class Mutant:
    name: str
    klass: str  # the defect class from the issue
    targets: tuple[str, ...]  # module:attr this mutant touches
    apply: Callable[[], None] | None = None  # monkeypatch, run at pytest session start
    text_patch: tuple[tuple[str, str, str], ...] = ()  # (file, old, new) applied to a scratch copy
    expect: tuple[str, ...] = field(default=())  # falsifiers expected to kill it (documentation)


def _wrap(target: str, make: Callable[[Callable], Callable]) -> Callable[[], None]:
    def apply() -> None:
        orig = _obj(target)
        _set(target, functools.wraps(orig)(make(orig)))

    return apply


# ---------------------------------------------------------------- the mutants' bodies


def _synthetic_default() -> None:
    cmd = _obj("trainer.cli:pretrain")
    (param,) = [p for p in cmd.params if p.name == "synthetic"]
    param.default = True
    param.flag_value = True  # flag given or not: synthetic either way


def _forward_ids(fix: Callable) -> Callable[[], None]:
    def apply() -> None:
        cls = _obj("trainer.model:Transformer")
        orig = cls.forward

        def forward(self, idx, targets=None):
            vocab = self.config.vocab_size
            return orig(self, fix(idx, vocab), None if targets is None else fix(targets, vocab))

        cls.forward = forward

    return apply


def _ignore_vocab_size(orig):
    def resolve(params):
        return orig({**params, "vocab_size": None})

    return resolve


def _placeholder_on_exhaustion() -> None:
    import torch

    cls = _obj("trainer.data:TokenStream")
    orig = cls.__next__
    exhausted = _obj("trainer.data:DataExhausted")

    def next_(self):
        try:
            return orig(self)
        except exhausted:
            zeros = torch.zeros(self.batch_size, self.seq_len, dtype=torch.long)
            return zeros, zeros

    cls.__next__ = next_


def _divergence(kind: str) -> Callable[[], None]:
    def apply() -> None:
        g = importlib.import_module("trainer.guards")
        orig, div = g.check_epoch, g.DivergenceError
        first: dict[str, float] = {}

        def check_epoch(epoch, val_loss, previous_val_loss, mode, vocab_size):
            if kind == "removed":
                try:
                    return orig(epoch, val_loss, previous_val_loss, mode, vocab_size)
                except div:
                    return None
            if kind == "warn-only":
                try:
                    return orig(epoch, val_loss, previous_val_loss, mode, vocab_size)
                except div as exc:
                    warnings.warn(str(exc), stacklevel=2)
                    return None
            if kind == "ge":
                if epoch > 0 and previous_val_loss is not None and math.isfinite(val_loss):
                    if val_loss >= g.DIVERGENCE_FACTOR * previous_val_loss:
                        raise div(f"epoch {epoch}: val_loss {val_loss} >= 2 x {previous_val_loss}")
                    return None
                return orig(epoch, val_loss, previous_val_loss, mode, vocab_size)
            # kind == "vs-epoch0": every later epoch is compared with epoch 0, not the previous one
            if epoch == 0 or previous_val_loss is None:
                first["v"] = val_loss
                return orig(epoch, val_loss, previous_val_loss, mode, vocab_size)
            return orig(epoch, val_loss, first.get("v", previous_val_loss), mode, vocab_size)

        g.check_epoch = functools.wraps(orig)(check_epoch)

    return apply


def _fixed_cap(orig):
    def epoch_zero_cap(mode, vocab_size):
        return 10.0

    return epoch_zero_cap


def _mode_keeps_hparams(orig):
    def resolve_hparams(mode, *, lr=None, warmup_steps=None, target_val_loss=None):
        base = orig("from-scratch", lr=lr, warmup_steps=warmup_steps, target_val_loss=target_val_loss)
        return type(base)(mode, base.lr, base.warmup_steps, base.target_val_loss)

    return resolve_hparams


def _mode_overrides_lr(orig):
    def resolve_hparams(mode, *, lr=None, warmup_steps=None, target_val_loss=None):
        return orig(mode, lr=None, warmup_steps=warmup_steps, target_val_loss=target_val_loss)

    return resolve_hparams


def _seed_partial() -> None:
    import random

    import torch

    def seed_everything(seed: int) -> None:  # numpy forgotten
        random.seed(seed)
        torch.manual_seed(seed)

    for where in ("trainer.loop:seed_everything", "trainer.real:seed_everything"):
        _set(where, seed_everything)


def _invented_telemetry() -> None:
    cls = _obj("trainer.loop:_Loop")
    orig = cls.emit

    def emit(self, record, *, log=True):
        if "event" not in record:
            record = {**record, "tokens_per_sec": 1.0e6, "grad_norm": 1.0}  # numbers nobody measured
        return orig(self, record, log=log)

    cls.emit = emit


def _always_converged(orig):
    def final_status(val_losses, target_val_loss, completed_budget):
        return _obj("trainer.status:RunStatus").OK

    return final_status


def _cpu_fallback(orig):
    import torch

    def resolve_device(requested):
        try:
            return orig(requested)
        except _obj("trainer.errors:DeviceError"):
            return torch.device("cpu")

    return resolve_device


def _heldout_leak() -> None:
    import torch

    cls = _obj("trainer.real:RealLoop")
    build, on_cycle = cls.build, cls._on_cycle

    def build_(self, tok, ds, vocab):
        self._pv_val_tokens = ds.val_tokens
        return build(self, tok, ds, vocab)

    def on_cycle_(self, *args):
        s = self.stream  # from the second pass on, held-out windows join the training stream
        s.tokens = torch.cat([s.tokens, torch.as_tensor(self._pv_val_tokens).long()])
        s.n_windows = (len(s.tokens) - 1) // s.seq_len
        s.batches_per_pass = (s.n_windows // s.world_size) // s.batch_size
        return on_cycle(self, *args)

    cls.build, cls._on_cycle = build_, on_cycle_


def _sha_of_model(orig):
    def optimizer_state_sha(path):
        from pathlib import Path

        p = Path(path)
        model = p.with_name(p.name.replace(".optim.safetensors", ".safetensors"))
        return orig(model if model.exists() else p)

    return optimizer_state_sha


def _regime_apply(make) -> Callable[[], None]:
    def apply() -> None:
        orig = _obj("trainer.regimes:resolve_hparams")
        new = functools.wraps(orig)(make(orig))
        for where in ("trainer.regimes:resolve_hparams", "trainer.cli:resolve_hparams"):
            _set(where, new)

    return apply


LOOP = "trainer/loop.py"
CHECK = "                guards.check_finite(s + 1, out.loss, out.grad_norm)  # before anything is logged\n"

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "synthetic-default",
        "synthetic drive on by default",
        ("trainer.cli:pretrain",),
        _synthetic_default,
        expect=("FALSIFY-CLI-ROUTING",),
    ),
    Mutant(
        "vocab-clamp",
        "vocab mismatch hidden by clamping ids",
        ("trainer.model:Transformer.forward",),
        _forward_ids(lambda ids, v: ids.clamp(max=v - 1)),
        expect=("FALSIFY-MODEL-OOV",),
    ),
    Mutant(
        "vocab-modulo",
        "vocab mismatch hidden by modulo of ids",
        ("trainer.model:Transformer.forward",),
        _forward_ids(lambda ids, v: ids % v),
        expect=("FALSIFY-MODEL-OOV",),
    ),
    Mutant(
        "vocab-size-ignored",
        "--vocab-size parsed but ignored",
        ("trainer.cli:resolve_pretrain_config",),
        _wrap("trainer.cli:resolve_pretrain_config", _ignore_vocab_size),
        expect=("FALSIFY-CLI-ROUTING",),
    ),
    Mutant(
        "placeholder-on-exhaustion",
        "constant placeholder returned when the data runs out",
        ("trainer.data:TokenStream.__next__",),
        _placeholder_on_exhaustion,
        expect=("FALSIFY-TRAIN-EXHAUST",),
    ),
    Mutant(
        "divergence-removed",
        "divergence not aborted: check removed",
        ("trainer.guards:check_epoch",),
        _divergence("removed"),
        expect=("FALSIFY-TRAIN-DIVERGENCE",),
    ),
    Mutant(
        "divergence-ge",
        "divergence not aborted: >= instead of >",
        ("trainer.guards:check_epoch",),
        _divergence("ge"),
        expect=("FALSIFY-TRAIN-DIVERGENCE",),
    ),
    Mutant(
        "divergence-vs-epoch0",
        "divergence not aborted: compared with epoch 0",
        ("trainer.guards:check_epoch",),
        _divergence("vs-epoch0"),
        expect=("FALSIFY-TRAIN-DIVERGENCE",),
    ),
    Mutant(
        "divergence-warn-only",
        "divergence not aborted: warn only",
        ("trainer.guards:check_epoch",),
        _divergence("warn-only"),
        expect=("FALSIFY-TRAIN-DIVERGENCE",),
    ),
    Mutant(
        "fixed-epoch0-cap",
        "fixed epoch-0 cap for both regimes",
        ("trainer.guards:epoch_zero_cap",),
        _wrap("trainer.guards:epoch_zero_cap", _fixed_cap),
        expect=("FALSIFY-TRAIN-CONST-SCRATCH-CAP",),
    ),
    Mutant(
        "mode-keeps-hparams",
        "--mode flips the regime but not its hyper-parameters",
        ("trainer.regimes:resolve_hparams", "trainer.cli:resolve_hparams"),
        _regime_apply(_mode_keeps_hparams),
        expect=("FALSIFY-CLI-ROUTING",),
    ),
    Mutant(
        "mode-overrides-lr",
        "--mode overrides an explicit --lr",
        ("trainer.regimes:resolve_hparams", "trainer.cli:resolve_hparams"),
        _regime_apply(_mode_overrides_lr),
        expect=("FALSIFY-CLI-ROUTING",),
    ),
    Mutant(
        "seed-partial",
        "seed not applied to every RNG",
        ("trainer.loop:seed_everything", "trainer.real:seed_everything"),
        _seed_partial,
        expect=("FALSIFY-TRAIN-REPRO-RNGS",),
    ),
    Mutant(
        "nan-logged",
        "NaN written to the log before the abort",
        ("trainer.loop:_Loop._epochs",),
        text_patch=(
            (LOOP, CHECK, ""),
            (
                LOOP,
                '"drive": self.drive,\n                    }\n                )\n',
                '"drive": self.drive,\n                    }\n                )\n'
                + CHECK.replace("  # before anything is logged", ""),
            ),
        ),
        expect=("FALSIFY-TRAIN-NAN-RUN",),
    ),
    Mutant(
        "invented-telemetry",
        "invented telemetry",
        ("trainer.loop:_Loop.emit",),
        _invented_telemetry,
        expect=("FALSIFY-TRAIN-METRICS",),
    ),
    Mutant(
        "always-converged",
        '"converged" reported whatever the loss',
        ("trainer.guards:final_status",),
        _wrap("trainer.guards:final_status", _always_converged),
        expect=("FALSIFY-TRAIN-VERDICT",),
    ),
    Mutant(
        "budget-not-clamped",
        "step budget not clamped",
        ("trainer.loop:_Loop._epochs",),
        text_patch=(
            (
                LOOP,
                "last = min(cfg.num_steps, first + cfg.steps_per_epoch)",
                "last = first + cfg.steps_per_epoch",
            ),
        ),
        expect=("FALSIFY-TRAIN-METRICS",),
    ),
    Mutant(
        "cpu-fallback",
        "silent CPU fallback for an explicit device",
        ("trainer.guards:resolve_device",),
        _wrap("trainer.guards:resolve_device", _cpu_fallback),
        expect=("FALSIFY-CLI-DEVICE-CUDA",),
    ),
    Mutant(
        "heldout-leak",
        "held-out data leaking into training when the stream cycles",
        ("trainer.real:RealLoop.build", "trainer.real:RealLoop._on_cycle"),
        _heldout_leak,
        expect=("FALSIFY-TRAIN-HELDOUT",),
    ),
    Mutant(
        "constant-drift",
        "a code constant that drifted from its contract value",
        ("trainer.guards:DIVERGENCE_FACTOR",),
        lambda: _set("trainer.guards:DIVERGENCE_FACTOR", 3.0),
        expect=("FALSIFY-TRAIN-CONST-FACTOR",),
    ),
    Mutant(
        "optimizer-sha-of-model",
        "an optimizer sha that hashes something other than the saved state",
        ("trainer.checkpoint:optimizer_state_sha",),
        _wrap("trainer.checkpoint:optimizer_state_sha", _sha_of_model),
        expect=("FALSIFY-TRAIN-ARTIFACTS",),
    ),
)

from bench.mutants.catalog_model import model_mutants  # noqa: E402  (model / optimizer surface, issue 9)
from bench.mutants.catalog_run import run_mutants  # noqa: E402  (the run-surface mutants, issue 9)

MUTANTS = (*MUTANTS, *model_mutants(Mutant), *run_mutants(Mutant))
BY_NAME = {m.name: m for m in MUTANTS}


def get(name: str) -> Mutant:
    if name not in BY_NAME:
        raise KeyError(f"no mutant {name!r}; known: {', '.join(BY_NAME)}")
    return BY_NAME[name]


def resolves(target: str) -> bool:
    """True when `module:attr` exists (attr may be dotted)."""
    try:
        _obj(target)
    except (ImportError, AttributeError):
        return False
    return True
