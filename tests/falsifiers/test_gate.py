"""pv gate end to end on a scratch project: PASS / FAIL / EMPTY verdicts, totals, formats, exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from pv.config import load_config
from pv.errors import UsageError
from pv.gate import GateError, plan, run_gate
from pv.gate_render import RENDERERS
from pv.generate import generate

CONTRACT = """\
schema: pv/v1
id: C-DEMO
version: 1.0.0
status: active
kind: tool
summary: Demo.
changelog:
  - {version: 1.0.0, date: 2026-01-01, summary: First.}
constants: {answer: 42, limit: 3}
invariants:
  - {id: INV-DEMO-001, statement: The answer holds.}
gates:
  - {id: GATE-DEMO-GREEN, rule: r, enforces: [INV-DEMO-001], binds_to: AC-DEMO, ship_blocking: true,
     falsifiers: [FALSIFY-DEMO-ANSWER]}
  - {id: GATE-DEMO-RED, rule: r, enforces: [INV-DEMO-001], binds_to: AC-DEMO, ship_blocking: true,
     falsifiers: [FALSIFY-DEMO-ANSWER, FALSIFY-DEMO-LIMIT]}
  - {id: GATE-DEMO-EMPTY, rule: r, enforces: [INV-DEMO-001], binds_to: AC-DEMO, ship_blocking: true,
     falsifiers: [FALSIFY-DEMO-PROSE]}
  - {id: GATE-DEMO-ADVISORY, rule: r, enforces: [INV-DEMO-001], binds_to: AC-DEMO, ship_blocking: false,
     falsifiers: [FALSIFY-DEMO-LIMIT]}
falsifiers:
  - {id: FALSIFY-DEMO-ANSWER, attacks: [INV-DEMO-001], description: d, kind: constant-matches,
     target: "demo:ANSWER", params: {expected: $answer}}
  - {id: FALSIFY-DEMO-LIMIT, attacks: [INV-DEMO-001], description: d, kind: constant-matches,
     target: "demo:LIMIT", params: {expected: $limit}}
  - {id: FALSIFY-DEMO-PROSE, attacks: [INV-DEMO-001], description: only words}
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    (root / "contracts").mkdir()
    (root / "contracts" / "demo.yaml").write_text(CONTRACT)
    (root / "demo.py").write_text("ANSWER = 42\nLIMIT = 4  # drifted from the contract's 3\n")
    (root / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["demo"]\n')
    config = load_config(root)
    generate([root / "contracts"], root / "falsifiers/generated", target_packages=("demo",), root=root)
    env = {"PYTHONPATH": str(root)}
    return config, env, run_gate(config, jobs=0, env=env)


def test_verdicts_and_totals(demo):
    _, _, result = demo
    verdicts = {g.id: g.verdict for g in result.gates}
    assert verdicts == {"GATE-DEMO-GREEN": "PASS", "GATE-DEMO-RED": "FAIL", "GATE-DEMO-EMPTY": "EMPTY"}
    red = next(g for g in result.gates if g.id == "GATE-DEMO-RED")
    assert (red.ran, red.passed, red.failed, red.skipped) == (2, 1, 1, 0)
    assert result.summary() == (
        "2 falsifiers executed, 1 passed, 1 failed, 0 skipped, 1 inert · 1/3 ship-blocking gates green"
    )
    assert result.exit_code == 1
    assert result.first_failure_s is not None and 0 <= result.first_failure_s <= result.wall_s
    limit = next(t for t in result.tests if t.falsifier == "FALSIFY-DEMO-LIMIT")
    assert limit.outcome == "failed" and "contract pins 3" in limit.message


def test_formats(demo):
    _, _, result = demo
    data = json.loads(RENDERERS["json"](result))
    assert data["verdict"] == "fail" and data["counts"]["failed"] == 1 and data["first_failure_s"] is not None
    assert {t["falsifier"] for t in data["tests"]} == {"FALSIFY-DEMO-ANSWER", "FALSIFY-DEMO-LIMIT"}
    suites = ET.fromstring(RENDERERS["junit"](result))
    assert [s.get("name") for s in suites] == ["GATE-DEMO-GREEN", "GATE-DEMO-RED", "GATE-DEMO-EMPTY"]
    assert "::error title=GATE-DEMO-RED FAIL::" in RENDERERS["github"](result)
    text = RENDERERS["text"](result)
    assert "FAIL  GATE-DEMO-RED → AC-DEMO: 2 ran, 1 passed, 1 failed, 0 skipped" in text
    assert "EMPTY GATE-DEMO-EMPTY" in text


def test_selected_gate_only_and_advisory_gate(demo):
    config, env, _ = demo
    green = run_gate(config, gate_ids=["GATE-DEMO-GREEN"], jobs=0, env=env)
    assert [g.verdict for g in green.gates] == ["PASS"] and green.exit_code == 0
    advisory = run_gate(config, gate_ids=["GATE-DEMO-ADVISORY"], jobs=0, env=env)
    assert advisory.gates[0].verdict == "FAIL" and advisory.exit_code == 1
    # "0/0 ship-blocking gates green" alone read like nothing failed: the selection has a denominator.
    assert advisory.summary().endswith("0/0 ship-blocking gates green · 0/1 selected gates green")
    with pytest.raises(UsageError, match="unknown gate id"):
        run_gate(config, gate_ids=["GATE-NOPE"], env=env)


def test_stale_generated_modules_refuse_to_run(demo, tmp_path):
    config, env, _ = demo
    module = config.root / "falsifiers/generated/test_demo.py"
    original = module.read_text()
    try:
        module.write_text(original + "# hand edit\n")
        with pytest.raises(GateError, match="differ from the contracts"):
            run_gate(config, env=env)
    finally:
        module.write_text(original)


def _scratch(tmp_path, text):
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "demo.yaml").write_text(text)
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["demo"]\n')
    return load_config(tmp_path)


