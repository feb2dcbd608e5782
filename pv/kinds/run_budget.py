"""run-budget: the token budget of a real CLI run against one pass over its training split.

Target: the stack's launcher (adapters and flags: `pv.kinds._runs`). The oracle reads the training
split from its files (`train_tokens`, N tokens) and restates the declared stream: windows of
seq_length + 1 tokens, whole batches only, so one pass holds P = ⌊⌊(N-1)/T⌋ / B⌋ batches. Then:

* num_steps ≤ P: the run trains exactly num_steps steps and logs no cycle notice;
* num_steps > P without --allow-shard-cycle: refused with `refusal` before anything is written (no
  run directory; never a stream that runs dry mid-run, never placeholder batches);
* num_steps > P with --allow-shard-cycle: the run trains exactly num_steps steps and logs one cycle
  notice (`cycle_kind`), after step P, the first pass boundary.

A budget counted over the wrong split, over raw tokens instead of whole windows, or without one of
its factors moves the boundary.
"""

from __future__ import annotations

from pv.kinds import _runs

NAME = "run-budget"
SUMMARY = (
    "real CLI runs around one pass of the train split: exact steps, refusal before writing, one cycle notice"
)
PARAMS = {
    **_runs.COMMON_PARAMS,
    "exit_codes": "{STATUS: exit code} (default: the surface's exit_codes adapter)",
    "refusal": "status of an over-budget plan without cycling (default PREFLIGHT)",
    "statuses": "statuses of a run that trained (default OK, NOT_CONVERGED, EARLY_STOP)",
    "cycle_kind": "log record kind of the cycle notice (default cycle)",
}
REQUIRED_PARAMS = ("grid",)
ARGS = ("flags",)
GROUP = "run-surface"
EXPENSIVE = True


strategies = _runs.strategies


def batches_per_pass(n_tokens: int, batch_size: int, seq_length: int) -> int:
    return ((n_tokens - 1) // seq_length) // batch_size


def check(
    target,
    flags,
    grid,
    base=None,
    inputs="tiny",
    defaults=None,
    adapters=None,
    exit_codes=None,
    refusal="PREFLIGHT",
    statuses=("OK", "NOT_CONVERGED", "EARLY_STOP"),
    cycle_kind="cycle",
):
    __tracebackhide__ = True
    surf = _runs.surface(target, adapters)
    exit_codes = _runs.exit_codes(surf, exit_codes)
    run, _, _ = _runs.point_run(surf, flags, inputs)
    eff = _runs.effective(run, defaults)
    desc = run.describe()
    batch, seq = int(_runs.flag(eff, None, "batch_size")), int(_runs.flag(eff, None, "seq_length"))
    steps = int(_runs.flag(eff, None, "num_steps"))
    cycle = bool(eff.get("allow_shard_cycle"))
    n = len(surf.train_tokens(run.flags))
    per_pass = batches_per_pass(n, batch, seq)
    plan = f"{steps} steps of {batch} x {seq} over {n} train tokens ({per_pass} batches per pass)"
    if steps > per_pass and not cycle:
        assert run.exit_code == exit_codes[refusal], f"{desc}: {plan} must be refused with {refusal}"
        assert not run.run_dir.exists(), (
            f"{desc}: {plan} was refused only after the run started ({len(run.steps)} steps logged); the "
            f"budget must be checked before anything is written"
        )
        return
    assert run.exit_code in [exit_codes[s] for s in statuses], f"{desc}: {plan} fits and must train"
    assert len(run.steps) == steps, f"{desc}: {plan} logged {len(run.steps)} step records"
    notices = [r for r in run.log if r.get("kind") == cycle_kind]
    if steps <= per_pass:
        assert not notices, f"{desc}: {plan} fits in one pass but logged a cycle notice {notices}"
        return
    assert len(notices) == 1, f"{desc}: {plan} cycles: one notice expected, got {len(notices)}"
    assert notices[0].get("step") == per_pass, (
        f"{desc}: the cycle notice comes after step {notices[0].get('step')}, "
        f"the first pass ends at step {per_pass}"
    )
