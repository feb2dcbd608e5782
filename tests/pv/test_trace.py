"""pv trace on a small fixture project: one dangling reference, one inert contract, one healthy chain."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from pv.cli import cli
from pv.config import load_config
from pv.trace import DANGLING, INERT, OK, load_trace
from pv.trace_render import render_html, render_markdown

REGISTRY = """\
schema: pv/v1
id: C-ACCEPTANCE
version: 1.0.0
status: active
kind: acceptance-registry
summary: The acceptance criteria.
changelog: [{version: 1.0.0, date: 2026-11-25, summary: First.}]
acceptance_criteria:
  - {id: AC-ROUND, statement: Round trips are lossless.}
  - {id: AC-ORPHAN, statement: Nobody binds to me.}
invariants: []
"""

ROUND = """\
schema: pv/v1
id: C-ROUND
version: 1.0.0
status: active
kind: tokenizer
summary: Round trips.
changelog: [{version: 1.0.0, date: 2026-11-25, summary: First.}]
invariants:
  - {id: INV-RT-001, statement: decode(encode(x)) == x.}
gates:
  - id: GATE-RT-001
    rule: lossless
    enforces: [INV-RT-001]
    binds_to: AC-ROUND
    ship_blocking: true
    falsifiers: [FALSIFY-RT-001, FALSIFY-RT-404]
    evidence:
      - {test: tests/test_rt.py::test_round_trip}
      - {test: tests/test_rt.py::test_gone}
falsifiers:
  - id: FALSIFY-RT-001
    attacks: [INV-RT-001]
    description: random text survives.
    kind: round-trip
    target: pkg.tok:Tok
"""

PROSE = """\
schema: pv/v1
id: C-PROSE
version: 1.0.0
status: active
kind: data
summary: Words only.
changelog: [{version: 1.0.0, date: 2026-11-25, summary: First.}]
invariants:
  - {id: INV-PR-001, statement: shards are disjoint.}
gates:
  - id: GATE-PR-001
    rule: disjoint
    enforces: [INV-PR-001, INV-NOWHERE]
    binds_to: AC-MISSING
    ship_blocking: false
    falsifiers: [FALSIFY-PR-001]
