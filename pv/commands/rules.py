"""`pv rules`: list every rule pv checks (id, name, severity, summary)."""

from __future__ import annotations

import json

import click

from pv.commands._common import emit


def render_rules(rules, fmt: str) -> str:
    if fmt == "json":
        rows = [
            {"id": r.id, "name": r.name, "severity": str(r.severity), "summary": r.summary, "fix": r.fix}
            for r in rules
        ]
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    wid = max((len(r.id) for r in rules), default=2)
    wname = max((len(r.name) for r in rules), default=4)
    lines = [f"{'ID':<{wid}}  {'NAME':<{wname}}  {'SEVERITY':<8}  SUMMARY"]
    lines += [f"{r.id:<{wid}}  {r.name:<{wname}}  {r.severity!s:<8}  {r.summary}" for r in rules]
    lines.append(f"{len(rules)} rules · `pv explain RULE` for the full documentation")
    return "\n".join(lines) + "\n"


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
def rules(fmt: str, output: str | None) -> None:
    """List the rules `pv validate` checks."""
    from pv.rules.registry import all_rules

    emit(render_rules(all_rules(), fmt), output)
