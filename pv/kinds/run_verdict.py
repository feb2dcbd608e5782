"""run-verdict: a real CLI run ends with the status its own logged evaluations predict.

Target: the stack's launcher (adapters and flags: `pv.kinds._runs`). The oracle walks the run's eval
records in order and restates the stopping rules on the *logged val losses*:

  epoch 0: val > epoch-0 cap (finetune `finetune_cap`, from scratch `cap_factor`·ln V) → DIVERGENCE;
  later:   val[N] > `factor`·val[N-1] → DIVERGENCE;
  patience P (flag): the last P evals bring no improvement over the best before them, and budget
           remains → EARLY_STOP;
  at the end: OK when the best val ≤ target_val_loss, else NOT_CONVERGED.

The run's exit code must be the predicted status's (`exit_codes`), the log must stop where the rule
stops, and a full-budget status needs exactly num_steps step records. A drawn point may carry
`expect: STATUS`, a contract-declared perturbation (held-out data that drives val loss up while train
loss falls, a shard with an id ≥ V, an lr that overflows): the run must end with that status too. A
refusal (PREFLIGHT, DATA_ERROR, DEVICE_ERROR) must train nothing: no step record, and with
`refusals_create_nothing` no run directory at all. NONFINITE must leave only finite, contiguous steps.
A guard fed the wrong quantity (train loss for val loss) or a stopping flag that never arrives
(--patience, --target-val-loss) ends the run with a status the log contradicts.
"""

from __future__ import annotations

import math

from pv.kinds import _runs

NAME = "run-verdict"
SUMMARY = "real CLI runs end with the status the divergence, patience and target rules give their logs"
PARAMS = {
    **_runs.COMMON_PARAMS,
    "exit_codes": "{STATUS: exit code} (default: the surface's exit_codes adapter)",
    "factor": "val[N] may be at most factor x val[N-1]",
    "finetune_cap": "epoch-0 cap in finetune mode",
    "cap_factor": "from-scratch epoch-0 cap = cap_factor x ln(vocab)",
    "refusals_create_nothing": "a refusal leaves no run directory (default true)",
}
REQUIRED_PARAMS = ("grid",)
ARGS = ("flags",)
GROUP = "run-surface"
EXPENSIVE = True
REFUSALS = ("PREFLIGHT", "DATA_ERROR", "DEVICE_ERROR")


strategies = _runs.strategies


def predict(vals, *, mode, vocab, target, patience, factor, finetune_cap, cap_factor, budget_left):
    """(status, index of the eval where the run stops, stopped before the budget) from logged val
    losses, by the declared rules. `budget_left(i)` says whether steps remain after eval i."""
    cap = finetune_cap if mode == "finetune" else cap_factor * math.log(vocab)
    for i, v in enumerate(vals):
        if not math.isfinite(v):
            return "NONFINITE", i, True
        if (i == 0 and v > cap) or (i > 0 and v > factor * vals[i - 1]):
            return "DIVERGENCE", i, True
        seen = vals[: i + 1]
        stale = bool(patience) and len(seen) > patience and min(seen[-patience:]) >= min(seen[:-patience])
        if stale and budget_left(i):
            return ("OK" if min(seen) <= target else "EARLY_STOP"), i, True
    if not vals:
        return "NOT_CONVERGED", -1, False
    return ("OK" if min(vals) <= target else "NOT_CONVERGED"), len(vals) - 1, False


def _status_of(code, exit_codes):
    return next((s for s, c in exit_codes.items() if c == code), f"exit {code}")


def check(
    target,
    flags,
    grid,
    base=None,
    inputs="tiny",
    defaults=None,
    adapters=None,
    exit_codes=None,
    factor=None,
    finetune_cap=None,
    cap_factor=None,
    refusals_create_nothing=True,
):
    __tracebackhide__ = True
    surf = _runs.surface(target, adapters)
    exit_codes = _runs.exit_codes(surf, exit_codes)
    run, extras, vocab = _runs.point_run(surf, flags, inputs)
    eff = _runs.effective(run, defaults)
    got = _status_of(run.exit_code, exit_codes)
    expect = extras.get("expect")
    if expect is not None:
        assert got == expect, f"{run.describe()}: the declared perturbation must end {expect}, it ended {got}"
    if got in REFUSALS:
        assert not run.steps, f"{run.describe()}: refused with {got} after {len(run.steps)} training steps"
        if refusals_create_nothing:
            assert not run.run_dir.exists(), f"{run.describe()}: a {got} refusal left {run.run_dir} behind"
        return
    steps, evals = run.steps, run.evals
    numbers = [r["step"] for r in steps]
    assert numbers == list(range(1, len(numbers) + 1)), f"{run.describe()}: step records {numbers}"
    for r in run.log:
        bad = [k for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)]
        assert not bad, f"{run.describe()}: a logged record holds non-finite {bad}: {r}"
    if got == "NONFINITE":
        last_eval = evals[-1]["step"] if evals else 0
        assert last_eval <= len(steps), f"{run.describe()}: an eval after the last logged step"
        return
    rules = {"factor": factor, "finetune_cap": finetune_cap, "cap_factor": cap_factor}
    unset = [k for k, v in rules.items() if v is None]
    if unset:
        raise _runs.SurfaceError(f"{run.describe()}: judging a run that trained needs the params {unset}")
    num_steps = int(_runs.flag(eff, None, "num_steps"))
    vocab_used = int(eff.get("vocab_size") or vocab)
    vals = [float(r["val_loss"]) for r in evals]
    status, at, early = predict(
        vals,
        mode=_runs.flag(eff, None, "mode"),
        vocab=vocab_used,
        target=float(_runs.flag(eff, None, "target_val_loss")),
        patience=eff.get("patience"),
        factor=factor,
        finetune_cap=finetune_cap,
        cap_factor=cap_factor,
        budget_left=lambda i: evals[i]["step"] < num_steps,
    )
    assert got == status, (
        f"{run.describe()}: logged val losses {[round(v, 4) for v in vals]} (target "
        f"{eff.get('target_val_loss')}, patience {eff.get('patience')}, mode {eff.get('mode')}, "
        f"V {vocab_used}) give {status} at eval {at}, the run says {got}"
    )
    assert at == len(evals) - 1, (
        f"{run.describe()}: the rules stop at eval {at}, the log goes on to {len(evals) - 1}"
    )
    stop_step = evals[at]["step"] if evals else 0
    want_steps = stop_step if early else num_steps
    where = f"at step {stop_step}" if early else "after the full budget"
    assert len(steps) == want_steps, (
        f"{run.describe()}: the rules stop the run {where}: {want_steps} step records expected, "
        f"the log has {len(steps)}"
    )
    if not early:
        assert stop_step == num_steps, (
            f"{run.describe()}: the last eval follows step {stop_step}, not {num_steps}"
        )
