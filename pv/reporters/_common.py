"""Pieces every reporter shares: the verdict and its denominators, and path spelling."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath
from urllib.parse import quote

from pv.findings import Finding, Report, Severity, Suppressed


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def failed(report: Report, strict: bool = False) -> bool:
    return report.exit_code(strict) != 0


def verdict_word(report: Report, strict: bool = False) -> str:
    return "FAIL" if failed(report, strict) else "PASS"


def denominators(report: Report) -> str:
    """`3 contracts (12 invariants, 6 gates [5 ship-blocking], 9 falsifiers [8 executable])`."""
    c = report.counts
    head = plural(c.contracts, "contract")
    if c.files != c.contracts:
        # An empty or unparsable file is looked at but holds no contract: say so.
        head += f" in {plural(c.files, 'file')}"
    return (
        f"{head} ({plural(c.invariants, 'invariant')}, "
        f"{plural(c.gates, 'gate')} [{c.ship_blocking_gates} ship-blocking], "
        f"{plural(c.falsifiers, 'falsifier')} [{c.executable_falsifiers} executable])"
    )


def severities(findings: Sequence[Finding]) -> str:
    """`2 errors, 1 warning` (infos only when present)."""
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    infos = len(findings) - errors - warnings
    parts = [plural(errors, "error"), plural(warnings, "warning")]
    if infos:
        parts.append(plural(infos, "info", "infos"))
    return ", ".join(parts)


def suppression_counts(report: Report) -> dict[str, int]:
    by_config = sum(1 for s in report.suppressed if s.by == "config")
    return {
        "suppressed": len(report.suppressed),
        "by_config": by_config,
        "inline": len(report.suppressed) - by_config,
    }


def tally(report: Report) -> str:
    """`2 errors, 1 warning`, then what was suppressed: `(3 suppressed: 2 by config, 1 inline)`."""
    out = severities(report.findings)
    c = suppression_counts(report)
    if c["by_config"] and c["inline"]:
        out += f" ({c['suppressed']} suppressed: {c['by_config']} by config, {c['inline']} inline)"
    elif c["suppressed"]:
        out += f" ({c['suppressed']} suppressed {'by config' if c['by_config'] else 'inline'})"
    return out


def not_shown(report: Report) -> str:
    """Under --changed: `reporting on 1 of 12 files; 3 findings in 2 other files not shown (1 error, …)`."""
    if not report.focus:
        return ""
    out = f"reporting on {len(report.focus)} of {plural(report.counts.files, 'file')}"
    if report.not_shown:
        others = len({f.location.path for f in report.not_shown})
        out += (
            f"; {plural(len(report.not_shown), 'finding')} in {plural(others, 'other file')} not shown "
            f"({severities(report.not_shown)})"
        )
    return out


def verdict_line(report: Report, strict: bool = False) -> str:
    """The one line that states the verdict with everything it was computed over."""
    parts = [f"{verdict_word(report, strict)} {denominators(report)}", tally(report)]
    if report.counts.inert_contracts:
        parts.append(plural(report.counts.inert_contracts, "inert contract"))
    foreign = {k: v for k, v in (report.extra.get("dialects") or {}).items() if k != "pv/v1" and v}
    if foreign:  # files read in another dialect are not counted as contracts above: say what they were
        each = ", ".join(f"{k} {v}" for k, v in sorted(foreign.items()))
        parts.append(f"{plural(sum(foreign.values()), 'file')} in other dialects ({each})")
    if report.focus:
        parts.append(not_shown(report))
    if strict and report.warnings and not report.errors:
        parts.append("warnings fail under --strict")
    return " · ".join(parts)


def where(f: Finding) -> str:
    """`path:line:col`, or just `path` when the position is unknown (line 0)."""
    loc = f.location
    return f"{loc.path}:{loc.line}:{loc.col}" if loc.line > 0 else loc.path


def one_line(s: str) -> str:
    """Continuation lines indented, so a multi-line message cannot pass for a new finding."""
    return s.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\n    ")


def sorted_findings(report: Report) -> list[Finding]:
    return sorted(report.findings, key=Finding.sort_key)


def sorted_suppressed(report: Report) -> list[Suppressed]:
    return sorted(report.suppressed, key=lambda s: (*s.finding.sort_key(), s.by, s.reason))


def relative_path(path: str, root: str | None = None) -> str:
    """A path spelled relative and with forward slashes (SARIF, GitHub annotations).

    Absolute paths under `root` are made relative to it; others keep their absolute spelling.
    """
    p = path
    if root and os.path.isabs(p):
        try:
            rel = os.path.relpath(p, root)
        except ValueError:  # another drive on Windows
            rel = p
        if not rel.startswith(".."):
            p = rel
    p = PurePath(p).as_posix()
    while p.startswith("./"):
        p = p[2:]
    return p


def relative_uri(path: str, root: str | None = None) -> str:
    """relative_path as a URI reference: anything but unreserved characters and / percent-encoded
    (a ':' in a first segment would otherwise read as a URI scheme)."""
    return quote(relative_path(path, root), safe="/")
