"""GitHub Actions workflow commands (`::error file=…::msg`) plus a Markdown job summary.

Escaping follows the runner's rules: data escapes %, CR, LF; property values also escape : and ,.
"""

from __future__ import annotations

from pv.findings import Report, Severity
from pv.reporters._common import relative_path, sorted_findings, sorted_suppressed, verdict_line

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, *, strict: bool = False, root: str | None = None, **_: object) -> str:
    lines = []
    for f in sorted_findings(report):
        props = [f"file={escape_property(relative_path(f.location.path, root))}"]
        if f.location.line > 0:
            props.append(f"line={f.location.line}")
            if f.location.col > 0:
                props.append(f"col={f.location.col}")
            if f.location.end_line >= f.location.line:
                props.append(f"endLine={f.location.end_line}")
        props.append(f"title={escape_property(f'{f.rule_id} {f.rule_name}')}")
        message = f.message + (f"\nfix: {f.fix}" if f.fix else "")
        lines.append(f"::{_COMMANDS[f.severity]} {','.join(props)}::{escape_data(message)}")
    # A plain log line: the verdict with its denominators, readable in the raw log.
    lines.append(verdict_line(report, strict))
    return "\n".join(lines) + "\n"


def _md_cell(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def render_step_summary(report: Report, *, strict: bool = False, root: str | None = None) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: the verdict and a table of every finding (no truncation)."""
    out = ["### pv validate", "", f"**{_md_cell(verdict_line(report, strict))}**", ""]
    findings = sorted_findings(report)
    if findings:
        out += ["| location | severity | rule | message | fix |", "|---|---|---|---|---|"]
        for f in findings:
            loc = f.location
            where = relative_path(loc.path, root) + (f":{loc.line}:{loc.col}" if loc.line > 0 else "")
            out.append(
                f"| `{_md_cell(where)}` | {f.severity.value} | {f.rule_id} {_md_cell(f.rule_name)} "
                f"| {_md_cell(f.message)} | {_md_cell(f.fix)} |"
            )
        out.append("")
    suppressed = sorted_suppressed(report)
    if suppressed:
        out += [f"<details><summary>{len(suppressed)} suppressed</summary>", ""]
        out += ["| location | severity | rule | message | suppressed |", "|---|---|---|---|---|"]
        for s in suppressed:
            f, loc = s.finding, s.finding.location
            where = relative_path(loc.path, root) + (f":{loc.line}:{loc.col}" if loc.line > 0 else "")
            out.append(
                f"| `{_md_cell(where)}` | {f.severity.value} | {f.rule_id} {_md_cell(f.rule_name)} "
                f"| {_md_cell(f.message)} | {s.by}: {_md_cell(s.reason)} |"
            )
        out += ["", "</details>", ""]
    return "\n".join(out) + "\n"
