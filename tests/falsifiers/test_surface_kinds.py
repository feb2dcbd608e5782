"""The run-surface kinds (pv/kinds/run_*.py): each one fails on a broken local launcher and passes on
the real one. A broken launcher is the real `trainer.surface:launch` plus one lie or one dropped
flag, so every failure below is the kind's own oracle disagreeing with a run, not a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pv.kinds import (
    _runs,
    run_budget,
    run_eval,
    run_flags,
    run_replay,
    run_resume,
    run_telemetry,
    run_verdict,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("run-surface")]

ADAPTERS = {role: f"trainer.surface:{role}" for role in _runs.ROLES if role != "exit_codes"}
ADAPTERS["exit_codes"] = "trainer.surface:EXIT_CODES"
TINY = {
    "num_steps": 4, "steps_per_epoch": 1, "batch_size": 4, "seq_length": 32, "lr": 0.003,
    "warmup_steps": 2, "target_val_loss": 3.0, "device": "cpu",
}  # fmt: skip
DEFAULTS = {"grad_clip": 1.0, "weight_decay": 0.1, "seed": 0, "eval_batches": 16, "mode": "from-scratch"}


def _launch():
    from trainer import surface

    return surface.launch


def real_launch(flags, run_dir):
    return _launch()(flags, run_dir)


def _rewrite_log(run_dir: Path, edit) -> None:
    path = Path(run_dir) / "train.jsonl"
    if not path.is_file():
        return
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    path.write_text("".join(json.dumps(edit(r)) + "\n" for r in records), encoding="utf-8")


def lying_throughput(flags, run_dir):
    got = _launch()(flags, run_dir)
    _rewrite_log(
        run_dir,
        lambda r: r | {"tokens_per_sec": r["tokens_seen"] / r["wall_ms"] * 1e3} if "event" not in r else r,
    )
    return got


def lying_val_loss(flags, run_dir):
    got = _launch()(flags, run_dir)
    _rewrite_log(
        run_dir, lambda r: r | {"val_loss": r["val_loss"] * 0.99} if r.get("event") == "epoch" else r
    )
    return got


def clipped_grad_norm(flags, run_dir):
    got = _launch()(flags, run_dir)
    clip = flags.get("grad_clip", 1.0)
    _rewrite_log(run_dir, lambda r: r | {"grad_norm": min(r["grad_norm"], clip)} if "event" not in r else r)
    return got


def always_ok(flags, run_dir):
    code, out = _launch()(flags, run_dir)
    return (0 if code == 3 else code), out


def drops_vocab_size(flags, run_dir):
    return _launch()({k: v for k, v in flags.items() if k != "vocab_size"}, run_dir)


def always_cycles(flags, run_dir):
    return _launch()({**flags, "allow_shard_cycle": True}, run_dir)


def check(kind, launcher, point, **params):
    kind.check(launcher, point, [point], adapters=ADAPTERS, defaults=DEFAULTS, **params)


def test_run_telemetry_catches_cumulative_throughput():
    check(run_telemetry, real_launch, TINY)
    with pytest.raises(AssertionError, match="tokens_per_sec"):
        check(run_telemetry, lying_throughput, TINY)


def test_run_eval_catches_a_val_loss_that_is_not_the_checkpoints():
    check(run_eval, real_launch, TINY)
    with pytest.raises(AssertionError, match="val_loss"):
        check(run_eval, lying_val_loss, TINY)


def test_run_replay_catches_a_grad_norm_logged_after_clipping():
    check(run_replay, real_launch, TINY, min_lr_fraction=0.1)
    with pytest.raises(AssertionError, match="grad_norm"):
        check(run_replay, clipped_grad_norm, TINY, min_lr_fraction=0.1)
    with pytest.raises(AssertionError, match="lr"):  # a schedule floor other than the run's
        check(run_replay, real_launch, TINY, min_lr_fraction=0.2)


def test_run_verdict_catches_an_ok_the_log_does_not_support():
    rules = {"factor": 2.0, "finetune_cap": 10.0, "cap_factor": 2.0}
    check(run_verdict, real_launch, TINY, **rules)
    with pytest.raises(AssertionError, match="give NOT_CONVERGED"):
        check(run_verdict, always_ok, TINY, **rules)


SHAPES = {"lm_head.weight": ["vocab", "d_model"], "norm.weight": ["d_model"]} | {
    f"blocks.{{layer}}.{name}": dims
    for name, dims in {
        "attn_norm.weight": ["d_model"], "attn.qkv.weight": ["3*d_model", "d_model"],
        "attn.proj.weight": ["d_model", "d_model"], "mlp_norm.weight": ["d_model"],
        "mlp.gate.weight": ["d_ff", "d_model"], "mlp.up.weight": ["d_ff", "d_model"],
        "mlp.down.weight": ["d_model", "d_ff"],
    }.items()
}  # fmt: skip
PRESETS = {"tiny": {"n_layer": 4, "n_head": 4, "d_model": 128, "d_ff": 384}}


def test_run_flags_catches_a_dropped_vocab_size():
    wide = {**TINY, "num_steps": 2, "vocab_size": 384}
    narrow = {**TINY, "vocab_size": 300}
    params = {"presets": PRESETS, "shapes": SHAPES, "defaults": {"model": "tiny"}}
    for point in (wide, narrow):
        run_flags.check(real_launch, point, [point], adapters=ADAPTERS, **params)
    with pytest.raises(AssertionError, match="V=384"):
        run_flags.check(drops_vocab_size, wide, [wide], adapters=ADAPTERS, **params)
    with pytest.raises(AssertionError, match="refused with PREFLIGHT"):
        run_flags.check(drops_vocab_size, narrow, [narrow], adapters=ADAPTERS, **params)


def test_run_budget_catches_a_plan_that_runs_past_one_pass():
    over = {"batch_size": 4, "seq_length": 32, "steps_per_epoch": 100, "eval_batches": 1, "num_steps": 9,
            "lr": 0.003, "warmup_steps": 0, "target_val_loss": 3.0, "device": "cpu"}  # fmt: skip
    run_budget.check(real_launch, over, [over], inputs="short-train", adapters=ADAPTERS)
    with pytest.raises(AssertionError, match="must be refused"):
        run_budget.check(always_cycles, over, [over], inputs="short-train", adapters=ADAPTERS)


def test_run_resume_catches_a_resume_without_optimizer_state(monkeypatch):
    point = {**TINY, "num_steps": 6, "steps_per_epoch": 2, "eval_batches": 2, "stop": 3}
    check(run_resume, real_launch, point)
    import types

    from trainer import checkpoint, real

    def load_weights_only(meta, model, optimizer=None, **kw):
        return checkpoint.load_checkpoint(meta, model, None, **kw)

    # Only the resume path sees the change; the surface's checkpoint reader still loads everything.
    proxy = types.SimpleNamespace(**vars(checkpoint))
    proxy.load_checkpoint = load_weights_only
    monkeypatch.setattr(real, "checkpoint", proxy)
    with pytest.raises(AssertionError, match="differs after the resume"):
        check(run_resume, real_launch, point)


# ── the oracles' pure parts ──────────────────────────────────────────────────────────────────────────
def test_lr_schedule_restated():
    assert run_replay.lr_at(1, 1.0, 2, 10, 0.1) == 0.5
    assert run_replay.lr_at(3, 1.0, 2, 10, 0.1) == 1.0
    assert math.isclose(run_replay.lr_at(10, 1.0, 2, 10, 0.1), 0.1 + 0.45 * (1 + math.cos(math.pi * 7 / 8)))


def test_verdict_rules_restated():
    kw = {"mode": "from-scratch", "vocab": 320, "target": 3.0, "factor": 2.0, "finetune_cap": 10.0,
          "cap_factor": 2.0, "budget_left": lambda i: True}  # fmt: skip
    assert run_verdict.predict([5.0, 10.0], patience=None, **kw)[:2] == ("NOT_CONVERGED", 1)  # exactly double
    assert run_verdict.predict([5.0, 10.01], patience=None, **kw)[:2] == ("DIVERGENCE", 1)
    assert run_verdict.predict([2 * math.log(320) + 0.01], patience=None, **kw)[:2] == ("DIVERGENCE", 0)
    assert run_verdict.predict([5.0, 5.1, 4.0], patience=1, **kw)[:2] == ("EARLY_STOP", 1)
    assert run_verdict.predict([2.9, 3.1], patience=1, **kw)[:2] == ("OK", 1)


def test_heldout_windows_keep_the_short_batch_and_stop_at_eval_batches():
    import torch

    x, y = run_eval.heldout_windows(torch.arange(100), 8, 4, None)
    assert x.shape == (12, 8) and bool((y == x + 1).all())
    assert run_eval.heldout_windows(torch.arange(100), 8, 4, 2)[0].shape == (8, 8)


def test_grid_points_and_shapes():
    assert _runs.grid_points({"a": [1, 2], "b": [None]}, {"c": 0}) == [
        {"c": 0, "a": 1, "b": None},
        {"c": 0, "a": 2, "b": None},
    ]
    with pytest.raises(ValueError, match="at most"):
        _runs.grid_points({"a": list(range(65))})
    shapes = run_flags.expected_shapes({"w.{layer}": ["3*d", 2]}, {"n_layer": 2, "d": 4})
    assert shapes == {"w.0": (12, 2), "w.1": (12, 2)}
    assert run_budget.batches_per_pass(1044, 4, 32) == 8
