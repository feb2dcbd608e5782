"""Renderers for `pv gate` results: pure `render(result) -> str`, one per format, picked by name."""

from __future__ import annotations

import json
from dataclasses import asdict
from xml.sax.saxutils import escape, quoteattr

from pv import __version__
from pv.gate import FAILED_OUTCOMES, GateResult


def _gate_line(g) -> str:
    inert = f", {g.inert} inert" if g.inert else ""
    missing = f", undefined: {', '.join(g.missing)}" if g.missing else ""
    missing += f", {g.timed_out} timed out" if g.timed_out else ""
    missing += f", {g.not_run} not run" if g.not_run else ""
    blocking = "" if g.ship_blocking else " (not ship-blocking)"
    return (
        f"{g.verdict:<5} {g.id} → {g.binds_to}{blocking}: {g.ran} ran, {g.passed} passed, "
        f"{g.failed} failed, {g.skipped} skipped{inert}{missing}"
    )


def render_text(result: GateResult) -> str:
    tests = {t.falsifier: t for t in result.tests}
    lines = []
    for g in result.gates:
        lines.append(_gate_line(g))
        for fid in g.falsifiers:
            t = tests.get(fid)
            if t is not None and t.outcome in FAILED_OUTCOMES:
                crashed = " — crashed" if t.outcome == "crashed" else ""
                lines.append(f"      ✗ {fid} ({t.nodeid}){crashed}")
                lines.extend(f"          {ln}" for ln in t.message.splitlines()[:6])
            elif t is not None and t.outcome == "timed-out":
                lines.append(f"      ⏱ {fid} ({t.nodeid}): {t.message}")
            elif t is not None and t.outcome == "not-run":
                lines.append(f"      · {fid} {t.message}")
            elif t is not None and t.outcome == "skipped":
                lines.append(f"      - {fid} skipped: {t.message.splitlines()[0] if t.message else ''}")
        if g.verdict == "EMPTY":
            lines.append("      nothing executed: give this gate a falsifier with kind + target")
    lines.append("")
    ff = f", first failure at {result.first_failure_s:.1f} s" if result.first_failure_s is not None else ""
    lines.append(f"{result.summary()} ({result.wall_s:.1f} s{ff})")
    return "\n".join(lines) + "\n"


def to_dict(result: GateResult) -> dict:
    return {
        "verdict": "pass" if result.exit_code == 0 else "fail",
        "summary": result.summary(),
        "counts": {
            "executed": result.executed,
            "passed": result.passed,
            "failed": result.failed,
            "skipped": result.skipped,
            "inert": result.inert,
            "timed_out": result.timed_out_tests,
            "not_run": result.not_run,
            "ship_blocking_gates": len(result.blocking),
            "ship_blocking_green": sum(1 for g in result.blocking if g.green),
        },
        "wall_s": result.wall_s,
        "first_failure_s": result.first_failure_s,
        "timeout_s": result.timeout_s,
        "timed_out": result.timed_out,
        "crash": result.crash,
        "gates": [
            {**asdict(g), "falsifiers": list(g.falsifiers), "missing": list(g.missing)} for g in result.gates
        ],
        "tests": [asdict(t) for t in result.tests],
        "pytest_exit": result.pytest_exit,
        "command": list(result.command),
    }


