"""ddp-equivalence: a data-parallel run with global batch B equals a 1-process run with batch B.

Target: the entry every rank calls (trainer.distributed:run_ddp). The shared tiny config is trained by
`world_size` spawned gloo ranks (per-rank batch batch_size / world_size) and, as the reference, by one
process with the same global batch. For each of the first `steps` steps the logged train_loss and
grad_norm, and each epoch's val_loss, must agree within `tolerance` (absolute). Holds when rank r trains
on exactly the r-th slice of the single-process batch and gradients are averaged over ranks; fails when
ranks read the same data or skip the all-reduce. Both runs must end with the same exit status.
"""

from __future__ import annotations

import sys

NAME = "ddp-equivalence"
SUMMARY = "N-rank run with global batch B matches the 1-process run with batch B for k steps"
PARAMS = {
    "world_size": "number of ranks (default 2)",
    "steps": "k: compared steps, also the run's num_steps",
    "steps_per_epoch": "epoch length of the run (default steps // 2)",
    "batch_size": "the GLOBAL batch B (divisible by world_size)",
    "tolerance": "max absolute difference allowed per value",
}
REQUIRED_PARAMS = ("steps", "batch_size", "tolerance")
ARGS: tuple[str, ...] = ()
GROUP = "ddp-run"


def knobs(steps, batch_size, steps_per_epoch=None) -> dict:
    return {
        "num_steps": steps,
        "steps_per_epoch": steps_per_epoch or max(1, steps // 2),
        "batch_size": batch_size,
    }


def compare(ref, got, steps, tolerance) -> float:
    """Max abs difference over the compared values; asserts every one is within tolerance."""
    __tracebackhide__ = True
    ref_steps = [r for r in ref if "event" not in r][:steps]
    got_steps = [r for r in got if "event" not in r][:steps]
    assert len(ref_steps) == len(got_steps) == steps, (
        f"need {steps} step records in both runs: {len(ref_steps)} in 1 process, {len(got_steps)} with ranks"
    )
    worst = 0.0
    for a, b in zip(ref_steps, got_steps, strict=True):
        assert a["step"] == b["step"], f"step numbers differ: {a['step']} vs {b['step']}"
        for field in ("train_loss", "grad_norm"):
            diff = abs(a[field] - b[field])
            worst = max(worst, diff)
            assert diff <= tolerance, (
                f"step {a['step']}: {field} {b[field]!r} with ranks vs {a[field]!r} in one process "
                f"(|diff| {diff:.3g} > tolerance {tolerance})"
            )
    ref_ep = [r for r in ref if r.get("event") == "epoch"]
    got_ep = [r for r in got if r.get("event") == "epoch"]
    assert len(ref_ep) == len(got_ep), f"{len(got_ep)} epoch records with ranks, {len(ref_ep)} in one process"
    for a, b in zip(ref_ep, got_ep, strict=True):
        diff = abs(a["val_loss"] - b["val_loss"])
        worst = max(worst, diff)
        assert diff <= tolerance, f"epoch {a['epoch']}: val_loss differs by {diff:.3g} > {tolerance}"
    return worst


def check(target, steps, batch_size, tolerance, world_size=2, steps_per_epoch=None):
    __tracebackhide__ = True
    from falsifiers.kinds._ddp import ddp_run, records, reference_run

    kn = knobs(steps, batch_size, steps_per_epoch)
    ref_dir = reference_run(**kn)
    run = ddp_run(target, world_size, **kn)
    compare(records(ref_dir), records(run.run_dir), steps, tolerance)
    import json

    ref_code = json.loads((ref_dir / "result.json").read_text(encoding="utf-8"))["exit_code"]
    assert set(run.exit_codes) == {ref_code}, f"exit codes per rank {run.exit_codes}, 1 process {ref_code}"


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
