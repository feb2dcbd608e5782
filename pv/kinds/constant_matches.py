"""constant-matches: a value in the code equals the value the contract pins.

Catches a code constant that drifted from its contract (a regime lr edited in one place only).
The target names the object (module:NAME); `path` walks into it by dict key or attribute, dot-separated
(`from-scratch.lr`). Write `expected: $constant_name` so the number lives only in `constants:`.
"""

from __future__ import annotations

import math

NAME = "constant-matches"
SUMMARY = "a code constant equals the contract's pinned value (after an optional key/attribute path)"
PARAMS = {
    "expected": "the pinned value; `$name` takes the contract constant `name`",
    "path": "dot-separated keys/attributes into the target (optional)",
    "call": "call the target with these keyword args first (optional mapping), e.g. epoch_zero_cap",
    "rel_tol": "relative tolerance for numbers (default 1e-12)",
}
REQUIRED_PARAMS = ("expected",)
ARGS: tuple[str, ...] = ()


def lookup(obj, path: str | None):
    for part in (path or "").split(".") if path else []:
        if isinstance(obj, dict):
            if part not in obj:
                raise AssertionError(f"no key {part!r} (keys: {sorted(map(str, obj))})")
            obj = obj[part]
        elif isinstance(obj, list | tuple) and part.isdigit():
            if int(part) >= len(obj):
                raise AssertionError(f"index {part} out of range (length {len(obj)})")
            obj = obj[int(part)]
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            raise AssertionError(f"{type(obj).__name__} has no attribute {part!r}")
    return obj


def check(target, expected, path=None, call=None, rel_tol=1e-12):
    __tracebackhide__ = True
    value = target(**call) if call is not None else target
    actual = lookup(value, path)
    where = f"{path}" if path else "value"
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        assert actual == expected, f"code {where} = {actual!r}, contract pins {expected!r}"
    else:
        assert isinstance(actual, int | float) and not isinstance(actual, bool), (
            f"code {where} = {actual!r} is not a number; contract pins {expected!r}"
        )
        assert math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=0.0 if rel_tol else 0), (
            f"code {where} = {actual!r}, contract pins {expected!r}"
        )
