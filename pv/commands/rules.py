"""`pv rules`: list every rule pv checks (id, name, severity, summary) and whether this project's
[tool.pv] select / ignore reports it."""

from __future__ import annotations

import json

import click

from pv.commands._common import emit


def selection_state(rule_id: str, selection) -> str:
    """`on`, `always` (load rules) or `off` (with the selector that turns it off)."""
    from pv.selection import ALWAYS_ON_PREFIX

    if rule_id.startswith(ALWAYS_ON_PREFIX):
        return "always"
    why = selection.globally(rule_id)
    return "on" if why is None else f"off ({why})"


def render_rules(rules, fmt: str, selection=None, source: str = "") -> str:
    states = {r.id: selection_state(r.id, selection) if selection else "on" for r in rules}
    if fmt == "json":
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "severity": str(r.severity),
                "summary": r.summary,
                "fix": r.fix,
                "selected": not states[r.id].startswith("off"),
                "selection": states[r.id],
            }
            for r in rules
        ]
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    wid = max((len(r.id) for r in rules), default=2)
    wname = max((len(r.name) for r in rules), default=4)
    wsel = max((len(s) for s in states.values()), default=8)
    lines = [f"{'ID':<{wid}}  {'NAME':<{wname}}  {'SEVERITY':<8}  {'SELECTED':<{wsel}}  SUMMARY"]
    lines += [
        f"{r.id:<{wid}}  {r.name:<{wname}}  {r.severity!s:<8}  {states[r.id]:<{wsel}}  {r.summary}"
        for r in rules
    ]
    on = sum(1 for s in states.values() if not s.startswith("off"))
    foot = f"{len(rules)} rules, {on} selected"
    if source:
        foot += f" ({source})"
    if selection is not None and selection.per_file:
        foot += f"; per-file-ignores: {len(selection.per_file)} pattern(s) turn rules off in some files"
    lines.append(foot + " · `pv explain RULE` for the full documentation")
    return "\n".join(lines) + "\n"


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
def rules(fmt: str, output: str | None) -> None:
    """List the rules `pv validate` checks, and which of them [tool.pv] select / ignore report."""
    from pv.config import load_config
    from pv.rules.registry import all_rules
    from pv.selection import RuleSelection

    config = load_config()
    configured = config.select is not None or config.ignore or config.per_file_ignores
    source = f"[tool.pv] in {config.pyproject}" if configured else "default: all"
    emit(render_rules(all_rules(), fmt, RuleSelection.for_config(config), source), output)
