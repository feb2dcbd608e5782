"""convergence-verdict: the final run status is honest about whether the target val loss was reached.

Oracle: OK iff some val loss ≤ target; otherwise NOT_CONVERGED when the whole budget ran, EARLY_STOP
when it stopped early; no evaluation at all is never OK.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "convergence-verdict"
SUMMARY = "final_status(val_losses, target, completed_budget) against the honest-verdict oracle"
PARAMS: dict[str, str] = {}
ARGS = ("trace", "target_loss", "completed")


def oracle(trace, target_loss, completed) -> str:
    if trace and min(trace) <= target_loss:
        return "OK"
    return "NOT_CONVERGED" if completed else "EARLY_STOP"


def strategies():
    target = st.sampled_from([3.0, 2.2, 1.0])
    return {
        "trace": st.lists(st.one_of(st.sampled_from([3.0, 2.2, 1.0]), st.floats(0.1, 12.0)), max_size=6),
        "target_loss": target,
        "completed": st.booleans(),
    }


def check(target, trace, target_loss, completed):
    __tracebackhide__ = True
    got = target(list(trace), target_loss, completed)
    got = str(getattr(got, "label", got))
    want = oracle(trace, target_loss, completed)
    assert got == want, (
        f"val losses {trace}, target {target_loss}, completed={completed}: got {got}, want {want}"
    )
