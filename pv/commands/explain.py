"""`pv explain RULE`: the full documentation of one rule, by id (PV101) or name (unknown-key)."""

from __future__ import annotations

import difflib

import click

from pv.errors import UsageError


def did_you_mean(query: str, rules) -> str:
    names = {r.id.lower(): r.id for r in rules} | {r.name.lower(): r.name for r in rules}
    close = difflib.get_close_matches(query.strip().lower(), list(names), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(names[c] for c in close)}?" if close else ""


def how_to_suppress(rule) -> str:
    if rule.id.startswith("PV0"):
        return (
            "## Suppressing it\nLoad rules cannot be suppressed: a file pv cannot load is not validated "
            "at all. Fix the file, or leave it out of [tool.pv].contracts."
        )
    one = (
        "One finding: not with a comment (this rule judges the suppression comments themselves); fix or "
        "remove the comment."
        if rule.id.startswith("PV8")
        else f"One finding: `# pv: ignore[{rule.id}] why` at the end of the line pv reports, or on its own "
        "line directly above it."
    )
    return (
        "## Suppressing it\n"
        f"{one}\n"
        f'Some files: `[tool.pv.per-file-ignores]` `"contracts/legacy/*.yaml" = ["{rule.id}"]` in '
        "pyproject.toml.\n"
        f'The project: `[tool.pv] ignore = ["{rule.id}"]`; one run: `pv validate --ignore {rule.id}`.\n'
        "Suppressed findings are counted in every verdict; `pv validate --show-suppressed` lists them."
    )


def render_explanation(rule) -> str:
    head = f"{rule.id} {rule.name} ({rule.severity})"
    parts = [head, "=" * len(head), "", rule.summary, "", rule.explanation.strip()]
    if rule.fix:
        parts += ["", f"Fix: {rule.fix}"]
    parts += ["", how_to_suppress(rule)]
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
