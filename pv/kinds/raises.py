"""raises: calling the target with given arguments raises an error carrying the expected status.

For refusals with no input space worth drawing (an explicit device that is not there). `unless`
names a condition under which the call legitimately succeeds, and the test is skipped:
`cuda-available`, `mps-available`.
"""

from __future__ import annotations

NAME = "raises"
SUMMARY = "target(*args, **kwargs) raises with the expected status label"
PARAMS = {
    "args": "positional arguments (list)",
    "kwargs": "keyword arguments (mapping)",
    "status": "expected status label, e.g. DEVICE_ERROR",
    "unless": "cuda-available | mps-available: skip when that holds",
}
REQUIRED_PARAMS = ("status",)
ARGS: tuple[str, ...] = ()


def _holds(condition: str) -> bool:
    import torch

    if condition == "cuda-available":
        return torch.cuda.is_available()
    if condition == "mps-available":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps and mps.is_available())
    raise ValueError(f"unknown condition {condition!r}")


def check(target, status, args=(), kwargs=None, unless=None):
    __tracebackhide__ = True
    import pytest

    if unless and _holds(unless):
        pytest.skip(f"{unless}: the call may legitimately succeed here")
    try:
        result = target(*args, **(kwargs or {}))
    except Exception as exc:
        got = str(getattr(getattr(exc, "status", None), "label", type(exc).__name__))
        assert got == status, f"raised {type(exc).__name__} with status {got}, want {status}: {exc}"
        return
    raise AssertionError(f"call with {args} {kwargs or {}} returned {result!r} instead of raising {status}")
