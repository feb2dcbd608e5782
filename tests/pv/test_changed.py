"""`pv validate --changed FILES` (what the pre-commit hook runs): the whole [tool.pv].contracts set is
context, only the changed files are reported on, and the rest is counted, never dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pv.cli import cli
from pv.config import load_config
from pv.focus import focus
from pv.validate import validate_paths

REPO = Path(__file__).resolve().parents[2]
TOK, MODEL = "contracts/tokenizer.yaml", "contracts/model.yaml"


def edit(root: Path, file: str, old: str, new: str) -> None:
    p = root / file
    assert old in p.read_text()
    p.write_text(p.read_text().replace(old, new, 1))


def pv(*args: str):
    return CliRunner().invoke(cli, ["validate", "--no-cache", *args], catch_exceptions=False)


@pytest.fixture
def broken_model(good_tree: Path) -> Path:
    """model.yaml has an error of its own (an unknown acceptance criterion); tokenizer.yaml is fine."""
    edit(good_tree, MODEL, "binds_to: AC-MODEL-001", "binds_to: AC-MODEL-404")
    return good_tree


def test_findings_in_unchanged_files_are_counted_not_shown(broken_model: Path) -> None:
    out = pv("--changed", TOK)
    assert out.exit_code == 0, out.output
    assert "AC-MODEL-404" not in out.output
    assert out.output.rstrip().endswith(
        "reporting on 1 of 3 files; 1 finding in 1 other file not shown (1 error, 0 warnings)"
    )
    out = pv("--changed", MODEL)
    assert out.exit_code == 1 and "AC-MODEL-404" in out.output and "reporting on 1 of 3 files" in out.output


def test_references_into_unchanged_contracts_resolve(good_tree: Path) -> None:
    # tokenizer.yaml refers to C-MODEL-FAMILY.vocab_size and AC-TOK-001 in the other files: a check of
    # the changed file alone would report them unknown; with the set as context it is clean...
    alone = pv(TOK)
    assert alone.exit_code == 1 and "PV304" in alone.output
    assert pv("--changed", TOK).exit_code == 0
    # ...and a reference the change breaks is reported in the changed file.
    edit(good_tree, TOK, "binds_to: AC-TOK-001", "binds_to: AC-TOK-009")
    out = pv("--changed", TOK)
    assert out.exit_code == 1 and f"{TOK}:" in out.output and "AC-TOK-009" in out.output


def test_any_spelling_of_the_changed_path(broken_model: Path) -> None:
    for spelled in (f"./{MODEL}", str(broken_model / MODEL), "contracts/../contracts/model.yaml"):
        assert pv("--changed", spelled).exit_code == 1, spelled


def test_json_says_what_was_reported_on(broken_model: Path) -> None:
    doc = json.loads(pv("--changed", TOK, "--format", "json").output)
    assert doc["focus"] == [TOK] and doc["counts"]["not_shown"] == 1 and doc["findings"] == []
    assert doc["counts"]["files"] == 3  # the denominators are the whole set that was checked


def test_a_changed_file_outside_the_set_is_checked_too(good_tree: Path) -> None:
    (good_tree / "extra").mkdir()
    (good_tree / "extra" / "x.yaml").write_text("schema: pv/v1\nid: C-X\n")
    out = pv("--changed", "extra/x.yaml")
    assert out.exit_code == 1 and "extra/x.yaml:" in out.output and "reporting on 1 of 4 files" in out.output


def test_changed_needs_paths(good_tree: Path) -> None:
    out = pv("--changed")
    assert out.exit_code == 2 and "--changed needs the changed files" in out.output


def test_focus_keeps_suppressions_of_the_changed_files_only(broken_model: Path) -> None:
    (broken_model / "pyproject.toml").write_text(
        (broken_model / "pyproject.toml").read_text() + 'ignore = ["PV302"]\n'
    )
    report = validate_paths(["contracts"], config=load_config(broken_model), use_cache=False)
    assert len(report.suppressed) == 1
    assert focus(report, [TOK]).suppressed == () and len(focus(report, [MODEL]).suppressed) == 1


# ---- the hook definition ------------------------------------------------------------------------------


def test_pre_commit_hook_definition() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "pv-validate" and hook["language"] == "python"
    assert hook["entry"].split() == ["pv", "validate", "--changed"]
    assert hook["pass_filenames"] is True and hook["require_serial"] is True
    assert hook["types"] == ["yaml"]
    assert "torch" not in " ".join(hook.get("additional_dependencies", []))
    major, minor, *_ = (int(x) for x in hook["minimum_pre_commit_version"].split("."))
    assert (major, minor) >= (2, 9)
    import re

    files = re.compile(hook["files"])
    assert files.search("contracts/model.yaml") and files.search("contracts/sub/a.yml")
    assert not files.search("docs/contracts.md") and not files.search("src/contracts/x.yaml")
