"""JUnit XML: one testsuite "pv validate", one testcase per contract file, findings as failures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from pv.findings import Finding, Report, Severity
from pv.reporters._common import one_line, sorted_findings, verdict_line, where

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
    # Every file looked at is a testcase, passing or not; findings on other paths get one too.
    paths = list(dict.fromkeys([*report.files, *sorted(by_file)]))

    def fails(f: Finding) -> bool:
        return f.severity is Severity.ERROR or (strict and f.severity is Severity.WARNING)

    failures = sum(1 for p in paths if any(fails(f) for f in by_file[p]))
    suites = ET.Element("testsuites", name="pv", tests=str(len(paths)), failures=str(failures), errors="0")
    suite = ET.SubElement(
        suites, "testsuite", name="pv validate", tests=str(len(paths)), failures=str(failures), errors="0"
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="verdict", value=_clean(verdict_line(report, strict)))
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
        rest = [f for f in found if not fails(f)]
        if rest:  # warnings that do not fail the case are still shown, not swallowed
            ET.SubElement(case, "system-out").text = "\n".join(_line(f) for f in rest)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
