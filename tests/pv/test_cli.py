"""The `pv` CLI end to end through click's CliRunner: every command, exit code and output format."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from pv.cli import cli
from pv.errors import ConfigError

REGISTRY = """\
schema: pv/v1
id: C-ACCEPTANCE
version: 1.0.0
status: active
kind: acceptance-registry
summary: The acceptance criteria gates bind to.
changelog:
  - {version: 1.0.0, date: 2026-11-20, summary: First version.}
acceptance_criteria:
  - {id: AC-MODEL-001, statement: Logits have the vocabulary's width.}
invariants:
  - id: INV-ACCEPTANCE-001
    statement: Every acceptance criterion id is unique.
"""

MODEL = """\
schema: pv/v1
id: C-MODEL
version: 1.1.0
status: active
kind: model-family
summary: The decoder maps token ids to next-token logits.
depends_on: [C-ACCEPTANCE]
changelog:
  - {version: 1.1.0, date: 2026-11-25, summary: Adds INV-MODEL-002.}
  - {version: 1.0.0, date: 2026-11-20, summary: First version.}
invariants:
  - id: INV-MODEL-001
    statement: logits.shape == (B, T, vocab_size) for every batch.
  - id: INV-MODEL-002
    statement: Token ids at or above vocab_size raise, never wrap.
gates:
  - id: GATE-MODEL-001
    rule: Logits are vocabulary-wide.
    enforces: [INV-MODEL-001]
    binds_to: AC-MODEL-001
    ship_blocking: false
    falsifiers: [FALSIFY-MODEL-001]
falsifiers:
  - id: FALSIFY-MODEL-001
    attacks: [INV-MODEL-001]
    description: Random batches must give logits of width vocab_size.
  - id: FALSIFY-MODEL-002
    attacks: [INV-MODEL-002]
    description: An id equal to vocab_size must raise.
"""

# The "done when" breakages: (name, old text, new text); the culprit is the new text's line.
BREAKAGES = [
    ("unknown-key", "summary: The decoder", "sumary: The decoder"),
    ("duplicate-invariant-id", "  - id: INV-MODEL-002\n", "  - id: INV-MODEL-001\n"),
    ("gate-unknown-ac", "binds_to: AC-MODEL-001", "binds_to: AC-MODEL-404"),
    ("falsifier-unknown-invariant", "attacks: [INV-MODEL-002]", "attacks: [INV-MODEL-404]"),
    ("non-semver-version", "version: 1.1.0\nstatus", "version: 1.1\nstatus"),
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with two valid contracts; the cwd for the test."""
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\ncontracts = ["contracts"]\n', encoding="utf-8")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "acceptance.yaml").write_text(REGISTRY, encoding="utf-8")
    (tmp_path / "contracts" / "model.yaml").write_text(MODEL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


def pv(runner: CliRunner, *args: str):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def break_model(project: Path, old: str, new: str) -> int:
    """Apply one breakage to model.yaml; return the 1-based line of the culprit."""
    assert old in MODEL
    text = MODEL.replace(old, new, 1)
    if old == "  - id: INV-MODEL-002\n":  # the duplicate is the second occurrence
        line = text.splitlines().index(
            "  - id: INV-MODEL-001", text.splitlines().index("  - id: INV-MODEL-001") + 1
        )
    else:
        line = next(i for i, ln in enumerate(text.splitlines()) if new.split("\n")[0] in ln)
    (project / "contracts" / "model.yaml").write_text(text, encoding="utf-8")
    return line + 1


# ---- validate: exit codes ---------------------------------------------------------------------------


def test_valid_set_passes_with_denominators(runner: CliRunner, project: Path) -> None:
    res = pv(runner, "validate", "contracts")
    assert res.exit_code == 0, res.output
    verdict = res.stdout.splitlines()[-1]
    assert verdict.startswith(
        "PASS 2 contracts (3 invariants, 1 gate [0 ship-blocking], 2 falsifiers [0 executable])"
    )
    assert "error" not in res.stdout.replace("0 errors", "")


def test_default_paths_come_from_config(runner: CliRunner, project: Path) -> None:
    res = pv(runner, "validate")
    assert res.exit_code == 0, res.output
    assert "PASS 2 contracts" in res.stdout


def test_default_paths_missing_is_usage_error(runner: CliRunner, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.pv]\ncontracts = ["nowhere"]\n', encoding="utf-8")
    res = pv(runner, "validate")
    assert res.exit_code == 2
    assert "nowhere" in res.stderr and "Traceback" not in res.output


@pytest.mark.parametrize("pattern", ["contracts/*.yml", "nothing/**/*.yaml", "missing.yaml"])
def test_nothing_matched_is_exit_2(runner: CliRunner, project: Path, pattern: str) -> None:
    res = pv(runner, "validate", pattern)
    assert res.exit_code == 2
    assert res.stderr.startswith("pv: error:") and "Traceback" not in res.output
    assert res.stdout == ""


def test_globs_are_expanded_by_pv(runner: CliRunner, project: Path) -> None:
    (project / "contracts" / "sub").mkdir()
    os.replace(project / "contracts" / "model.yaml", project / "contracts" / "sub" / "model.yaml")
    res = pv(runner, "validate", "contracts/**/*.yaml")
    assert res.exit_code == 0, res.output
    assert "2 contracts" in res.stdout


def test_empty_file_is_a_finding_not_a_pass(runner: CliRunner, project: Path) -> None:
    (project / "contracts" / "empty.yaml").write_text("", encoding="utf-8")
    res = pv(runner, "validate", "contracts")
    assert res.exit_code == 1
    assert "contracts/empty.yaml" in res.stdout
    assert res.stdout.splitlines()[-1].startswith("FAIL")


def test_only_empty_file_fails(runner: CliRunner, project: Path) -> None:
    (project / "e.yaml").write_text("# only a comment\n", encoding="utf-8")
    res = pv(runner, "validate", "e.yaml")
    assert res.exit_code == 1
    assert "FAIL 0 contracts in 1 file" in res.stdout


def test_strict_fails_on_warnings_only(runner: CliRunner, project: Path) -> None:
    # A stale changelog date order or the like is a warning; we take whatever warning pv reports for
    # a prose-only contract and check that --strict alone flips the exit code.
    res = pv(runner, "validate", "--format", "json", "contracts")
    doc = json.loads(res.stdout)
    if doc["counts"]["warnings"] == 0:
        pytest.skip("the valid fixture set raises no warning under the current rules")
    assert res.exit_code == 0
    assert pv(runner, "validate", "--strict", "contracts").exit_code == 1


def test_bad_flag_is_exit_2(runner: CliRunner, project: Path) -> None:
    assert pv(runner, "validate", "--format", "xml", "contracts").exit_code == 2
    assert pv(runner, "validate", "--jobs", "0", "contracts").exit_code == 2


def test_config_error_is_exit_2_without_traceback(runner: CliRunner, project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.pv\n", encoding="utf-8")
    res = pv(runner, "validate", "contracts")
    assert res.exit_code == ConfigError.exit_code == 2
    assert "pyproject.toml" in res.stderr and "Traceback" not in res.output


def test_internal_error_is_short_unless_debug(
    runner: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pv.validate as pv_validate

    def boom(*a, **k):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(pv_validate, "validate_paths", boom)
    res = pv(runner, "validate", "contracts")
    assert res.exit_code == 2
    assert "internal error" in res.stderr and "please report" in res.stderr and "Traceback" not in res.output
    with pytest.raises(ZeroDivisionError):
        pv(runner, "--debug", "validate", "contracts")


# ---- validate: the "done when" scenario in every format ------------------------------------------


def _culprit(fmt: str, out: str, line: int) -> bool:
    """Does the output name contracts/model.yaml at `line` as an error, in this format's terms?"""
    path = "contracts/model.yaml"
    if fmt == "text":
        return any(ln.startswith(f"{path}:{line}:") and " error " in ln for ln in out.splitlines())
    if fmt == "json":
        return any(
            f["path"] == path and f["line"] == line and f["severity"] == "error"
            for f in json.loads(out)["findings"]
        )
    if fmt == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        return any(
            r["level"] == "error"
            and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path
            and r["locations"][0]["physicalLocation"].get("region", {}).get("startLine") == line
            for r in results
        )
    if fmt == "github":
        return any(ln.startswith(f"::error file={path},line={line},") for ln in out.splitlines())
    if fmt == "junit":
        root = ET.fromstring(out)
        case = root.find(f"testsuite/testcase[@name='{path}']")
        failure = case.find("failure") if case is not None else None
        return failure is not None and f"{path}:{line}:" in failure.text
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
@pytest.mark.parametrize(("name", "old", "new"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_breakage_named_with_file_and_line(
    runner: CliRunner, project: Path, fmt: str, name: str, old: str, new: str
) -> None:
    line = break_model(project, old, new)
    res = pv(runner, "validate", "--format", fmt, "contracts")
    assert res.exit_code == 1, res.output
    assert _culprit(fmt, res.stdout, line), f"{name}: line {line} not named in\n{res.stdout}"


# ---- validate: output, formats ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "text"])
def test_output_file_is_written_whole(runner: CliRunner, project: Path, fmt: str) -> None:
    res = pv(runner, "validate", "--format", fmt, "--output", "report.out", "contracts")
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert "PASS 2 contracts" in res.stderr  # the verdict still reaches the log
    body = (project / "report.out").read_text(encoding="utf-8")
    if fmt in ("json", "sarif"):
        json.loads(body)
    elif fmt == "junit":
        ET.fromstring(body)
    assert [p.name for p in project.iterdir() if p.name.startswith(".report.out")] == []


def test_output_is_atomic_on_failure(
    runner: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "report.json").write_text("previous", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    res = pv(runner, "validate", "--no-cache", "--format", "json", "--output", "report.json", "contracts")
    assert res.exit_code == 2 and "No space left" in res.stderr
    assert (project / "report.json").read_text(encoding="utf-8") == "previous"  # untouched
    assert sorted(p.name for p in project.iterdir()) == ["contracts", "pyproject.toml", "report.json"]


def test_output_into_missing_directory_is_exit_2(runner: CliRunner, project: Path) -> None:
    res = pv(runner, "validate", "--output", "no/such/dir/r.txt", "contracts")
    assert res.exit_code == 2 and "does not exist" in res.stderr


def test_github_step_summary_is_appended(
    runner: CliRunner, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_model(project, *BREAKAGES[2][1:])
    summary = project / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    res = pv(runner, "validate", "--format", "github", "contracts")
    assert res.exit_code == 1
    md = summary.read_text(encoding="utf-8")
    assert md.startswith("earlier step\n") and "AC-MODEL-404" in md and "FAIL 2 contracts" in md


def test_quiet_pass_prints_nothing(runner: CliRunner, project: Path) -> None:
    res = pv(runner, "validate", "-q", "contracts")
    assert res.exit_code == 0 and res.stdout == ""


def test_no_cache_and_jobs_give_the_same_report(runner: CliRunner, project: Path) -> None:
    break_model(project, *BREAKAGES[0][1:])
    a = pv(runner, "validate", "--format", "json", "--no-cache", "contracts")
    b = pv(runner, "validate", "--format", "json", "--jobs", "2", "contracts")
    c = pv(runner, "validate", "--format", "json", "contracts")  # warm cache, if any
    strip = lambda r: {**json.loads(r.stdout), "counts": {}}  # noqa: E731 (cached_files may differ)
    assert a.exit_code == b.exit_code == c.exit_code == 1
    assert strip(a) == strip(b) == strip(c)


# ---- schema, rules, explain, new ---------------------------------------------------------------------


def test_schema_prints_the_packaged_schema(runner: CliRunner, project: Path) -> None:
    res = pv(runner, "schema")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["title"].startswith("pv contract") and doc["properties"]["schema"]["const"] == "pv/v1"
    assert pv(runner, "schema", "--output", "s.json").exit_code == 0
    assert json.loads((project / "s.json").read_text(encoding="utf-8")) == doc


def test_rules_lists_the_registry(runner: CliRunner) -> None:
    from pv.rules.registry import all_rules

    res = pv(runner, "rules")
    assert res.exit_code == 0
    for rule in all_rules():
        assert rule.id in res.stdout and rule.name in res.stdout
    rows = json.loads(pv(runner, "rules", "--format", "json").stdout)
    assert [r["id"] for r in rows] == [r.id for r in all_rules()]
    assert set(rows[0]) >= {"id", "name", "severity", "summary"}


def test_explain_by_id_and_name(runner: CliRunner) -> None:
    from pv.rules.registry import all_rules

    rule = all_rules()[0]
    by_id = pv(runner, "explain", rule.id.lower())
    by_name = pv(runner, "explain", rule.name)
    assert by_id.exit_code == by_name.exit_code == 0
    assert by_id.stdout == by_name.stdout
    assert rule.explanation.strip().splitlines()[0] in by_id.stdout


def test_explain_unknown_suggests(runner: CliRunner) -> None:
    from pv.rules.registry import all_rules

    rule = all_rules()[0]
    res = pv(runner, "explain", rule.name[:-1] + "x")
    assert res.exit_code == 2
    assert "Did you mean" in res.stderr and rule.name in res.stderr
    assert "Did you mean" not in pv(runner, "explain", "zzzzzz").stderr


def test_new_writes_a_starter_that_validates(runner: CliRunner, project: Path) -> None:
    res = pv(runner, "new", "C-TOKENIZER-BPE", "--kind", "tokenizer")
    assert res.exit_code == 0, res.output
    path = project / "contracts" / "tokenizer-bpe.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    assert "id: C-TOKENIZER-BPE" in text and "kind: tokenizer" in text
    check = pv(runner, "validate", "--format", "json", str(path))
    doc = json.loads(check.stdout)
    assert check.exit_code == 0, check.stdout
    # The one documented warning: its falsifier is prose until it names a kind and a target.
    assert {(f["severity"], f["rule_name"]) for f in doc["findings"]} == {("warning", "inert-contract")}


def test_new_schema_comment_points_at_the_schema(runner: CliRunner, tmp_path: Path, monkeypatch) -> None:
    import pv as pv_pkg
    from pv.commands import new as new_cmd

    root = Path(pv_pkg.__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    out = tmp_path / "x.yaml"  # outside the project: a copy of the schema beside it, never a URL
    assert pv(runner, "new", "C-X", "--kind", "data", "-o", str(out)).exit_code == 0
    first = out.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=.schema/contract-v1.json"
    assert (tmp_path / ".schema" / "contract-v1.json").read_text(encoding="utf-8") == new_cmd._schema_text()


def test_new_refuses_to_overwrite(runner: CliRunner, project: Path) -> None:
    target = project / "contracts" / "model.yaml"
    res = pv(runner, "new", "C-MODEL", "--kind", "model-family", "-o", str(target))
    assert res.exit_code == 2 and "already exists" in res.stderr
    assert target.read_text(encoding="utf-8") == MODEL


@pytest.mark.parametrize(
    ("cid", "kind", "hint"), [("c-tok_bpe", "tokenizer", "C-TOK-BPE"), ("C-A", "Tok", "")]
)
def test_new_rejects_bad_id_or_kind(runner: CliRunner, project: Path, cid: str, kind: str, hint: str) -> None:
    res = pv(runner, "new", cid, "--kind", kind)
    assert res.exit_code == 2 and hint in res.stderr
    assert sorted(p.name for p in (project / "contracts").iterdir()) == ["acceptance.yaml", "model.yaml"]


def test_version_and_help(runner: CliRunner) -> None:
    import pv as pv_pkg

    res = pv(runner, "--version")
    assert res.exit_code == 0 and pv_pkg.__version__ in res.stdout
    helptext = pv(runner, "--help").stdout
    for name in ("validate", "schema", "rules", "explain", "new"):
        assert name in helptext
    assert pv(runner, "valdate").exit_code == 2


def test_unknown_rule_message_names_the_rules_command() -> None:
    from pv.rules.registry import get_rule

    with pytest.raises(KeyError) as err:
        get_rule("PV1O1")
    assert "Did you mean 'PV101'" in str(err.value) and "`pv rules` lists every rule" in str(err.value)