def render_json(result: GateResult) -> str:
    return json.dumps(to_dict(result), indent=2, sort_keys=True) + "\n"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def render_junit(result: GateResult) -> str:
    tests = {t.falsifier: t for t in result.tests}
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="pv gate" tests="{result.executed + result.skipped}" '
        f'failures="{result.failed}" time="{result.wall_s:.3f}">',
    ]
    for g in result.gates:
        out.append(
            f'  <testsuite name={quoteattr(g.id)} tests="{g.ran + g.skipped}" failures="{g.failed}" '
            f'skipped="{g.skipped}">'
        )
        out.append(
            f'    <properties><property name="binds_to" value={quoteattr(g.binds_to)}/>'
            f'<property name="verdict" value={quoteattr(g.verdict)}/></properties>'
        )
        for fid in g.falsifiers:
            t = tests.get(fid)
            if t is None:
                continue
            out.append(
                f'    <testcase classname={quoteattr(g.id)} name={quoteattr(fid)} time="{t.duration_s:.3f}">'
            )
            if t.outcome in FAILED_OUTCOMES:
                out.append(
                    f"      <failure message={quoteattr(_first_line(t.message) or t.outcome)}>"
                    f"{escape(t.message)}</failure>"
                )
            elif t.outcome == "timed-out":
                out.append(f'      <error message={quoteattr(t.message)} type="timeout"/>')
            elif t.outcome in ("skipped", "not-run"):
                out.append(f"      <skipped message={quoteattr(t.message)}/>")
            out.append("    </testcase>")
        if g.verdict == "EMPTY":
            out.append(
                f'    <testcase classname={quoteattr(g.id)} name="(no executable falsifier)">'
                '<failure message="EMPTY: nothing executed"/></testcase>'
            )
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _gh(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render_github(result: GateResult) -> str:
    tests = {t.falsifier: t for t in result.tests}
    lines = []
    for g in result.gates:
        if g.verdict == "PASS":
            continue
        level = "error" if g.ship_blocking else "warning"
        detail = (
            "; ".join(
                f"{f}: {tests[f].message.splitlines()[0] if tests[f].message else tests[f].outcome}"
                for f in g.falsifiers
                if f in tests and tests[f].outcome in (*FAILED_OUTCOMES, "timed-out")
            )
            or "no falsifier executed"
        )
        lines.append(
            f"::{level} title={g.id} {g.verdict}::{_gh(f'{g.id} ({g.binds_to}) {g.verdict}: {detail}')}"
        )
    lines.append(result.summary())
    return "\n".join(lines) + "\n"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def render_sarif(result: GateResult) -> str:
    """SARIF 2.1.0: one result per falsifier that failed, crashed or timed out (ruleId = its id, at its
    line in the contract), and one per red gate none of whose falsifiers failed (EMPTY, STOPPED,
    TIMEOUT; ruleId = the gate id, at the gate's line). Not-run falsifiers are no result of their own:
    the run's properties carry the full denominators."""
    from pv.reporters.sarif import docs_uri

    tests = {t.falsifier: t for t in result.tests}
    gates_of: dict[str, list] = {}
    for g in result.gates:
        for f in g.falsifiers:
            gates_of.setdefault(f, []).append(g)
    rules: dict[str, dict] = {}
    results = []

    def location(eid: str) -> list[dict]:
        where = result.locations.get(eid)
        if where is None:
            return []
        uri, line = where
        return [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}]

    def add(rule_id: str, summary: str, level: str, text: str, props: dict) -> None:
        if rule_id not in rules:
            rules[rule_id] = {
                "id": rule_id,
                "shortDescription": {"text": summary},
                "defaultConfiguration": {"level": level},
            }
            help_uri = docs_uri("falsifiers")
            if help_uri:
                rules[rule_id]["helpUri"] = help_uri
        entry = {"ruleId": rule_id, "level": level, "message": {"text": text}, "properties": props}
        if location(rule_id):
            entry["locations"] = location(rule_id)
        results.append(entry)

    for t in result.tests:
        if t.outcome not in (*FAILED_OUTCOMES, "timed-out"):
            continue
        owners = gates_of.get(t.falsifier, [])
        level = "error" if any(g.ship_blocking for g in owners) else "warning"
        gate_ids = [g.id for g in owners]
        add(
            t.falsifier,
            f"falsifier of {', '.join(gate_ids) or 'no gate'}",
            level,
            f"{t.falsifier} {t.outcome} (gates {', '.join(gate_ids)}): {t.message or t.outcome}",
            {"outcome": t.outcome, "gates": gate_ids, "nodeid": t.nodeid, "duration_s": t.duration_s},
        )
    for g in result.gates:
        if g.green or any(
            tests.get(f) and tests[f].outcome in (*FAILED_OUTCOMES, "timed-out") for f in g.falsifiers
        ):
            continue
        why = {"EMPTY": "no falsifier executed", "STOPPED": f"{g.not_run} falsifier(s) not run"}.get(
            g.verdict, g.verdict
        )
        add(
            g.id,
            f"ship-blocking gate bound to {g.binds_to}" if g.ship_blocking else f"gate bound to {g.binds_to}",
            "error" if g.ship_blocking else "warning",
            f"{g.id} ({g.binds_to}) {g.verdict}: {why}",
            {"verdict": g.verdict, "binds_to": g.binds_to},
        )
    driver = {"name": "pv gate", "version": __version__, "rules": list(rules.values())}
    info = docs_uri("cli")
    if info:
        driver["informationUri"] = info
    run = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": not result.crash and not result.timed_out}],
        "results": results,
        "properties": {
            "verdict": "pass" if result.exit_code == 0 else "fail",
            "summary": result.summary(),
            "counts": to_dict(result)["counts"],
        },
    }
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


RENDERERS = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "github": render_github,
    "sarif": render_sarif,
}
