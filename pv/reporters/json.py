"""Stable machine output. `version` is the format's version: bump it on any breaking change."""

from __future__ import annotations

import dataclasses
import json

from pv import __version__
from pv.findings import Finding, Report
from pv.reporters._common import failed, sorted_findings, sorted_suppressed, suppression_counts

FORMAT_VERSION = 1


def finding_dict(f: Finding) -> dict:
    loc = f.location
    return {
        "rule_id": f.rule_id,
        "rule_name": f.rule_name,
        "severity": f.severity.value,
        "message": f.message,
        "fix": f.fix,
        "path": loc.path,
        "line": loc.line,
        "col": loc.col,
        "end_line": loc.end_line,
        "end_col": loc.end_col,
        "contract_id": f.contract_id,
    }


def report_dict(report: Report, *, strict: bool = False) -> dict:
    counts = dataclasses.asdict(report.counts)
    counts.update(
        errors=report.errors,
        warnings=report.warnings,
        infos=len(report.findings) - report.errors - report.warnings,
        cached_files=report.cached_files,
    )
    sup = suppression_counts(report)
    counts.update(
        suppressed=sup["suppressed"], suppressed_by_config=sup["by_config"], suppressed_inline=sup["inline"]
    )
    counts.update(not_shown=len(report.not_shown))
    return {
        "version": FORMAT_VERSION,
        "tool": {"name": "pv", "version": __version__},
        "verdict": "fail" if failed(report, strict) else "pass",
        "strict": strict,
        "counts": counts,
        "dialects": dict(sorted((report.extra.get("dialects") or {}).items())),  # files per dialect
        "findings": [finding_dict(f) for f in sorted_findings(report)],
        # Never dropped: what select/ignore/per-file-ignores or a `# pv: ignore[...]` comment hid.
        "suppressed": [
            {**finding_dict(s.finding), "suppressed_by": s.by, "reason": s.reason}
            for s in sorted_suppressed(report)
        ],
        # `--changed`: the files reported on (null: all of them); counts.not_shown is the rest.
        "focus": list(report.focus) if report.focus else None,
    }


def render(report: Report, *, strict: bool = False, **_: object) -> str:
    return json.dumps(report_dict(report, strict=strict), indent=2, ensure_ascii=False) + "\n"
