"""Reporters: snapshots of one fixed report per format, plus the structure each format promises."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from pv.findings import Counts, Finding, Location, Report, Severity
from pv.reporters import REPORTERS, github, junit, sarif, text
from pv.rules.registry import Rule

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("PV_UPDATE_SNAPSHOTS") == "1"

RULES = (
    Rule(
        "PV004", "yaml-syntax", Severity.ERROR, "Not well-formed YAML.", "## What it does\nParses.", "Fix it."
    ),
    Rule(
        "PV101",
        "unknown-key",
        Severity.ERROR,
        "A key the schema lacks.",
        "## What it does\nKeys.",
        "Remove it.",
    ),
    Rule("PV402", "changelog-gap", Severity.WARNING, "Changelog misses a version.", "Gaps.", "Add it."),
    Rule("PV501", "inert-contract", Severity.INFO, "No executable falsifier.", "Inert.", "Add kind+target."),
)


def _f(rule: int, msg: str, path: str, line: int, col: int, fix: str = "", cid: str = "") -> Finding:
    r = RULES[rule]
    return Finding(r.id, r.name, r.severity, msg, Location(path, line, col), fix, cid)


FINDINGS = (
    _f(
        1,
        "unknown key 'invariant' (did you mean 'invariants'?)",
        "contracts/model.yaml",
        12,
        1,
        "Rename it to 'invariants'.",
        "C-MODEL",
    ),
    _f(2, "changelog lacks 1.1.0, 100% sure: a, b", "contracts/model.yaml", 3, 10, "Add 1.1.0.", "C-MODEL"),
    _f(0, "expected ']' but found <EOF> & \"quotes\"\nsecond line", "contracts/weird, na:me.yaml", 0, 0),
    _f(3, "no executable falsifier", "contracts/tok.yaml", 20, 3, "Add kind and target.", "C-TOK"),
)
REPORT = Report(
    findings=FINDINGS,
    counts=Counts(
        files=4,
        contracts=3,
        invariants=12,
        gates=6,
        ship_blocking_gates=5,
        falsifiers=9,
        executable_falsifiers=8,
        inert_contracts=1,
    ),
    files=("contracts/model.yaml", "contracts/ok.yaml", "contracts/tok.yaml", "contracts/weird, na:me.yaml"),
)
CLEAN = Report(
    findings=(),
    counts=Counts(
        files=2,
        contracts=2,
        invariants=3,
        gates=1,
        ship_blocking_gates=1,
        falsifiers=2,
        executable_falsifiers=2,
    ),
    files=("contracts/a.yaml", "contracts/b.yaml"),
)

EXT = {"text": "txt", "json": "json", "sarif": "sarif.json", "github": "github.txt", "junit": "xml"}


def check_snapshot(name: str, got: str) -> None:
    __tracebackhide__ = True
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}; run with PV_UPDATE_SNAPSHOTS=1 to create it"
    assert got == path.read_text(encoding="utf-8"), f"{name} changed; PV_UPDATE_SNAPSHOTS=1 accepts it"


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_snapshot(fmt: str) -> None:
    got = REPORTERS[fmt](REPORT, rules=RULES)
    check_snapshot(f"report.{EXT[fmt]}", got)


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_every_format_is_deterministic_and_order_independent(fmt: str) -> None:
    shuffled = Report(findings=tuple(reversed(FINDINGS)), counts=REPORT.counts, files=REPORT.files)
    assert REPORTERS[fmt](REPORT, rules=RULES) == REPORTERS[fmt](shuffled, rules=RULES)


# ---- text -------------------------------------------------------------------------------------------


def test_text_lines_and_verdict_denominators() -> None:
    out = text.render(REPORT).splitlines()
    assert out[0] == "contracts/model.yaml:3:10: warning PV402 changelog lacks 1.1.0, 100% sure: a, b"
    assert out[1] == "    fix: Add 1.1.0."
    assert out[-1] == (
        "FAIL 3 contracts in 4 files (12 invariants, 6 gates [5 ship-blocking], "
        "9 falsifiers [8 executable]) · 2 errors, 1 warning, 1 info · 1 inert contract"
    )
    assert "\x1b[" not in "\n".join(out)


def test_text_pass_and_colour_only_on_request() -> None:
    out = text.render(CLEAN)
    assert out == (
        "PASS 2 contracts (3 invariants, 1 gate [1 ship-blocking], 2 falsifiers [2 executable])"
        " · 0 errors, 0 warnings\n"
    )
    assert "\x1b[" in text.render(CLEAN, color=True)


def test_verdict_names_files_in_other_dialects() -> None:
    mixed = Report(
        findings=(), counts=CLEAN.counts, files=CLEAN.files, extra={"dialects": {"pv/v1": 2, "aprender": 3}}
    )
    assert (
        text.render(mixed)
        .rstrip()
        .endswith("· 0 errors, 0 warnings · 3 files in other dialects (aprender 3)")
    )


def test_text_quiet_shows_only_failing_findings_and_nothing_on_pass() -> None:
    out = text.render(REPORT, quiet=True)
    assert "PV402" not in out and "PV501" not in out and "fix:" not in out
    assert "PV101" in out and out.splitlines()[-1].startswith("FAIL")
    assert text.render(CLEAN, quiet=True) == ""


def test_strict_turns_warnings_into_failure() -> None:
    warn_only = Report(findings=(FINDINGS[1],), counts=CLEAN.counts, files=CLEAN.files)
    assert text.render(warn_only).splitlines()[-1].startswith("PASS")
    strict = text.render(warn_only, strict=True).splitlines()[-1]
    assert strict.startswith("FAIL") and strict.endswith("warnings fail under --strict")
    assert json.loads(REPORTERS["json"](warn_only, strict=True))["verdict"] == "fail"


# ---- json -------------------------------------------------------------------------------------------


def test_json_shape() -> None:
    doc = json.loads(REPORTERS["json"](REPORT))
    assert set(doc) >= {"version", "verdict", "counts", "findings"}
    assert doc["verdict"] == "fail" and doc["counts"]["errors"] == 2 and doc["counts"]["contracts"] == 3
    keys = {"rule_id", "rule_name", "severity", "message", "fix", "path", "line", "col", "contract_id"}
    assert all(keys <= set(f) for f in doc["findings"])
    assert doc["findings"][0]["path"] == "contracts/model.yaml" and doc["findings"][0]["line"] == 3


# ---- sarif ------------------------------------------------------------------------------------------

# The parts of the SARIF 2.1.0 schema (OASIS) pv relies on; no full schema is available offline.
SARIF_SUBSET = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "version", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": [
                                                "id",
                                                "name",
                                                "shortDescription",
                                                "fullDescription",
                                                "help",
                                                "defaultConfiguration",
                                            ],
                                            "properties": {
                                                "shortDescription": {"$ref": "#/$defs/msg"},
                                                "fullDescription": {"$ref": "#/$defs/msg"},
                                                "help": {"$ref": "#/$defs/msg"},
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "required": ["level"],
                                                    "properties": {"level": {"$ref": "#/$defs/level"}},
                                                },
                                            },
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": [
                                "ruleId",
                                "ruleIndex",
                                "level",
                                "message",
                                "locations",
                                "partialFingerprints",
                            ],
                            "properties": {
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"$ref": "#/$defs/level"},
                                "message": {"$ref": "#/$defs/msg"},
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {
                                                            "uri": {"type": "string", "pattern": "^[^\\\\]*$"}
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "level": {"enum": ["none", "note", "warning", "error"]},
        "msg": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
    },
}


def test_sarif_structure_and_rule_index() -> None:
    doc = json.loads(sarif.render(REPORT, rules=RULES))
    jsonschema.validate(doc, SARIF_SUBSET)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert "region" not in by_rule["PV004"]["locations"][0]["physicalLocation"]  # line 0: no region
    assert by_rule["PV101"]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 12,
        "startColumn": 1,
    }
    assert by_rule["PV402"]["level"] == "warning" and by_rule["PV501"]["level"] == "note"


def test_sarif_links_only_to_pvs_own_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    # No documentation URL declared: no link at all (SARIF wants absolute URIs; a guessed site is not
    # ours). The explanation travels inline in `help`.
    monkeypatch.setattr(sarif, "_docs_base", lambda: None)
    doc = json.loads(sarif.render(REPORT, rules=RULES))
    driver = doc["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver and all("helpUri" not in r for r in driver["rules"])
    assert all(f"pv explain {r['id']}" in r["help"]["text"] for r in driver["rules"])
    # A declared Documentation project URL: links into its docs/*.md.
    monkeypatch.setattr(sarif, "_docs_base", lambda: "https://example.org/pv/docs")
    driver = json.loads(sarif.render(REPORT, rules=RULES))["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "https://example.org/pv/docs/cli.md"
    assert {r["helpUri"] for r in driver["rules"]} == {"https://example.org/pv/docs/cli.md#pv-explain-rule"}


def test_sarif_paths_are_relative_forward_slash(tmp_path: Path) -> None:
    f = Finding("PV101", "unknown-key", Severity.ERROR, "m", Location(str(tmp_path / "sub" / "a.yaml"), 1, 1))
    doc = json.loads(sarif.render(Report((f,), CLEAN.counts), rules=RULES, root=str(tmp_path)))
    assert (
        doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "sub/a.yaml"
    )
    odd = Finding("PV101", "unknown-key", Severity.ERROR, "m", Location("./c d/x:y#1.yaml", 1, 1))
    doc = json.loads(sarif.render(Report((odd,), CLEAN.counts), rules=RULES))
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "c%20d/x%3Ay%231.yaml"


def test_sarif_fingerprint_is_stable_and_position_free() -> None:
    moved = Finding(
        *[getattr(FINDINGS[0], k) for k in ("rule_id", "rule_name", "severity", "message")],
        Location("contracts/model.yaml", 40, 2),
        FINDINGS[0].fix,
        FINDINGS[0].contract_id,
    )
    assert sarif.fingerprint(moved, "contracts/model.yaml") == sarif.fingerprint(
        FINDINGS[0], "contracts/model.yaml"
    )
    assert sarif.fingerprint(FINDINGS[0], "a.yaml") != sarif.fingerprint(FINDINGS[0], "b.yaml")


# ---- github -----------------------------------------------------------------------------------------


def test_github_escaping() -> None:
    assert github.escape_data("100%\r\nx: a, b") == "100%25%0D%0Ax: a, b"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    lines = github.render(REPORT).splitlines()
    weird = next(line for line in lines if "PV004" in line)
    assert weird.startswith("::error file=contracts/weird%2C na%3Ame.yaml,title=PV004 yaml-syntax::")
    assert "line=" not in weird  # unknown position: no line property
    assert weird.endswith('<EOF> & "quotes"%0Asecond line')
    warn = next(line for line in lines if "PV402" in line)
    assert warn == (
        "::warning file=contracts/model.yaml,line=3,col=10,title=PV402 changelog-gap::"
        "changelog lacks 1.1.0, 100%25 sure: a, b%0Afix: Add 1.1.0."
    )
    assert any(line.startswith("::notice ") for line in lines)
    assert lines[-1].startswith("FAIL 3 contracts")


def test_github_step_summary_lists_all_findings() -> None:
    md = github.render_step_summary(REPORT)
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == len(FINDINGS)
    assert "FAIL 3 contracts" in md
    assert "second line" in md and "\nsecond line" not in md  # newlines folded into <br>
    assert "weird, na:me.yaml" in md


# ---- junit ------------------------------------------------------------------------------------------


def test_junit_structure() -> None:
    root = ET.fromstring(junit.render(REPORT))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "pv validate"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == set(REPORT.files)
    assert suite.get("tests") == "4" and suite.get("failures") == "2"
    assert cases["contracts/ok.yaml"].find("failure") is None
    assert cases["contracts/tok.yaml"].find("failure") is None  # info only
    failure = cases["contracts/model.yaml"].find("failure")
    assert failure is not None and "contracts/model.yaml:12:1" in failure.text
    assert "PV402" in cases["contracts/model.yaml"].find("system-out").text  # warning shown, not failing
    assert ET.fromstring(junit.render(REPORT, strict=True)).find("testsuite").get("failures") == "2"


def test_junit_survives_control_characters() -> None:
    f = Finding(
        "PV003", "invalid-encoding", Severity.ERROR, "NUL \x00 and ESC \x1b <&>", Location("a\x01.yaml", 1, 1)
    )
    root = ET.fromstring(junit.render(Report((f,), Counts(files=1))))
    assert "\\x00" in root.find("testsuite/testcase/failure").text
