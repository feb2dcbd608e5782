"""cli-routing: drawn argv → the CLI's own parser → config (→ route), against a declared flag mapping.

Nothing runs: the parser only parses. Target: a click command (parsed with `make_context`, its body
never runs), an `argparse.ArgumentParser`, or a zero-argument function that returns either. The
resolver (`resolver`, a name next to the target or a full `module:attr`) turns what the parser gives —
click's params dict, argparse's Namespace — into the config; without one the parsed values are the
config. Fields are read as `config[field]` from a mapping, else `getattr(config, field)`.

`flag_space` declares the drawn flags, {name: spec}; the drawn `flags` dict is keyed by these names.
A spec is `switch` (a bare flag, drawn on or off), a list of values (null: the flag is left out), or a
mapping with any of: `values` (list), `int` / `float` ([lo, hi]), `absent` (default true: may be left
out), `option` (default `--name` with `_` → `-`), `field` (the config field it sets; default `name`).

The rule, restated here: a flag that is given reaches its field unchanged (a switch: true); a flag
that is left out leaves its field at the `presets` row when one applies, else at `defaults[field]`;
a field with neither is not judged when its flag is absent. `presets` is a table of rows
{field: default} (a regime table) and what selects the row: `field` (the effective value of a config
field) or `flag` (the drawn value of a flag, else `default`). A flag with `field: null` only selects
(it sets no config field of its own). With
`selector` `(config) -> callable` and `routes` {value: callable name} keyed by the effective value of
`route_by`, the callable chosen must be the declared one.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

NAME = "cli-routing"
SUMMARY = "drawn argv parsed by the CLI's own click/argparse parser + resolver vs the declared flag mapping"
PARAMS = {
    "flag_space": "{name: switch | [values] | {values, int, float, absent, option, field}}: the drawn flags",
    "defaults": "{field: value} the config holds when its flag is left out",
    "presets": "{table, field | flag [+ default]}: the row table[value] = {field: default} that applies",
    "required": "argv every invocation needs (default none)",
    "resolver": "parsed params (click dict / argparse Namespace) -> config: a name next to the target "
    "or module:attr (default: the parsed values)",
    "selector": "adapter (config) -> the callable the CLI routes to",
    "route_by": "the field whose effective value picks the route",
    "routes": "{value: name of the callable selector must return}",
}
REQUIRED_PARAMS = ("flag_space",)
TARGET_PARAMS = ("selector",)
SIBLING_PARAMS = ("resolver",)
ARGS = ("flags",)


def _spec(name: str, spec) -> dict:
    if spec == "switch":
        return {"switch": True, "option": f"--{name.replace('_', '-')}", "field": name}
    if isinstance(spec, list):
        spec = {"values": [v for v in spec if v is not None], "absent": None in spec}
    if not isinstance(spec, dict):
        raise ValueError(f"cli-routing flag {name!r}: spec {spec!r} is not switch, a list or a mapping")
    unknown = sorted(set(spec) - {"values", "int", "float", "absent", "option", "field", "switch"})
    if unknown:
        raise ValueError(f"cli-routing flag {name!r}: unknown spec key(s) {unknown}")
    out = {"absent": True, "option": f"--{name.replace('_', '-')}", "field": name, **spec}
    if not spec.get("switch") and not any(k in spec for k in ("values", "int", "float")):
        raise ValueError(f"cli-routing flag {name!r}: give values, int or float to draw from")
    return out


def specs(flags: dict) -> dict[str, dict]:
    return {name: _spec(name, spec) for name, spec in flags.items()}


def _draw(spec: dict):
    if spec.get("switch"):
        return st.booleans()
    options = []
    if spec.get("values"):
        options.append(st.sampled_from(spec["values"]))
    if "int" in spec:
        options.append(st.integers(*spec["int"]))
    if "float" in spec:
        options.append(st.floats(*spec["float"]))
    if spec["absent"]:
        options.insert(0, st.none())
    return st.one_of(*options)


def strategies(flag_space, **_):
    return {"flags": st.fixed_dictionaries({n: _draw(s) for n, s in specs(flag_space).items()})}


def argv_for(flags: dict, table: dict[str, dict]) -> list[str]:
    argv: list[str] = []
    for name, spec in table.items():
        value = flags.get(name)
        if spec.get("switch"):
            argv += [spec["option"]] if value else []
        elif value is not None:
            argv += [spec["option"], repr(value) if isinstance(value, float) else str(value)]
    return argv


def parse(target, argv: list[str]):
    """What the CLI's parser makes of argv, without running the command."""
    __tracebackhide__ = True
    import contextlib
    import io

    parser = target
    if not hasattr(parser, "make_context") and not hasattr(parser, "parse_args") and callable(parser):
        parser = parser()  # a factory of the parser
    if hasattr(parser, "make_context"):  # click
        import click

        try:
            return dict(parser.make_context(parser.name or "cli", list(argv)).params)
        except click.ClickException as exc:
            raise AssertionError(f"the CLI refused argv {argv}: {exc.format_message()}") from None
    if hasattr(parser, "parse_args"):  # argparse
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                return parser.parse_args(list(argv))
        except SystemExit:
            raise AssertionError(f"the CLI refused argv {argv}: {err.getvalue().strip()}") from None
    raise TypeError(f"the target ({type(parser).__name__}) is neither a click command nor an argparse parser")


