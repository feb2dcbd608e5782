"""raises: calling the target with given arguments raises an error carrying the expected status.

For refusals with no input space worth drawing (an explicit device that is not there). `unless`
names a condition under which the call legitimately succeeds, and the test is skipped:
`cuda-available`, `mps-available`. The verdict is read as the guard kinds read it (pv.kinds._verdicts):
`status` against `status_of(exc)` (default `exc.status.label`, else the class name), and/or `raises`
against the raised exception's class; give at least one.
"""

from __future__ import annotations

NAME = "raises"
SUMMARY = "target(*args, **kwargs) raises with the expected status label"
PARAMS = {
    "args": "positional arguments (list)",
    "kwargs": "keyword arguments (mapping)",
    "status": "expected status label, e.g. DEVICE_ERROR",
    "unless": "cuda-available | mps-available: skip when that holds",
    "status_of": "adapter (exc) -> status label (default exc.status.label, else the class name)",
    "raises": "exception class the call must raise (ValueError, pkg.mod:DeviceError)",
}
TARGET_PARAMS = ("status_of",)
ARGS: tuple[str, ...] = ()


def _holds(condition: str) -> bool:
    import torch

    if condition == "cuda-available":
        return torch.cuda.is_available()
    if condition == "mps-available":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps and mps.is_available())
    raise ValueError(f"unknown condition {condition!r}")


def check(target, status=None, args=(), kwargs=None, unless=None, status_of=None, raises=None):
    __tracebackhide__ = True
    import pytest

    from pv.kinds._verdicts import status_reader, unexpected

    if status is None and raises is None:
        raise ValueError("kind raises needs `status` or `raises` (or both): what must the call raise?")
    if unless and _holds(unless):
        pytest.skip(f"{unless}: the call may legitimately succeed here")
    want = " ".join(filter(None, [raises, status and f"status {status}"]))
    try:
        result = target(*args, **(kwargs or {}))
    except Exception as exc:
        why = unexpected(exc, raises)
        assert why is None, f"call with {args} {kwargs or {}}: {why}"
        if status is not None:
            got = status_reader(status_of)(exc)
            assert got == status, f"raised {type(exc).__name__} with status {got}, want {status}: {exc}"
        return
    raise AssertionError(f"call with {args} {kwargs or {}} returned {result!r} instead of raising {want}")


def render(falsifier, contract):
    """The standard test, refused at generation when the falsifier says nothing about what is raised."""
    import sys

    from pv.kinds._render import RenderError, render_test

    params = falsifier.get("params") or {}
    if "status" not in params and "raises" not in params:
        raise RenderError(f"{falsifier.get('id')}: kind 'raises' needs param status or raises (or both)")
    return render_test(falsifier, sys.modules[__name__], contract)
