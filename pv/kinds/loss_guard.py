"""loss-guard: hypothesis-generated val-loss traces fed to an epoch guard, judged by an oracle written here.

The oracle restates the contract rule independently of the trainer: epoch 0 may not exceed the cap
(10.0 finetune, 2·ln(V) from scratch), epoch N may not exceed 2·val[N-1] (strictly greater diverges:
exactly double is allowed), and a non-finite val loss stops with NONFINITE before any other rule.
rule `step-finite` instead feeds each value as a step loss and as a grad norm to a per-step guard.

Target (rule epoch): a guard called once per epoch, by default as
`guard(epoch, val_loss, prev_val_loss, mode, vocab_size)` (prev_val_loss None at epoch 0); (rule
step-finite) `guard(step, loss, grad_norm)`. It returns (any value) to accept and raises to stop.
Adapters for a guard written elsewhere (pv.kinds._verdicts): `arguments` reorders or drops the values,
`status_of` reads the status label from the raised exception, `raises` names the class a stop must be,
`labels` renames the two verdicts.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

NAME = "loss-guard"
SUMMARY = "val-loss traces into check_epoch / check_finite against an independent oracle"
PARAMS = {
    "rule": "epoch (cap + doubling + NaN, target check_epoch) | step-finite (target check_finite)",
    "mode": "training regime for the epoch-0 cap: from-scratch (default) | finetune",
    "vocab_size": "vocabulary size for the from-scratch cap 2·ln(V) (default 512)",
    "factor": "divergence factor the contract pins (default 2.0)",
    "finetune_cap": "epoch-0 cap in finetune mode the contract pins (default 10.0)",
    "arguments": "the guard's positional arguments by name (epoch: epoch, val_loss, prev_val_loss, mode, "
    "vocab_size; step-finite: step, loss, grad_norm; default: all, in that order)",
    "status_of": "adapter (exc) -> status label (default exc.status.label, else the class name)",
    "raises": "exception class every stop must be (ValueError, pkg.mod:Stop); default any",
    "labels": "{nonfinite, divergence}: the status labels the guard uses (default NONFINITE, DIVERGENCE)",
}
TARGET_PARAMS = ("status_of",)
ARGUMENTS = {
    "epoch": ("epoch", "val_loss", "prev_val_loss", "mode", "vocab_size"),
    "step-finite": ("step", "loss", "grad_norm"),
}
LABELS = {"nonfinite": "NONFINITE", "divergence": "DIVERGENCE"}
REQUIRED_PARAMS = ("rule",)
ARGS = ("trace",)


def cap(mode: str, vocab_size: int, finetune_cap: float = 10.0) -> float:
    return finetune_cap if mode == "finetune" else 2.0 * math.log(vocab_size)


def oracle(trace, mode="from-scratch", vocab_size=512, factor=2.0, finetune_cap=10.0):
    """(epoch, status label) where the run must stop, or None when every epoch is acceptable."""
    for i, v in enumerate(trace):
        if not math.isfinite(v):
            return i, "NONFINITE"
        limit = cap(mode, vocab_size, finetune_cap) if i == 0 else factor * trace[i - 1]
        if v > limit:
            return i, "DIVERGENCE"
    return None


def strategies(rule, mode="from-scratch", vocab_size=512, factor=2.0, finetune_cap=10.0, **_adapters):
    c = cap(mode, vocab_size, finetune_cap)
    # Ratios concentrate on the boundary (exactly the factor, one ulp either side) where `>`/`>=` differ.
    ratio = st.one_of(
        st.sampled_from([factor, math.nextafter(factor, 0), math.nextafter(factor, math.inf), 1.0, 0.5]),
        st.floats(0.05, 3 * factor),
    )
    first = st.one_of(st.sampled_from([c, math.nextafter(c, math.inf), c / 2]), st.floats(0.01, 2 * c))
    special = st.sampled_from([math.nan, math.inf, -math.inf])

    @st.composite
    def traces(draw):
        values = [draw(first)]
        for _ in range(draw(st.integers(0, 6))):
            values.append(values[-1] * draw(ratio))
        if rule == "step-finite" or draw(st.integers(0, 4)) == 0:
            values[draw(st.integers(0, len(values) - 1))] = draw(special)
        return values

    return {"trace": traces()}


def check(
    target,
    trace,
    rule,
    mode="from-scratch",
    vocab_size=512,
    factor=2.0,
    finetune_cap=10.0,
    arguments=None,
    status_of=None,
    raises=None,
    labels=None,
):
    __tracebackhide__ = True
    from pv.kinds._verdicts import refusal

    if rule not in ARGUMENTS:
        raise ValueError(f"loss-guard rule must be 'epoch' or 'step-finite', got {rule!r}")
    unknown = sorted(set(labels or {}) - set(LABELS))
    if unknown:
        raise ValueError(f"labels has unknown key(s) {unknown}; use {sorted(LABELS)}")
    names = {**LABELS, **(labels or {})}
    rename = {"NONFINITE": names["nonfinite"], "DIVERGENCE": names["divergence"], None: None}
    arguments = tuple(arguments or ARGUMENTS[rule])
    trace = [float(v) for v in trace]
    if rule == "step-finite":
        for step, v in enumerate(trace):
            for loss, gnorm in ((v, 1.0), (1.0, v)):
                values = {"step": step, "loss": loss, "grad_norm": gnorm}
                _, got = refusal(target, arguments, values, status_of, raises)
                want = None if math.isfinite(v) else names["nonfinite"]
                assert got == want, (
                    f"step {step} loss={loss} grad_norm={gnorm}: guard gave {got}, rule says {want}"
                )
        return
    oracle_stop = oracle(trace, mode, vocab_size, factor, finetune_cap)
    want = None if oracle_stop is None else (oracle_stop[0], rename[oracle_stop[1]])
    got = None
    for i, v in enumerate(trace):
        values = {
            "epoch": i,
            "val_loss": v,
            "prev_val_loss": trace[i - 1] if i else None,
            "mode": mode,
            "vocab_size": vocab_size,
        }
        refused, status = refusal(target, arguments, values, status_of, raises)
        if refused:
            got = (i, status)
            break
    assert got == want, (
        f"val-loss trace {trace} ({mode}, vocab {vocab_size}): guard stopped at {got}, "
        f"the contract rule stops at {want} (None = never)"
    )
