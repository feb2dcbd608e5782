"""record-schema: the log a small run writes has the declared schema, record by record.

Target: the run entry point under attack. The kind makes one small run into a fresh directory
`run_dir` (made once per process for each target and arguments, then shared):
  default   target(run_dir, **launch_kwargs)
  `launch`  adapter (target, run_dir, **launch_kwargs) -> Path | None that drives the target its own way
            and returns the directory the run wrote (None: run_dir), e.g. a run a fixture made once.
The log is the JSONL file `log` inside that directory (default train.jsonl), or what the `read_log`
adapter (run_dir) -> list[dict] returns. Step records are those without the `event_field` key
(default "event"); epoch records those whose event_field is `epoch_event` (default "epoch").

Checks, restated here: exactly `num_steps` step records when given (the exact step budget); each has
every `required` field, no non-finite number, and the `labels` ({field: value}, `drive` is shorthand
for {drive: value}); `step_field` (default step) counts up by one; every `increasing` field (default
tokens_seen) strictly increases; every `varying` field (default grad_norm, when required) is not one
constant across more than two steps (a placeholder); epoch records have `epoch_required`.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

NAME = "record-schema"
SUMMARY = "a small run's JSONL log: required fields, finite values, labels, contiguous steps, exact count"
PARAMS = {
    "required": "field names every step record must carry",
    "num_steps": "exact number of step records the run must log (default: not checked)",
    "labels": "{field: value} every step record must carry",
    "drive": "shorthand for labels {drive: value}",
    "epoch_required": "field names every epoch record must carry (optional)",
    "step_field": "the step counter field, contiguous (default step)",
    "increasing": "fields that strictly increase over the steps (default [tokens_seen], when logged)",
    "varying": "fields that may not be one constant over the steps (default [grad_norm], when required)",
    "event_field": "key that marks a non-step record (default event)",
    "epoch_event": "event_field value of an epoch record (default epoch)",
    "log": "the JSONL log, relative to the run directory (default train.jsonl)",
    "read_log": "adapter (run_dir) -> list[dict], instead of reading `log`",
    "launch": "adapter (target, run_dir, **launch_kwargs) -> run dir | None (default target(run_dir, ...))",
    "launch_kwargs": "keyword arguments of the run (a tiny config)",
}
REQUIRED_PARAMS = ("required",)
TARGET_PARAMS = ("read_log", "launch")
ARGS: tuple[str, ...] = ()
GROUP = "tiny-run"  # runs are shared: with xdist, one worker makes them
EXPENSIVE = True


def records(run_dir, log="train.jsonl"):
    lines = (Path(run_dir) / log).read_text(encoding="utf-8").splitlines()
    return [json.loads(ln) for ln in lines if ln.strip()]


def check_records(
    recs,
    num_steps,
    required,
    drive=None,
    epoch_required=(),
    *,
    labels=None,
    step_field="step",
    increasing=None,
    varying=None,
    event_field="event",
    epoch_event="epoch",
):
    __tracebackhide__ = True
    labels = {**(labels or {}), **({"drive": drive} if drive is not None else {})}
    steps = [r for r in recs if event_field not in r]
    assert steps, f"the log holds no step records (records without {event_field!r}) among {len(recs)}"
    if num_steps is not None:
        assert len(steps) == num_steps, f"{len(steps)} step records for a budget of exactly {num_steps} steps"
    for r in steps:
        missing = [f for f in required if f not in r]
        assert not missing, f"step record {r.get(step_field)} lacks {missing}: {r}"
        bad = [k for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)]
        assert not bad, f"step record {r.get(step_field)} has non-finite {bad}"
        for field, value in labels.items():
            assert r.get(field) == value, (
                f"step record {r.get(step_field)} says {field}={r.get(field)!r}, want {value!r}"
            )
    numbers = [r.get(step_field) for r in steps]
    assert all(isinstance(n, int) for n in numbers), f"{step_field} is not an integer everywhere: {numbers}"
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"steps not contiguous: {numbers}"
    for field in ("tokens_seen",) if increasing is None else increasing:
        seen = [r[field] for r in steps if field in r]
        assert all(a < b for a, b in itertools.pairwise(seen)), f"{field} not increasing: {seen}"
    for field in [f for f in ("grad_norm",) if f in required] if varying is None else varying:
        if len(steps) > 2:
            assert len({r.get(field) for r in steps}) > 1, (
                f"{field} is the same constant on every step (placeholder)"
            )
    for r in (r for r in recs if r.get(event_field) == epoch_event):
        missing = [f for f in epoch_required or () if f not in r]
        assert not missing, f"epoch record {r.get('epoch')} lacks {missing}"


_RUNS: dict[tuple, Path] = {}


def run_dir_of(target, launch=None, launch_kwargs=None) -> Path:
    """The directory of one small run of `target`, made once per process for these arguments."""
    import atexit
    import shutil
    import tempfile

    key = (target, launch, repr(sorted((launch_kwargs or {}).items())))
    if key not in _RUNS:
        scratch = Path(tempfile.mkdtemp(prefix="pv-record-schema-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        run_dir = scratch / "run"
        if launch is not None:
            from pv.runtime import resolve

            wrote = resolve(launch)(target, run_dir, **(launch_kwargs or {}))
        else:
            wrote = target(run_dir, **(launch_kwargs or {}))
        _RUNS[key] = Path(wrote) if isinstance(wrote, str | Path) else run_dir
    return _RUNS[key]


def check(
    target,
    required,
    num_steps=None,
    labels=None,
    drive=None,
    epoch_required=(),
    step_field="step",
    increasing=None,
    varying=None,
    event_field="event",
    epoch_event="epoch",
    log="train.jsonl",
    read_log=None,
    launch=None,
    launch_kwargs=None,
):
    __tracebackhide__ = True
    run_dir = run_dir_of(target, launch, launch_kwargs)
    if read_log is not None:
        from pv.runtime import resolve

        recs = list(resolve(read_log)(run_dir))
    else:
        recs = records(run_dir, log)
    check_records(
        recs,
        num_steps,
        required,
        drive,
        epoch_required,
        labels=labels,
        step_field=step_field,
        increasing=increasing,
        varying=varying,
        event_field=event_field,
        epoch_event=epoch_event,
    )
