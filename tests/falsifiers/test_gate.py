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


def test_sarif_names_each_failed_falsifier_at_its_contract_line(demo):
    _, _, result = demo
    run = json.loads(RENDERERS["sarif"](result))["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    # The failed falsifier, and the gate that failed without a failing falsifier (EMPTY); nothing else.
    assert set(by_rule) == {"FALSIFY-DEMO-LIMIT", "GATE-DEMO-EMPTY"}
    limit = by_rule["FALSIFY-DEMO-LIMIT"]
    assert limit["level"] == "error" and "contract pins 3" in limit["message"]["text"]
    assert limit["properties"]["gates"] == ["GATE-DEMO-RED"]  # the selected gates that list it
    where = limit["locations"][0]["physicalLocation"]
    line = next(i for i, ln in enumerate(CONTRACT.splitlines(), 1) if "id: FALSIFY-DEMO-LIMIT" in ln)
    assert where == {"artifactLocation": {"uri": "contracts/demo.yaml"}, "region": {"startLine": line}}
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == set(by_rule)
    assert run["properties"]["verdict"] == "fail" and run["properties"]["counts"]["failed"] == 1
    assert "helpUri" not in json.dumps(run)  # no documentation URL declared: no guessed site


def test_xdist_only_when_installed(monkeypatch, demo):
    import pv.gate as gate_mod

    monkeypatch.setattr(gate_mod.os, "sched_getaffinity", lambda _pid: set(range(8)), raising=False)
    monkeypatch.setattr(gate_mod, "xdist_available", lambda: True)
    assert gate_mod.default_jobs(40) == 2
    monkeypatch.setattr(gate_mod, "xdist_available", lambda: False)
    assert gate_mod.default_jobs(40) == 0  # never `-n` without pytest-xdist (that was exit 2)
    config, env, _ = demo
    with pytest.raises(UsageError, match="needs pytest-xdist"):
        run_gate(config, jobs=2, env=env)


# ── live results, a crash, a timeout ─────────────────────────────────────────────────────────────────
LIVE = """\
schema: pv/v1
id: C-LIVE
version: 1.0.0
status: active
kind: tool
summary: Live.
changelog:
  - {version: 1.0.0, date: 2026-01-01, summary: First.}
invariants:
  - {id: INV-LIVE-001, statement: Values hold.}
gates:
  - {id: GATE-LIVE-FIRST, rule: r, enforces: [INV-LIVE-001], binds_to: AC-LIVE, ship_blocking: true,
     falsifiers: [FALSIFY-LIVE-A]}
  - {id: GATE-LIVE-REST, rule: r, enforces: [INV-LIVE-001], binds_to: AC-LIVE, ship_blocking: true,
     falsifiers: [FALSIFY-LIVE-B, FALSIFY-LIVE-C, FALSIFY-LIVE-D]}
falsifiers:
  - {id: FALSIFY-LIVE-A, attacks: [INV-LIVE-001], description: quick, kind: constant-matches,
     target: "live:quick", params: {expected: 1, call: {}}}
  - {id: FALSIFY-LIVE-B, attacks: [INV-LIVE-001], description: slow, kind: constant-matches,
     target: "live:slow", params: {expected: 1, call: {}}}
  - {id: FALSIFY-LIVE-C, attacks: [INV-LIVE-001], description: dies or hangs, kind: constant-matches,
     target: "live:trouble", params: {expected: 1, call: {}}}
  - {id: FALSIFY-LIVE-D, attacks: [INV-LIVE-001], description: never reached, kind: constant-matches,
     target: "live:quick", params: {expected: 1, call: {}}}
"""

LIVE_CODE = """\
import os
import signal
import time


def quick():
    return 1


def slow():
    time.sleep(1.5)
    return 1


def trouble():
    if os.environ.get("LIVE_TROUBLE") == "hang":
        time.sleep(600)
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
"""


def _live_project(root):
    (root / "contracts").mkdir()
    (root / "contracts" / "live.yaml").write_text(LIVE)
    (root / "live.py").write_text(LIVE_CODE)
    (root / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["live"]\n')
    generate([root / "contracts"], root / "falsifiers/generated", target_packages=("live",), root=root)
    return load_config(root)


def test_a_killed_pytest_keeps_earned_verdicts_and_names_the_dying_test(tmp_path):
    config = _live_project(tmp_path)
    events = []
    result = run_gate(config, jobs=0, on_event=events.append)
    outcomes = {t.falsifier: t.outcome for t in result.tests}
    assert outcomes == {
        "FALSIFY-LIVE-A": "passed",
        "FALSIFY-LIVE-B": "passed",
        "FALSIFY-LIVE-C": "crashed",
        "FALSIFY-LIVE-D": "not-run",
    }
    assert {g.id: g.verdict for g in result.gates} == {"GATE-LIVE-FIRST": "PASS", "GATE-LIVE-REST": "FAIL"}
    assert result.exit_code == 1 and result.crash.startswith("killed by SIGKILL")
    assert "pytest died (killed by SIGKILL — out of memory?) while running FALSIFY-LIVE-C: 1 not run" in (
        result.summary()
    )
    # Streamed, not collected at the end: A's verdict and its gate's arrived while B still slept.
    ends = {e.falsifier: e for e in events if e.kind == "end"}
    first_gate = next(e for e in events if e.kind == "gate" and e.verdict.id == "GATE-LIVE-FIRST")
    assert ends["FALSIFY-LIVE-A"].elapsed_s < ends["FALSIFY-LIVE-B"].elapsed_s - 1.0
    assert events.index(first_gate) < events.index(ends["FALSIFY-LIVE-B"])
    assert [e.kind for e in events][-1] == "done" and events[0].kind == "plan" and events[0].total == 4
    text = RENDERERS["text"](result)
    assert "✗ FALSIFY-LIVE-C" in text and "crashed" in text and "FALSIFY-LIVE-D not run: pytest died" in text


@pytest.mark.slow
def test_under_xdist_a_dead_worker_is_a_crashed_falsifier_and_the_gate_still_ends(tmp_path):
    pytest.importorskip("xdist")
    config = _live_project(tmp_path)
    result = run_gate(config, jobs=2, timeout=300.0)
    outcomes = {t.falsifier: t.outcome for t in result.tests}
    # xdist replaces the dead worker and runs the rest; then it may hang on shutdown, which the gate
    # ends once every verdict is in (LINGER_S) instead of waiting for --timeout.
    assert outcomes == {
        "FALSIFY-LIVE-A": "passed",
        "FALSIFY-LIVE-B": "passed",
        "FALSIFY-LIVE-C": "crashed",
        "FALSIFY-LIVE-D": "passed",
    }
    assert not result.timed_out and result.exit_code == 1
    crashed = next(t for t in result.tests if t.outcome == "crashed")
    assert "crashed while running" in crashed.message


def test_timeout_kills_the_run_and_reports_what_timed_out(tmp_path):
    config = _live_project(tmp_path)
    # 20 s: room for pytest's start-up and A, B on a loaded machine; C then sleeps until killed.
    result = run_gate(config, jobs=0, env={"LIVE_TROUBLE": "hang"}, timeout=20.0)
    outcomes = {t.falsifier: t.outcome for t in result.tests}
    assert outcomes == {
        "FALSIFY-LIVE-A": "passed",
        "FALSIFY-LIVE-B": "passed",
        "FALSIFY-LIVE-C": "timed-out",
        "FALSIFY-LIVE-D": "not-run",
    }
    assert result.timed_out and result.exit_code == 1 and result.wall_s < 20.0 + 2 * 5.0
    assert {g.id: g.verdict for g in result.gates} == {"GATE-LIVE-FIRST": "PASS", "GATE-LIVE-REST": "TIMEOUT"}
    assert result.summary().endswith("timed out after 20s: 1 timed out, 1 not run")
    suites = ET.fromstring(RENDERERS["junit"](result))
    assert suites.find(".//testcase[@name='FALSIFY-LIVE-C']/error").get("type") == "timeout"


def test_cli_gate_timeout_and_live_progress(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pv.cli import cli

    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "demo.yaml").write_text(CONTRACT)
    (tmp_path / "demo.py").write_text("ANSWER = 42\nLIMIT = 3\n")
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["demo"]\n')
    generate(
        [tmp_path / "contracts"], tmp_path / "falsifiers/generated", target_packages=("demo",), root=tmp_path
    )
    monkeypatch.chdir(tmp_path)
    bad = CliRunner().invoke(cli, ["gate", "--timeout", "soon"])
    assert bad.exit_code == 2 and "--timeout 'soon' is not a duration" in bad.output
    res = CliRunner().invoke(cli, ["gate", "--gate", "GATE-DEMO-GREEN", "--timeout", "5m", "-j", "0"])
    assert res.exit_code == 0, res.output
    # CliRunner's stderr is not a terminal: plain lines, no status line rewritten with \r.
    assert (
        "  PASS    FALSIFY-DEMO-ANSWER" in res.output
        and "PASS    GATE-DEMO-GREEN → AC-DEMO: 1/1" in res.output
    )
    assert "\r" not in res.output


def test_live_progress_lines_and_tty_status():
    import io

    from pv.gate import GateEvent, GateVerdict, TestOutcome
    from pv.gate_progress import LiveProgress

    outcome = TestOutcome("FALSIFY-X-1", "t.py::test_x", "passed", 0.1, 1.25)
    verdict = GateVerdict("GATE-X", "C-X", "AC-X", True, "PASS", ("FALSIFY-X-1",), 1, 1, 0, 0, 0)
    feed = [
        GateEvent("plan", 0.0, total=1),
        GateEvent("start", 0.2, falsifier="FALSIFY-X-1"),
        GateEvent("tick", 0.7),
        GateEvent("end", 1.4, falsifier="FALSIFY-X-1", outcome=outcome),
        GateEvent("gate", 1.4, verdict=verdict),
        GateEvent("done", 1.5),
    ]
    for tty in (False, True):
        out = io.StringIO()
        show = LiveProgress(out, tty=tty)
        for ev in feed:
            show(ev)
        text = out.getvalue()
        assert "  PASS    FALSIFY-X-1    1.25 s\n" in text and "PASS    GATE-X → AC-X: 1/1 passed\n" in text
        assert ("\r\033[K" in text) is tty
        if tty:
            assert "[0/1] 0 passed, 0 failed, 0 skipped · 0:00 · running FALSIFY-X-1" in text
            assert text.endswith("\r\033[K")  # the status line is cleared before the report
