"""run-resume: a real CLI run killed after step k and resumed equals the run that was never stopped.

Target: the stack's launcher (adapters and flags: `pv.kinds._runs`). For a drawn point (flags plus
`stop: k`) the oracle takes the uninterrupted run U (cached), launches the same flags into a fresh
directory, makes it look killed right after step k (`interrupt`: later checkpoints, the result and
later log records gone, a torn last line), launches again with `resume`, and requires:

* the same exit code as U (so the guards fire after a resume exactly as without one: divergence,
  patience and the verdict see the val-loss history from before the kill; NaN still stops the run);
* the same log as U, record for record (steps, losses, grad norms, lr — the schedule continues —,
  tokens_seen, evals), ignoring only wall-clock fields (`volatile`);
* the same checkpoints: epochs, steps, weights and optimizer state equal (within `atol`, default
  exactly), metadata equal outside `volatile`.

Weights equal after the resume mean the optimizer moments, the step count, the scheduler position and
the data order (stream and RNG state) were all restored.
"""

from __future__ import annotations

import math

from pv.kinds import _runs

NAME = "run-resume"
SUMMARY = "kill after step k + --resume = the uninterrupted run: status, log, weights, optimizer state"
PARAMS = {
    **_runs.COMMON_PARAMS,
    "volatile": "record / metadata fields that measure wall-clock time (ignored)",
    "atol": "tolerance on weights and optimizer tensors (default 0: bit-identical)",
    "resume_flag": "the flag that asks for a resume (default resume)",
}
REQUIRED_PARAMS = ("grid",)
ARGS = ("flags",)
GROUP = "run-surface"
EXPENSIVE = True
VOLATILE = ("step_wall_ms", "tokens_per_sec", "wall_seconds")


strategies = _runs.strategies


def _strip(record, volatile):
    return {k: v for k, v in record.items() if k not in volatile}


def _same(a, b, atol) -> bool:
    import torch

    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape:
            return False
        return (
            bool(a.equal(b)) if atol == 0 else bool(torch.allclose(a.double(), b.double(), rtol=0, atol=atol))
        )
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or (atol > 0 and abs(a - b) <= atol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], atol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, atol) for x, y in zip(a, b, strict=True))
    return a == b


def _first_difference(a: dict, b: dict, atol) -> str:
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b or not _same(a[k], b[k], atol):
            return k
    return "?"


def compare(resumed, whole, volatile=VOLATILE, atol=0.0, what=""):
    """Assert two runs (`_runs.Run`) are the same run."""
    __tracebackhide__ = True
    assert resumed.exit_code == whole.exit_code, (
        f"{what}: the resumed run exited {resumed.exit_code}, the uninterrupted one {whole.exit_code} "
        f"({resumed.describe()})"
    )
    got = [_strip(r, volatile) for r in resumed.log]
    want = [_strip(r, volatile) for r in whole.log]
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        assert _same(g, w, atol), (
            f"{what}: log record {i} differs after the resume in {_first_difference(g, w, atol)!r}: "
            f"resumed {g}, uninterrupted {w}"
        )
    assert len(got) == len(want), (
        f"{what}: the resumed log has {len(got)} records, the uninterrupted {len(want)}"
    )
    rc, wc = resumed.checkpoints, whole.checkpoints
    assert [c["step"] for c in rc] == [c["step"] for c in wc], (
        f"{what}: checkpoint steps {[c['step'] for c in rc]} after the resume, "
        f"{[c['step'] for c in wc]} without"
    )
    for r, w in zip(rc, wc, strict=True):
        for part in ("model", "optimizer"):
            assert _same(r[part], w[part], atol), (
                f"{what}: the {part} of the epoch-{r['epoch']} checkpoint differs after the resume "
                f"(first at {_first_difference(_flat(r[part]), _flat(w[part]), atol)!r})"
            )
        rm, wm = _strip(r["metadata"], volatile), _strip(w["metadata"], volatile)
        assert _same(rm, wm, atol), (
            f"{what}: the epoch-{r['epoch']} metadata differs after the resume in "
            f"{_first_difference(rm, wm, atol)!r}"
        )


def _flat(tree, prefix=""):
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    if isinstance(tree, list):
        out = {}
        for i, v in enumerate(tree):
            out.update(_flat(v, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): tree}


def check(
    target,
    flags,
    grid,
    base=None,
    inputs="tiny",
    defaults=None,
    adapters=None,
    volatile=VOLATILE,
    atol=0.0,
    resume_flag="resume",
):
    __tracebackhide__ = True
    surf = _runs.surface(target, adapters)
    whole, extras, _ = _runs.point_run(surf, flags, inputs)
    stop = extras.get("stop")
    assert isinstance(stop, int) and stop >= 1, (
        f"a resume point needs stop: k >= 1 (the killed step), got {stop!r}"
    )
    num_steps = int(_runs.flag(_runs.effective(whole, defaults), None, "num_steps"))
    assert stop <= len(whole.steps) and stop < num_steps, (
        f"{whole.describe()}: the uninterrupted run logged {len(whole.steps)} of {num_steps} steps; a kill "
        f"after step {stop} would not interrupt it"
    )
    killed = _runs.launch(surf, whole.flags)
    surf.interrupt(killed.run_dir, stop)
    resumed = _runs.launch(surf, {**whole.flags, resume_flag: True}, killed.run_dir)
    compare(resumed, whole, tuple(volatile), float(atol), f"kill after step {stop}, then --{resume_flag}")
