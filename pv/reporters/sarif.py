"""SARIF 2.1.0, the format code-scanning UIs (GitHub, VS Code SARIF viewer) read."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable

from pv import __version__
from pv.findings import Finding, Report, Severity
from pv.reporters._common import (
    failed,
    relative_uri,
    sorted_findings,
    sorted_suppressed,
    suppression_counts,
    verdict_line,
)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pv.dev/docs/cli"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def fingerprint(f: Finding, uri: str) -> str:
    """Stable across runs and line shifts: rule + file + contract + message, not the position."""
    key = "\x1f".join((f.rule_id, uri, f.contract_id, f.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _registry_rules() -> list:
    try:
        from pv.rules.registry import all_rules
    except ImportError:  # reporters stay usable without the rule registry (e.g. for `pv gate`)
        return []
    return list(all_rules())


def _rule_descriptor(rule: object) -> dict:
    sev = getattr(rule, "severity", Severity.ERROR)
    summary = getattr(rule, "summary", "") or getattr(rule, "name", "")
    explanation = getattr(rule, "explanation", "") or summary
    fix = getattr(rule, "fix", "")
    help_text = f"{fix}" if fix else summary
    return {
        "id": rule.id,
        "name": getattr(rule, "name", rule.id),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": explanation.strip()},
        "help": {"text": help_text, "markdown": explanation.strip()},
        "helpUri": f"{INFORMATION_URI}#{rule.id.lower()}",
        "defaultConfiguration": {"level": _LEVELS.get(Severity(sev), "error")},
    }


def _region(f: Finding) -> dict | None:
    loc = f.location
    if loc.line <= 0:  # unknown position: SARIF forbids line 0, so say nothing
        return None
    region = {"startLine": loc.line}
    if loc.col > 0:
        region["startColumn"] = loc.col
    if loc.end_line >= loc.line:
        region["endLine"] = loc.end_line
        if loc.end_col > 0:
            region["endColumn"] = loc.end_col
    return region


def render(
    report: Report,
    *,
    strict: bool = False,
    rules: Iterable | None = None,
    root: str | None = None,
    **_: object,
) -> str:
    """The report as one SARIF run. `rules` defaults to pv's registry; `root` relativises abs paths."""
    by_id = {r.id: r for r in (_registry_rules() if rules is None else rules)}
    # Rules a finding names but the registry lacks (e.g. a plug-in) still get a descriptor.
    for f in (*report.findings, *(s.finding for s in report.suppressed)):
        if f.rule_id not in by_id:
            by_id[f.rule_id] = _AdHocRule(f.rule_id, f.rule_name, f.severity)
    ordered = sorted(by_id)
    index = {rid: i for i, rid in enumerate(ordered)}

    results = [_result(f, index[f.rule_id], root) for f in sorted_findings(report)]
    # Suppressed findings stay in the log, marked as SARIF intends: viewers show them as closed.
    for s in sorted_suppressed(report):
        result = _result(s.finding, index[s.finding.rule_id], root)
        result["suppressions"] = [
            {
                "kind": "inSource" if s.by == "inline" else "external",
                "status": "accepted",
                "justification": s.reason,
            }
        ]
        results.append(result)

    run = {
        "tool": {
            "driver": {
                "name": "pv",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_rule_descriptor(by_id[rid]) for rid in ordered],
            }
        },
        "invocations": [{"executionSuccessful": True}],
        "results": results,
        # The denominators, so a viewer can tell "0 results over 0 files" from a real pass.
        "properties": {
            "verdict": "fail" if failed(report, strict) else "pass",
            "summary": verdict_line(report, strict),
            "counts": {**dataclasses.asdict(report.counts), **_suppression_counts(report)},
            "dialects": dict(sorted((report.extra.get("dialects") or {}).items())),
        },
    }
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _result(f: Finding, rule_index: int, root: str | None) -> dict:
    uri = relative_uri(f.location.path, root)
    physical: dict = {"artifactLocation": {"uri": uri}}
    region = _region(f)
    if region:
        physical["region"] = region
    text = f.message + (f"\nfix: {f.fix}" if f.fix else "")
    result = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVELS[f.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"pvFindingHash/v1": fingerprint(f, uri)},
    }
    if f.contract_id:
        result["properties"] = {"contractId": f.contract_id}
    return result


def _suppression_counts(report: Report) -> dict:
    c = suppression_counts(report)
    out = {
        "suppressed": c["suppressed"],
        "suppressed_by_config": c["by_config"],
        "suppressed_inline": c["inline"],
    }
    if report.focus:
        out |= {"focus": list(report.focus), "not_shown": len(report.not_shown)}
    return out


@dataclasses.dataclass(frozen=True)
class _AdHocRule:
    id: str
    name: str
    severity: Severity
    summary: str = ""
