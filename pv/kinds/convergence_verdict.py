"""convergence-verdict: the final run status is honest about whether the target val loss was reached.

Oracle: OK iff some val loss ≤ target; otherwise NOT_CONVERGED when the whole budget ran, EARLY_STOP
when it stopped early; no evaluation at all is never OK.

Target: `final_status(val_losses, target_loss, completed) -> verdict` by default. For a function written
elsewhere: `arguments` gives its parameter order (names val_losses, target_loss, completed), `verdict_of`
reads the label from what it returns (default `.label`, else `str(value)`), `labels` renames the three
verdicts ({ok, not_converged, early_stop}).
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "convergence-verdict"
SUMMARY = "final_status(val_losses, target, completed_budget) against the honest-verdict oracle"
PARAMS = {
    "arguments": "the target's positional arguments by name (default val_losses, target_loss, completed)",
    "verdict_of": "adapter (returned value) -> label (default value.label, else str(value))",
    "labels": "{ok, not_converged, early_stop}: the labels the target uses (default OK, NOT_CONVERGED, "
    "EARLY_STOP)",
}
TARGET_PARAMS = ("verdict_of",)
ARGUMENTS = ("val_losses", "target_loss", "completed")
LABELS = {"ok": "OK", "not_converged": "NOT_CONVERGED", "early_stop": "EARLY_STOP"}
ARGS = ("trace", "target_loss", "completed")


def oracle(trace, target_loss, completed) -> str:
    if trace and min(trace) <= target_loss:
        return "OK"
    return "NOT_CONVERGED" if completed else "EARLY_STOP"


def strategies(**_adapters):
    target = st.sampled_from([3.0, 2.2, 1.0])
    return {
        "trace": st.lists(st.one_of(st.sampled_from([3.0, 2.2, 1.0]), st.floats(0.1, 12.0)), max_size=6),
        "target_loss": target,
        "completed": st.booleans(),
    }


def check(target, trace, target_loss, completed, arguments=None, verdict_of=None, labels=None):
    __tracebackhide__ = True
    from pv.kinds._verdicts import ordered

    unknown = sorted(set(labels or {}) - set(LABELS))
    if unknown:
        raise ValueError(f"labels has unknown key(s) {unknown}; use {sorted(LABELS)}")
    names = {**LABELS, **(labels or {})}
    rename = {"OK": names["ok"], "NOT_CONVERGED": names["not_converged"], "EARLY_STOP": names["early_stop"]}
    values = {"val_losses": list(trace), "target_loss": target_loss, "completed": completed}
    got = target(*ordered(arguments or ARGUMENTS, values))
    if verdict_of is not None:
        from pv.runtime import resolve

        got = resolve(verdict_of)(got)
    got = str(getattr(got, "label", got))
    want = rename[oracle(trace, target_loss, completed)]
    assert got == want, (
        f"val losses {trace}, target {target_loss}, completed={completed}: got {got}, want {want}"
    )