def test_unreadable_contract_cannot_run_the_gate(tmp_path):
    # Exit 2 (the gate could not run), not 1 (a gate failed), and never a traceback.
    config = _scratch(tmp_path, "id: [unclosed\n")
    with pytest.raises(GateError, match=r"cannot run the gate: .*demo.yaml.*cannot read contract") as err:
        run_gate(config, jobs=0)
    assert err.value.exit_code == 2


def test_missing_contract_path_is_a_usage_error(tmp_path):
    config = _scratch(tmp_path, CONTRACT)
    with pytest.raises(UsageError, match="nope: no such file or directory"):
        run_gate(config, jobs=0, contract_paths=[str(tmp_path / "nope")])


def test_malformed_entries_do_not_crash_the_plan(tmp_path):
    # pv gate runs on contracts pv validate may not have seen: a gate that is a string, a gate or
    # prose falsifier without an id, a gate listing a mapping. pv validate reports those; the gate
    # plans around them instead of dying with a TypeError / KeyError.
    broken = CONTRACT.replace(
        "falsifiers:\n  - {id: FALSIFY-DEMO-ANSWER",
        "  - just words\n  - {rule: no id, ship_blocking: true}\n"
        "falsifiers:\n  - {description: prose without an id}\n  - {id: FALSIFY-DEMO-ANSWER",
    ).replace("falsifiers: [FALSIFY-DEMO-ANSWER]}", "falsifiers: [FALSIFY-DEMO-ANSWER, {x: 1}]}")
    assert broken.count("just words") == 1 and "{x: 1}" in broken
    config = _scratch(tmp_path, broken)
    generate(
        [tmp_path / "contracts"], config.path(config.generated_dir), target_packages=("demo",), root=tmp_path
    )
    selected, by_id, _ = plan(config)
    assert [g["id"] for _, g in selected] == ["GATE-DEMO-GREEN", "GATE-DEMO-RED", "GATE-DEMO-EMPTY"]
    assert sorted(by_id) == ["FALSIFY-DEMO-ANSWER", "FALSIFY-DEMO-LIMIT", "FALSIFY-DEMO-PROSE"]
