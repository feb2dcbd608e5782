"""Human output: one line per finding, an indented fix hint, then the verdict with its denominators."""

from __future__ import annotations

import click

from pv.findings import Report, Severity
from pv.reporters._common import failed, one_line, sorted_findings, sorted_suppressed, verdict_line, where

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def render(
    report: Report,
    *,
    strict: bool = False,
    quiet: bool = False,
    color: bool = False,
    show_suppressed: bool = False,
    **_: object,
) -> str:
    """`path:line:col: severity RULE-ID message` / `    fix: …` per finding, then the verdict.

    quiet: only the findings that decide the verdict (errors; warnings too under strict), no fix
    hints, and nothing at all on a pass. show_suppressed: the suppressed findings too, each with
    `[suppressed by config: …]` / `[suppressed inline: …]` (the verdict always counts them).
    """

    def style(text: str, **kw: object) -> str:
        return click.style(text, **kw) if color else text

    lines: list[str] = []
    for f in sorted_findings(report):
        if quiet and not (f.severity is Severity.ERROR or (strict and f.severity is Severity.WARNING)):
            continue
        sev = style(f.severity.value, fg=_COLOURS[f.severity], bold=True)
        lines.append(f"{where(f)}: {sev} {style(f.rule_id, bold=True)} {one_line(f.message)}")
        if f.fix and not quiet:
            lines.append(f"    fix: {one_line(f.fix)}")
    if show_suppressed and not quiet:
        for s in sorted_suppressed(report):
            f = s.finding
            mark = style(f"suppressed {'by config' if s.by == 'config' else 'inline'}", dim=True)
            lines.append(
                f"{where(f)}: {f.severity.value} {f.rule_id} {one_line(f.message)}  [{mark}: {s.reason}]"
            )
    is_fail = failed(report, strict)
    if quiet and not is_fail:
        return ""
    verdict = verdict_line(report, strict)
    lines.append(style(verdict, fg="red" if is_fail else "green", bold=True))
    return "\n".join(lines) + "\n"
