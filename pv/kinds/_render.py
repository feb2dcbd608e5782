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

import difflib
from types import ModuleType

from pv import codegen

# The schema's bound on a falsifier's `max_examples` (pv/schema/contract-v1.json), enforced again here:
# generation runs on contracts `pv validate` may not have seen.
MAX_EXAMPLES = 10_000
DQ = '"'  # marks keep the double-quoted look they always had


class RenderError(ValueError):
    """The falsifier's params or examples do not fit its kind."""


def test_name(falsifier_id: str) -> str:
    from pv.generate import test_function_name  # one naming rule for generation, gate and trace

    return test_function_name(falsifier_id)


def literal(value) -> str:
    """A deterministic Python literal for YAML data (pv.codegen.literal: the one escaping path)."""
    try:
        return codegen.literal(value)
    except codegen.CodegenError as exc:
        raise RenderError(str(exc)) from exc


def kwargs_source(params: dict) -> str:
    return ", ".join(f"{codegen.identifier(k, 'param')}={literal(v)}" for k, v in params.items())


def max_examples(falsifier: dict) -> int | None:
    """The falsifier's `max_examples`, an int in [1, MAX_EXAMPLES] (RenderError otherwise)."""
    n = falsifier.get("max_examples")
    if n is None:
        return None
    if type(n) is not int or not 1 <= n <= MAX_EXAMPLES:
        raise RenderError(
            f"{falsifier.get('id')}: max_examples must be an integer from 1 to {MAX_EXAMPLES}, got {n!r}"
        )
    return n


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
        close = [m for u in unknown for m in difflib.get_close_matches(u, list(kind.PARAMS), n=1)]
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise RenderError(
            f"{fid}: kind {kind.NAME!r} has no param(s) {unknown}{hint}; "
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
    """The test's docstring literal (pv.codegen.docstring escapes it)."""
    attacks = ", ".join(map(str, falsifier.get("attacks") or []))
    return codegen.docstring(f"{falsifier['id']} attacks {attacks}: {falsifier.get('description', '')}")


def render_test(falsifier: dict, kind: ModuleType, contract: dict | None = None) -> str:
    """The standard test: draw ARGS with `kind.strategies(**params)`, then call
    `kind.check(target, *args, **params)`."""
    params = validate(falsifier, kind, (contract or {}).get("constants"))
    from pv.kinds import alias as kind_alias

    alias = codegen.identifier(kind_alias(kind.NAME), "kind name")
    fid = falsifier["id"]
    kw = kwargs_source(params)
    # An EXPENSIVE kind's examples are each costly (a model built, a run made): pv's pytest plugin
    # runs the test without shrinking, which would repeat that cost hundreds of times.
    expensive = ", expensive=True" if getattr(kind, "EXPENSIVE", False) and kind.ARGS else ""
    lines = [f"@pytest.mark.falsifier({codegen.string(fid, quote=DQ)}{expensive})"]
    if getattr(kind, "GROUP", None):  # kinds sharing the tiny run land on one xdist worker
        lines.append(f"@pytest.mark.xdist_group({codegen.string(str(kind.GROUP), quote=DQ)})")
    n = max_examples(falsifier)
    if n is not None:
        lines.append(f"@settings(max_examples={n})")
    arg_names = [codegen.identifier(a, "kind ARGS name") for a in kind.ARGS]
    if arg_names:
        lines.append(f"@given(**{alias}.strategies({kw}))")
        for ex in falsifier.get("examples") or []:
            lines.append(f"@example({', '.join(f'{a}={literal(ex[a])}' for a in arg_names)})")
    args = ", ".join(arg_names)
    lines.append(f"def {codegen.identifier(test_name(fid), 'falsifier id')}({args}):")
    lines.append(f"    {docstring(falsifier)}")
    call_args = ", ".join(filter(None, [f"resolve({literal(falsifier['target'])})", args, kw]))
    lines.append(f"    {alias}.check({call_args})")
    return "\n".join(lines) + "\n"
