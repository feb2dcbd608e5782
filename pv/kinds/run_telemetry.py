"""run-telemetry: the numbers a real CLI run logs and checkpoints are the numbers it measured.

Target: the stack's launcher (adapters and flags: `pv.kinds._runs`). On the drawn run, restated here:

* step s: tokens_seen = s · batch_size · seq_length (every step consumes one whole batch);
  tokens_per_sec · step_wall_ms / 1000 = batch_size · seq_length (this step's tokens over this step's
  time, not a cumulative or invented rate); the steps' wall time sums to less than the launch's wall
  clock, measured here;
* eval record of epoch e: it follows the epoch's last step (min(num_steps, (e+1)·steps_per_epoch));
  its train_loss is the mean of that epoch's step losses, grad_norm_max their max, tokens_seen and
  lr those of its last step;
* checkpoint of epoch e: its metadata (epoch, step, val_loss, train_loss, tokens_seen,
  grad_norm_max) equals the eval record of epoch e it claims to describe.
"""

from __future__ import annotations

import math

from pv.kinds import _runs

NAME = "run-telemetry"
SUMMARY = "tokens_seen, tokens_per_sec, epoch records and checkpoint metadata agree with what the run did"
PARAMS = {
    **_runs.COMMON_PARAMS,
    "checks": "which of steps, evals, metadata to run (default all three)",
    "metadata_fields": "eval-record fields every checkpoint's metadata must repeat",
    "statuses": "exit codes of a run that trained (default [0, 3, 4, 5])",
}
REQUIRED_PARAMS = ("grid",)
ARGS = ("flags",)
GROUP = "run-surface"
EXPENSIVE = True
METADATA_FIELDS = ("epoch", "step", "val_loss", "train_loss", "tokens_seen", "grad_norm_max")


strategies = _runs.strategies


def check_steps(steps, batch, seq, wall_s, describe=""):
    __tracebackhide__ = True
    per_step = batch * seq
    for r in steps:
        s = r["step"]
        assert r["tokens_seen"] == s * per_step, (
            f"{describe}: step {s} logs tokens_seen {r['tokens_seen']}, but {s} steps of {batch} x {seq} "
            f"tokens are {s * per_step}"
        )
        measured = r["tokens_per_sec"] * r["step_wall_ms"] / 1e3
        assert _runs.close(measured, per_step, 1e-6), (
            f"{describe}: step {s} logs tokens_per_sec {r['tokens_per_sec']:.1f} over "
            f"{r['step_wall_ms']:.3f} ms = {measured:.1f} tokens, but a step processes {per_step}"
        )
    total = sum(r["step_wall_ms"] for r in steps) / 1e3
    assert total <= wall_s, (
        f"{describe}: the steps claim {total:.3f} s of wall time in a {wall_s:.3f} s launch"
    )


def check_evals(steps, evals, steps_per_epoch, num_steps, describe=""):
    __tracebackhide__ = True
    by_step = {r["step"]: r for r in steps}
    for ev in evals:
        e = ev["epoch"]
        first, last = e * steps_per_epoch + 1, min(num_steps, (e + 1) * steps_per_epoch)
        assert ev["step"] == last, f"{describe}: the eval of epoch {e} says step {ev['step']}, not {last}"
        mine = [by_step[s] for s in range(first, last + 1) if s in by_step]
        assert len(mine) == last - first + 1, f"{describe}: epoch {e} lacks step records"
        mean = math.fsum(r["train_loss"] for r in mine) / len(mine)
        assert _runs.close(ev["train_loss"], mean, 1e-9), (
            f"{describe}: epoch {e} logs train_loss {ev['train_loss']}, the mean of its steps is {mean}"
        )
        top = max(r["grad_norm"] for r in mine)
        assert _runs.close(ev["grad_norm_max"], top, 1e-9), (
            f"{describe}: epoch {e} logs grad_norm_max {ev['grad_norm_max']}, its steps' max is {top}"
        )
        for key in ("tokens_seen", "lr"):
            assert _runs.close(float(ev[key]), float(mine[-1][key]), 1e-12), (
                f"{describe}: epoch {e} logs {key} {ev[key]}, its last step {mine[-1][key]}"
            )


def check_metadata(evals, checkpoints, fields=METADATA_FIELDS, describe=""):
    __tracebackhide__ = True
    by_epoch = {ev["epoch"]: ev for ev in evals}
    for ck in checkpoints:
        ev = by_epoch.get(ck["epoch"])
        assert ev is not None, f"{describe}: checkpoint of epoch {ck['epoch']} has no eval record"
        for key in fields:
            got, want = ck["metadata"].get(key), ev.get(key)
            assert got is not None and _runs.close(float(got), float(want), 1e-12), (
                f"{describe}: the checkpoint of epoch {ck['epoch']} says {key} = {got}, the eval record of "
                f"that epoch {want}"
            )


def check(
    target,
    flags,
    grid,
    base=None,
    inputs="tiny",
    defaults=None,
    adapters=None,
    checks=("steps", "evals", "metadata"),
    metadata_fields=METADATA_FIELDS,
    statuses=(0, 3, 4, 5),
):
    __tracebackhide__ = True
    surf = _runs.surface(target, adapters)
    run, _, _ = _runs.point_run(surf, flags, inputs)
    eff = _runs.effective(run, defaults)
    assert run.exit_code in statuses, f"{run.describe()}: the check needs a run that trained"
    desc = run.describe()
    assert run.steps, f"{desc}: no step record"
    unknown = set(checks) - {"steps", "evals", "metadata"}
    assert not unknown, f"unknown checks {sorted(unknown)}; use steps, evals, metadata"
    if "steps" in checks:
        batch, seq = int(_runs.flag(eff, None, "batch_size")), int(_runs.flag(eff, None, "seq_length"))
        check_steps(run.steps, batch, seq, run.wall_s, desc)
    if "evals" in checks:
        spe, num = int(_runs.flag(eff, None, "steps_per_epoch")), int(_runs.flag(eff, None, "num_steps"))
        check_evals(run.steps, run.evals, spe, num, desc)
    if "metadata" in checks:
        assert run.checkpoints, f"{desc}: no checkpoint"
        check_metadata(run.evals, run.checkpoints, tuple(metadata_fields), desc)