falsifiers:
  - id: FALSIFY-PR-001
    attacks: [INV-PR-001]
    description: someone should check the shards by hand.
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [tool.pv]
        contracts = ["contracts"]
        generated_dir = "gen"
    """)
    )
    c = tmp_path / "contracts"
    c.mkdir()
    (c / "acceptance.yaml").write_text(REGISTRY)
    (c / "round.yaml").write_text(ROUND)
    (c / "prose.yaml").write_text(PROSE)
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "test_round.py").write_text("def test_FALSIFY_RT_001():\n    pass\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_rt.py").write_text("def test_round_trip():\n    pass\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _problems(trace, status):
    return {(p.kind, p.id) for p in trace.problems if p.status == status}


def test_graph_marks_dangling_and_inert(project: Path) -> None:
    trace = load_trace(["contracts"], load_config(project))
    assert trace.contracts == 3
    assert _problems(trace, DANGLING) == {
        ("ac", "AC-ORPHAN"),  # no gate binds to it
        ("ac", "AC-MISSING"),  # binds_to resolves nowhere
        ("invariant", "INV-NOWHERE"),  # enforces resolves nowhere
        ("falsifier", "FALSIFY-RT-404"),  # listed, defined nowhere
        ("test", "tests/test_rt.py::test_gone"),  # evidence names a function the file lacks
    }
    assert _problems(trace, INERT) == {
        ("falsifier", "FALSIFY-PR-001"),
        ("invariant", "INV-PR-001"),
        ("contract", "C-PROSE"),
    }
    test_id = "gen/test_round.py::test_FALSIFY_RT_001"
    assert trace.node("test", test_id).status == OK
    assert ("AC-ROUND", "GATE-RT-001", "INV-RT-001", "FALSIFY-RT-001", test_id) in trace.chains
    assert trace.node("invariant", "INV-RT-001").status == OK
    assert trace.node("ac", "AC-MISSING").location is None


def test_missing_generated_test_is_dangling(project: Path) -> None:
    (project / "gen" / "test_round.py").unlink()
    trace = load_trace(["contracts"], load_config(project))
    node = trace.node("test", "gen/test_round.py::test_FALSIFY_RT_001")
    assert node.status == DANGLING
    assert "pv generate" in node.notes[0]


def test_markdown_lists_every_problem_with_denominators(project: Path) -> None:
    text = render_markdown(load_trace(["contracts"], load_config(project)))
    assert "3 contract(s): 3 acceptance criteria, 2 gates, 3 invariants, 3 falsifiers (1 executable)" in text
    assert "5 dangling, 3 inert" in text
    assert "| ⚠ AC-MISSING (dangling) | GATE-PR-001 |" in text
    assert "○ FALSIFY-PR-001 (inert)" in text
    assert "contracts/prose.yaml:" in text  # problems carry a location


def test_html_is_self_contained_with_warning_nodes(project: Path) -> None:
    page = render_html(load_trace(["contracts"], load_config(project)))
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    for external in ("http://", "https://", "<script", "<link"):
        assert external not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert page.count('stroke="#cf222e"') >= 5  # every dangling node (and edge) in the warning colour
    assert "AC-MISSING" in page


def test_cli_writes_file_and_strict_fails(project: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["trace", "--format", "html", "-o", "trace.html"])
    assert ok.exit_code == 0, ok.output
    assert (project / "trace.html").read_text().startswith("<!DOCTYPE html>")
    strict = runner.invoke(cli, ["trace", "--strict"])
    assert strict.exit_code == 1
    assert "# pv trace" in strict.output


def test_cli_nothing_to_trace_is_an_error(project: Path) -> None:
    result = CliRunner().invoke(cli, ["trace", "nowhere/"])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_cli_paths_are_expanded_like_validate(project: Path) -> None:
    # One expansion (pv.paths) for every command: a glob that matches nothing is exit 2 naming it,
    # hidden folders are skipped, and the same file named twice is traced once.
    runner = CliRunner()
    none = runner.invoke(cli, ["trace", "contracts/*.nope"])
    assert none.exit_code == 2 and "contracts/*.nope: matched no contract files" in none.output
    (project / "contracts" / ".old").mkdir()
    (project / "contracts" / ".old" / "junk.yaml").write_text("id: [unclosed\n")
    both = runner.invoke(cli, ["trace", "contracts", "contracts/*.yaml"])
    assert both.exit_code == 0, both.output
    assert ".old" not in both.output and "not traced" not in both.output


def test_evidence_of_the_wrong_shape_does_not_crash(project: Path) -> None:
    # `evidence: 5` on a gate crashed the trace with a TypeError; pv validate names the shape.
    path = project / "contracts" / "round.yaml"
    text = path.read_text()
    evidence = (
        "    evidence:\n"
        "      - {test: tests/test_rt.py::test_round_trip}\n"
        "      - {test: tests/test_rt.py::test_gone}\n"
    )
    assert evidence in text
    path.write_text(text.replace(evidence, "    evidence: 5\n"))
    result = CliRunner().invoke(cli, ["trace"])
    assert result.exit_code == 0 and "internal error" not in result.output, result.output
    assert "not traced" not in result.output  # still a readable contract, traced as far as it goes


def test_nothing_to_trace_is_not_reported_as_all_backed(tmp_path: Path, monkeypatch) -> None:
    # A contract with no invariants used to read "every invariant has an executable falsifier" and
    # pass --strict: a verdict on empty input.
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "bare.yaml").write_text("schema: pv/v1\nid: C-BARE\nversion: 1.0.0\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["trace", "contracts", "--strict"])
    assert result.exit_code == 1, result.output
    assert "nothing was traced either: these contracts define no invariants" in result.output
    assert "every invariant has" not in result.output
