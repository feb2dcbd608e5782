"""JUnit XML: one testsuite "pv validate", one testcase per contract file, findings as failures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from pv.findings import Finding, Report, Severity
from pv.reporters._common import (
    one_line,
    sorted_findings,
    sorted_suppressed,
    suppression_counts,
    verdict_line,
    where,
)

# Characters XML 1.0 cannot carry at all, even escaped; a hostile file name must not break the report.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(s: str) -> str:
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def _line(f: Finding) -> str:
    out = f"{_clean(where(f))}: {f.severity.value} {f.rule_id} {_clean(one_line(f.message))}"
    return out + (f"\n    fix: {_clean(one_line(f.fix))}" if f.fix else "")


def render(report: Report, *, strict: bool = False, **_: object) -> str:
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted_findings(report):
        by_file[f.location.path].append(f)
    quiet: dict[str, list[str]] = defaultdict(list)  # suppressed findings, listed, never failing
    for s in sorted_suppressed(report):
        quiet[s.finding.location.path].append(
            f"{_line(s.finding)}\n    suppressed {s.by}: {_clean(s.reason)}"
        )
    # Every file looked at is a testcase, passing or not; findings on other paths get one too.
    # Under --changed only the changed files are reported on.
    files = report.focus or report.files
    paths = list(dict.fromkeys([*files, *sorted(by_file)]))

    def fails(f: Finding) -> bool:
        return f.severity is Severity.ERROR or (strict and f.severity is Severity.WARNING)

    failures = sum(1 for p in paths if any(fails(f) for f in by_file[p]))
    suites = ET.Element("testsuites", name="pv", tests=str(len(paths)), failures=str(failures), errors="0")
    suite = ET.SubElement(
        suites, "testsuite", name="pv validate", tests=str(len(paths)), failures=str(failures), errors="0"
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="verdict", value=_clean(verdict_line(report, strict)))
    sup = suppression_counts(report)
    for name, value in (("suppressed_by_config", sup["by_config"]), ("suppressed_inline", sup["inline"])):
        ET.SubElement(props, "property", name=name, value=str(value))
    if report.focus:
        ET.SubElement(props, "property", name="not_shown", value=str(len(report.not_shown)))
    for path in paths:
        case = ET.SubElement(suite, "testcase", classname="pv.validate", name=_clean(path), file=_clean(path))
        found = by_file[path]
        failing = [f for f in found if fails(f)]
        if failing:
            first = failing[0]
            failure = ET.SubElement(
                case,
                "failure",
                message=_clean(f"{len(failing)} finding(s): {first.rule_id} {first.message}"),
                type=first.rule_id,
            )
            failure.text = "\n".join(_line(f) for f in failing)
        rest = [_line(f) for f in found if not fails(f)] + quiet[path]
        if rest:  # warnings that do not fail the case, and suppressed findings, are shown, not swallowed
            ET.SubElement(case, "system-out").text = "\n".join(rest)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
