"""Renderers for `pv gate` results: pure `render(result) -> str`, one per format, picked by name."""

from __future__ import annotations

import json
from dataclasses import asdict
from xml.sax.saxutils import escape, quoteattr

from pv.gate import GateResult


def _gate_line(g) -> str:
    inert = f", {g.inert} inert" if g.inert else ""
    missing = f", undefined: {', '.join(g.missing)}" if g.missing else ""
    missing += f", {g.not_run} not run (stopped after the first failure)" if g.not_run else ""
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
            if t is not None and t.outcome in ("failed", "error"):
                lines.append(f"      ✗ {fid} ({t.nodeid})")
                lines.extend(f"          {ln}" for ln in t.message.splitlines()[:6])
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
            "ship_blocking_gates": len(result.blocking),
            "ship_blocking_green": sum(1 for g in result.blocking if g.green),
        },
        "wall_s": result.wall_s,
        "first_failure_s": result.first_failure_s,
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
            if t.outcome in ("failed", "error"):
                out.append(
                    f"      <failure message={quoteattr(_first_line(t.message) or t.outcome)}>"
                    f"{escape(t.message)}</failure>"
                )
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
                if f in tests and tests[f].outcome in ("failed", "error")
            )
            or "no falsifier executed"
        )
        lines.append(
            f"::{level} title={g.id} {g.verdict}::{_gh(f'{g.id} ({g.binds_to}) {g.verdict}: {detail}')}"
        )
    lines.append(result.summary())
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit, "github": render_github}
