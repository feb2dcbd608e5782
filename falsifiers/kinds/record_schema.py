"""record-schema: every step record of a tiny real run has the required fields and real-drive labels.

Reads `train.jsonl` of the shared tiny run (falsifiers.runtime.tiny_run; target: the run entry point
it calls). Step records are the lines without "event". Checks: each required field present, numbers
finite, drive == `drive`, steps contiguous and exactly `num_steps` of them (the exact step budget),
grad_norm not a placeholder constant across the run, tokens_seen strictly increasing.
"""

from __future__ import annotations

import itertools
import json
import math
import sys

NAME = "record-schema"
SUMMARY = (
    "train.jsonl of a tiny real run: required fields, finite values, real-drive labels, exact step count"
)
PARAMS = {
    "required": "field names every step record must carry",
    "drive": "the drive label every record must carry (default real)",
    "epoch_required": "field names every epoch record must carry (optional)",
}
REQUIRED_PARAMS = ("required",)
ARGS: tuple[str, ...] = ()
GROUP = "tiny-run"


def records(run_dir):
    lines = (run_dir / "train.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(ln) for ln in lines if ln.strip()]


def check_records(recs, num_steps, required, drive="real", epoch_required=()):
    __tracebackhide__ = True
    steps = [r for r in recs if "event" not in r]
    assert len(steps) == num_steps, f"{len(steps)} step records for a budget of exactly {num_steps} steps"
    for r in steps:
        missing = [f for f in required if f not in r]
        assert not missing, f"step record {r.get('step')} lacks {missing}: {r}"
        bad = [k for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)]
        assert not bad, f"step record {r.get('step')} has non-finite {bad}"
        assert r.get("drive") == drive, (
            f"step record {r.get('step')} says drive={r.get('drive')!r}, want {drive!r}"
        )
    numbers = [r["step"] for r in steps]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"steps not contiguous: {numbers}"
    seen = [r["tokens_seen"] for r in steps if "tokens_seen" in r]
    assert all(a < b for a, b in itertools.pairwise(seen)), f"tokens_seen not increasing: {seen}"
    if "grad_norm" in required and len(steps) > 2:
        assert len({r["grad_norm"] for r in steps}) > 1, (
            "grad_norm is the same constant on every step (placeholder)"
        )
    epochs = [r for r in recs if r.get("event") == "epoch"]
    for r in epochs:
        missing = [f for f in epoch_required or () if f not in r]
        assert not missing, f"epoch record {r.get('epoch')} lacks {missing}"


def check(target, required, drive="real", epoch_required=()):
    __tracebackhide__ = True
    from falsifiers.runtime import tiny_run

    run = tiny_run(target)
    check_records(records(run.run_dir), run.config.num_steps, required, drive, epoch_required)


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
