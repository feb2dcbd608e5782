"""Shared rendering for kinds: one falsifier → one short, readable pytest function.

Every generated test has the same shape, so a reader learns it once:

    @pytest.mark.falsifier("FALSIFY-X")              # , expensive=True for EXPENSIVE kinds
    @settings(max_examples=N)                      # only when the contract overrides it
    @given(**kind.strategies(param=...))           # only for kinds with drawn inputs (ARGS)
    @example(arg=...)                              # one per pinned contract example
    def test_FALSIFY_X(arg):
        \"\"\"FALSIFY-X attacks INV-…: description\"\"\"
        kind.check(resolve("pkg.mod:attr"), arg, param=...)
"""

from __future__ import annotations

import math
import textwrap
from types import ModuleType


class RenderError(ValueError):
    """The falsifier's params or examples do not fit its kind."""


def test_name(falsifier_id: str) -> str:
    from pv.generate import test_function_name  # one naming rule for generation, gate and trace

    return test_function_name(falsifier_id)


def literal(value) -> str:
    """A deterministic Python literal for YAML data (dicts keep the contract's key order)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, list | tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def kwargs_source(params: dict) -> str:
    return ", ".join(f"{k}={literal(v)}" for k, v in params.items())


def substitute(value, constants: dict | None, fid: str, key: str):
    """A param written `$name` takes the contract constant `name`, so the number lives in one place."""
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if not constants or name not in constants:
            raise RenderError(
                f"{fid}: params.{key} refers to constant {name!r}, which this contract does not pin"
            )
        return constants[name]
    if isinstance(value, list):
        return [substitute(v, constants, fid, key) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, constants, fid, f"{key}.{k}") for k, v in value.items()}
    return value


def validate(falsifier: dict, kind: ModuleType, contract_constants: dict | None = None) -> dict:
    """Check params/examples against the kind's declared PARAMS/ARGS; return the params."""
    fid = falsifier["id"]
    params = {
        k: substitute(v, contract_constants, fid, k) for k, v in (falsifier.get("params") or {}).items()
    }
    unknown = sorted(set(params) - set(kind.PARAMS))
    if unknown:
        raise RenderError(
            f"{fid}: kind {kind.NAME!r} has no param(s) {unknown}; "
            f"it accepts: {sorted(kind.PARAMS) or 'none'}"
        )
    missing = [p for p in getattr(kind, "REQUIRED_PARAMS", ()) if p not in params]
    if missing:
        raise RenderError(f"{fid}: kind {kind.NAME!r} needs param(s) {missing}")
    for i, ex in enumerate(falsifier.get("examples") or []):
        if not kind.ARGS:
            raise RenderError(f"{fid}: kind {kind.NAME!r} draws no inputs, so examples[{i}] cannot apply")
        bad = sorted(set(ex) ^ set(kind.ARGS))
        if bad:
            raise RenderError(
                f"{fid}: examples[{i}] must give exactly {list(kind.ARGS)} for kind {kind.NAME!r}, "
                f"mismatched key(s): {bad}"
            )
    return params


def docstring(falsifier: dict) -> str:
    from pv.generate import docstring_text  # one escaping rule for every generated docstring

    attacks = ", ".join(map(str, falsifier.get("attacks") or []))
    text = " ".join(str(falsifier.get("description", "")).split())
    return textwrap.fill(
        docstring_text(f"{falsifier['id']} attacks {attacks}: {text}"),
        width=100,
        subsequent_indent="    ",
        break_long_words=False,  # a split could strand an escaping backslash at a line end
    )


def render_test(falsifier: dict, kind: ModuleType, contract: dict | None = None) -> str:
    """The standard test: draw ARGS with `kind.strategies(**params)`, then call
    `kind.check(target, *args, **params)`."""
    params = validate(falsifier, kind, (contract or {}).get("constants"))
    from pv.kinds import alias as kind_alias

    alias = kind_alias(kind.NAME)
    fid = falsifier["id"]
    kw = kwargs_source(params)
    # An EXPENSIVE kind's examples are each costly (a model built, a run made): pv's pytest plugin
    # runs the test without shrinking, which would repeat that cost hundreds of times.
    expensive = ", expensive=True" if getattr(kind, "EXPENSIVE", False) and kind.ARGS else ""
    lines = [f"@pytest.mark.falsifier({fid!r}{expensive})".replace("'", '"')]
    if getattr(kind, "GROUP", None):  # kinds sharing the tiny run land on one xdist worker
        lines.append(f'@pytest.mark.xdist_group("{kind.GROUP}")')
    if falsifier.get("max_examples"):
        lines.append(f"@settings(max_examples={int(falsifier['max_examples'])})")
    if kind.ARGS:
        lines.append(f"@given(**{alias}.strategies({kw}))")
        for ex in falsifier.get("examples") or []:
            lines.append(f"@example({', '.join(f'{a}={literal(ex[a])}' for a in kind.ARGS)})")
    args = ", ".join(kind.ARGS)
    lines.append(f"def {test_name(fid)}({args}):")
    lines.append(f'    """{docstring(falsifier)}"""')
    call_args = ", ".join(filter(None, [f"resolve({falsifier['target']!r})", args, kw]))
    lines.append(f"    {alias}.check({call_args})")
    return "\n".join(lines) + "\n"