def field_of(cfg, field: str):
    if isinstance(cfg, dict):
        assert field in cfg, f"the config has no field {field!r} (fields: {sorted(cfg)})"
        return cfg[field]
    assert hasattr(cfg, field), f"the config ({type(cfg).__name__}) has no field {field!r}"
    return getattr(cfg, field)


def expected(flags: dict, table: dict[str, dict], defaults: dict, presets: dict | None) -> dict:
    """{field: value the rule predicts} for every field the rule decides."""
    fields = {n: s["field"] for n, s in table.items() if s["field"] is not None}
    given = {fields[n]: flags[n] for n in fields if flags.get(n) is not None}
    switches = {fields[n]: bool(flags.get(n)) for n in fields if table[n].get("switch")}
    want = {**defaults}
    if presets:
        if "flag" in presets:
            if presets["flag"] not in table:
                raise ValueError(f"presets.flag {presets['flag']!r} is not in flag_space ({sorted(table)})")
            row_key = flags.get(presets["flag"])
            row_key = presets.get("default") if row_key is None else row_key
        else:
            by = presets["field"]
            row_key = given.get(by, switches.get(by, defaults.get(by)))
        row = presets["table"].get(row_key)
        assert row is not None or row_key is None, (
            f"presets has no row {row_key!r} (rows: {sorted(presets['table'])})"
        )
        want.update(row or {})
    want.update(switches)
    want.update({f: v for f, v in given.items() if f not in switches})
    return want


def _same(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool):
        return got == want or (math.isnan(got) and math.isnan(want))
    return got == want


def _module_target(command) -> str | None:
    """`module:attr` of the code behind the target, for names next to it (click: the callback)."""
    code = getattr(command, "callback", None) or command
    module = getattr(code, "__module__", None)
    return f"{module}:{getattr(code, '__name__', 'x')}" if module else None


def check(
    target,
    flags,
    flag_space,
    defaults=None,
    presets=None,
    required=(),
    resolver=None,
    selector=None,
    route_by=None,
    routes=None,
):
    __tracebackhide__ = True
    from pv.runtime import resolve, resolve_sibling

    table = specs(flag_space)
    argv = [*required, *argv_for(flags, table)]
    parsed = parse(target, argv)
    if resolver is None:
        cfg = parsed if isinstance(parsed, dict) else vars(parsed)
    else:
        where = _module_target(target)
        if where is None and ":" not in resolver:
            raise ValueError(f"resolver {resolver!r}: the target has no module; write it as module:attr")
        cfg = resolve_sibling(where or resolver, resolver)(parsed)
    for field, want in expected(flags, table, defaults or {}, presets).items():
        got = field_of(cfg, field)
        assert _same(got, want), f"argv {argv}: {field} = {got!r}, the flag mapping says {want!r}"
    if selector is not None:
        if route_by is None or routes is None:
            raise ValueError("selector needs route_by and routes ({value: callable name})")
        value = expected(flags, table, defaults or {}, presets).get(route_by)
        want = route_for(routes, value)
        assert want is not None, f"argv {argv}: {route_by} = {value!r} has no declared route ({routes})"
        chosen = resolve(selector)(cfg)
        got = getattr(chosen, "__name__", repr(chosen))
        assert got == want, f"argv {argv} routes to {got}, the contract says {want}"


def route_for(routes: dict, value) -> str | None:
    """The declared route of `value`; YAML mapping keys may arrive as text (`true` → "true")."""
    if value in routes:
        return routes[value]
    if value is None:
        return routes.get("null")
    return routes.get(str(value).lower() if isinstance(value, bool) else str(value))
