"""nonfinite-stop: a run forced into a non-finite loss stops NONFINITE and logs nothing non-finite.

Target: the run entry point (trainer.loop:run). The shared tiny config plus `overrides` (TrainConfig
knobs chosen to force a NaN/Inf deterministically: an absurd --lr on the real drive, a scripted loss
that overflows float64 on the synthetic one) is run in a fresh directory. Checks, restated here rather
than asked of the trainer: the run raises a status-carrying error whose status is `status`; every value
in train.jsonl is finite (the log is parsed leniently, so a logged NaN is seen, not a parse error); the
step records are 1..k without gaps; result.json says `status` with k completed steps, so the offending
step k+1 has no record.
"""

from __future__ import annotations

import json
import math
import sys

NAME = "nonfinite-stop"
SUMMARY = "a run forced into NaN/Inf stops NONFINITE before the step is logged; train.jsonl stays finite"
PARAMS = {
    "overrides": "TrainConfig knobs over the tiny run's that force a non-finite loss or grad norm",
    "status": "the status the run must stop with (default NONFINITE)",
}
REQUIRED_PARAMS = ("overrides",)
ARGS: tuple[str, ...] = ()
GROUP = "tiny-run"


def _non_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def check_log(run_dir, status="NONFINITE"):
    """The run directory of a run that stopped non-finite: finite log, no record of the bad step."""
    __tracebackhide__ = True
    log = run_dir / "train.jsonl"
    assert log.is_file(), f"{log} missing: the run stopped before it opened its log"
    recs = [json.loads(ln) for ln in log.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for r in recs:
        assert not _non_finite(r), f"train.jsonl holds a non-finite value: {r}"
    steps = [r["step"] for r in recs if "event" not in r]
    assert steps == list(range(1, len(steps) + 1)), f"step records are not 1..k: {steps}"
    result_path = run_dir / "result.json"
    assert result_path.is_file(), f"{result_path} missing: a guard stop must still write its result"
    result = json.loads(result_path.read_text(encoding="utf-8"))
    assert result.get("status") == status, f"result.json says {result.get('status')!r}, want {status!r}"
    assert result.get("steps") == len(steps), (
        f"result.json counts {result.get('steps')} completed steps but train.jsonl has {len(steps)} step "
        f"records: the step that went non-finite was logged"
    )


def check(target, overrides, status="NONFINITE"):
    __tracebackhide__ = True
    from falsifiers.runtime import fresh_run_dir, tiny_config

    run_dir = fresh_run_dir("nonfinite")
    cfg = tiny_config(run_dir, **overrides)
    try:
        result = target(cfg)
    except Exception as exc:  # the contract's stop is a status-carrying error; anything else is a crash
        got = getattr(getattr(exc, "status", None), "label", None)
        if got != status:
            raise AssertionError(
                f"with {overrides} the run raised {type(exc).__name__} (status {got}) instead of stopping "
                f"{status}: {exc}"
            ) from exc
    else:
        raise AssertionError(
            f"with {overrides} the run finished with {result.status} after {result.steps} steps; it had to "
            f"stop {status}"
        )
    check_log(run_dir, status)


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
