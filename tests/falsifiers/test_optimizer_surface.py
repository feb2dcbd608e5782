"""optimizer-schedule: each property refutes a broken optimizer, schedule or update; the real one passes."""

from __future__ import annotations

import dataclasses
import functools

import pytest
import torch

from pv.kinds import optimizer_schedule
from tests.falsifiers.conftest import search
from trainer import optim

PINNED = {
    "config": "trainer.config:TrainConfig",
    "config_kwargs": {"dataset": "unused", "tokenizer": "unused", "run_dir": "unused"},
    "model": "trainer.model:build_model",
    "model_kwargs": {
        "vocab_size": 64,
        "max_seq_len": 8,
        "n_layer": 1,
        "n_head": 2,
        "d_model": 16,
        "d_ff": 32,
    },
    "update": "trainer.optim:update",
    "betas": [0.9, 0.95],
    "eps": 1e-8,
    "min_lr_fraction": 0.1,
    "decay": {"matrices": True, "embeddings": True, "norms": False, "biases": False},
}


def run(prop, factory, max_examples=25):
    search(optimizer_schedule, factory, max_examples=max_examples, property=prop, **PINNED)


def refutes(prop, factory, max_examples=25) -> str:
    with pytest.raises(AssertionError) as info:
        run(prop, factory, max_examples)
    return str(info.value)


@pytest.mark.parametrize("prop", optimizer_schedule.PROPERTIES)
def test_the_trainers_optimizer_follows_the_contract(prop):
    run(prop, optim.build_optimizer)


def test_a_torch_lr_scheduler_is_read_through_get_last_lr():
    def with_lambda_lr(cfg, model):
        opt = optim.make_adamw(model, cfg.lr, cfg.weight_decay)
        rule = optim.WarmupCosine.for_config(cfg)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: rule(s) / cfg.lr)

    run("schedule", with_lambda_lr, max_examples=15)


def _with_schedule(**changes):
    def factory(cfg, model):
        opt, schedule = optim.build_optimizer(cfg, model)
        return opt, dataclasses.replace(schedule, **changes)

    return factory


def test_a_cosine_to_zero_is_caught():
    assert "the rule gives" in refutes("schedule", _with_schedule(min_fraction=0.0))


def test_a_warmup_off_by_one_is_caught():
    def factory(cfg, model):
        opt, schedule = optim.build_optimizer(cfg, model)
        return opt, lambda s: schedule(s - 1) if s < cfg.warmup_steps else schedule(s)

    assert "the rule gives" in refutes("schedule", factory)


def test_decayed_norm_gains_and_default_betas_are_caught():
    def decay_all(cfg, model):
        opt = torch.optim.AdamW(
            model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay
        )
        return opt, optim.WarmupCosine.for_config(cfg)

    def default_betas(cfg, model):
        groups = optim.decay_groups(model, cfg.weight_decay)
        return torch.optim.AdamW(groups, lr=cfg.lr), optim.WarmupCosine.for_config(cfg)

    assert "the policy says" in refutes("groups", decay_all)
    assert "betas" in refutes("groups", default_betas)


def test_a_hard_coded_weight_decay_is_caught_by_groups_and_update():
    def fixed(cfg, model):
        return optim.make_adamw(model, cfg.lr, 0.1), optim.WarmupCosine.for_config(cfg)

    refutes("groups", fixed)
    assert "away from AdamW" in refutes("update", fixed)


def _update_variant(variant):
    @functools.wraps(optim.update)  # a bug edited into trainer/optim.py is still trainer code to resolve()
    def update(optimizer, schedule, step, cfg, before_update=None):
        if variant != "no-lr":
            for group in optimizer.param_groups:
                group["lr"] = schedule(step)
        params = [p for g in optimizer.param_groups for p in g["params"]]
        if variant == "after-step":
            optimizer.step()
        norm = torch.nn.utils.clip_grad_norm_(params, float("inf") if variant == "no-clip" else cfg.grad_clip)
        if variant != "after-step":
            optimizer.step()
        return norm

    return update


@pytest.mark.parametrize("variant", ["after-step", "no-clip", "no-lr"])
def test_an_update_that_clips_late_never_or_skips_the_lr_is_caught(monkeypatch, variant):
    monkeypatch.setattr(optim, "update", _update_variant(variant))
    message = refutes("update", optim.build_optimizer)
    assert "away from AdamW" in message or "left after a clip" in message


# ---------------------------------------------------------------- the catalog's own mutants, in process

SURFACE = {
    "vocab_size": 250,
    "max_seq_len": 32,
    "factory_kwargs": {"n_layer": 2, "n_head": 2, "d_model": 32, "d_ff": 64},
}


@pytest.mark.parametrize(
    ("name", "kind", "params"),
    [
        ("warmup-missing", "optimizer", {"property": "schedule"}),
        ("decay-on-norm-gains", "optimizer", {"property": "groups"}),
        ("lr-not-applied", "optimizer", {"property": "update"}),
        ("norm-over-batch", "model", {"property": "batch-independent"}),
        ("labels-rolled-by-two", "model", {"property": "loss-matches"}),
        ("model-vocab-padded", "model", {"property": "causal"}),
    ],
)
def test_a_catalog_mutant_is_killed_by_its_surface_kind(monkeypatch, name, kind, params):
    import importlib

    from bench.mutants.catalog import get
    from pv.kinds import model_surface
    from trainer.model import build_model

    mutant = get(name)
    for target in mutant.targets:  # snapshot what the mutant replaces; monkeypatch puts it back
        module, _, attr = target.partition(":")
        owner = importlib.import_module(module)
        *path, last = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        monkeypatch.setattr(
            owner, last, owner.__dict__[last] if isinstance(owner, type) else getattr(owner, last)
        )

    def fresh(vocab_size, max_seq_len, **kw):  # its own factory, so no clean model is reused from the cache
        return build_model(vocab_size, max_seq_len, **kw)

    mutant.apply()
    with pytest.raises(AssertionError):
        if kind == "optimizer":
            search(optimizer_schedule, optim.build_optimizer, max_examples=25, **{**PINNED, **params})
        else:
            search(model_surface, fresh, max_examples=25, **SURFACE, **params)


def test_every_surface_mutant_names_killers_that_exist():
    from pathlib import Path

    from bench.mutants.catalog import Mutant
    from bench.mutants.catalog_model import model_mutants

    root = Path(__file__).resolve().parents[2]
    contracts = "".join(p.read_text(encoding="utf-8") for p in (root / "contracts").glob("*.yaml"))
    mutants = model_mutants(Mutant)
    assert len(mutants) >= 30
    for m in mutants:
        assert m.expect, f"{m.name} names no killer"
        missing = [f for f in m.expect if f"- id: {f}\n" not in contracts]
        assert not missing, f"{m.name} expects falsifiers no contract defines: {missing}"
    classes = {m.klass for m in mutants}
    assert all(sum(m.klass == k for m in mutants) >= 2 for k in classes)  # two shapes per class at least
