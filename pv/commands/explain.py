"""`pv explain RULE`: the full documentation of one rule, by id (PV101) or name (unknown-key)."""

from __future__ import annotations

import difflib

import click

from pv.errors import UsageError


def did_you_mean(query: str, rules) -> str:
    names = {r.id.lower(): r.id for r in rules} | {r.name.lower(): r.name for r in rules}
    close = difflib.get_close_matches(query.strip().lower(), list(names), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(names[c] for c in close)}?" if close else ""


def render_explanation(rule) -> str:
    head = f"{rule.id} {rule.name} ({rule.severity})"
    parts = [head, "=" * len(head), "", rule.summary, "", rule.explanation.strip()]
    if rule.fix:
        parts += ["", f"Fix: {rule.fix}"]
    return "\n".join(parts) + "\n"


@click.command("explain")
@click.argument("rule")
def explain(rule: str) -> None:
    """Explain RULE: what it checks, why, an example and what to write instead."""
    from pv.rules.registry import all_rules, get_rule

    try:
        found = get_rule(rule)
    except KeyError:
        hint = did_you_mean(rule, all_rules())
        raise UsageError(f"no rule {rule!r}.{hint} `pv rules` lists them all.") from None
    click.echo(render_explanation(found), nl=False)
