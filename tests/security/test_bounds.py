"""Bounds and internal errors (issue 11): `max_examples: 1e23` passed validation and ran until killed,
`.inf` was an OverflowError; non-UTF-8 file names, a 300-character id in `pv new` and a trailing
newline in an id ended in tracebacks or odd files; `pv diff OLD NEW` with a non-contract OLD exited 0.
Each is now a clean finding or error with exit 1 or 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pv.cli import cli
from tests.security.conftest import contract

NO_TRACEBACK = ("internal error", "Traceback")


def _clean(res, *codes: int) -> None:
    assert res.exit_code in codes, res.output
    assert not any(t in res.output for t in NO_TRACEBACK), res.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e23", "must be an integer, got float 1e+23"),
        (".inf", "must be an integer, got float inf"),
        ("20000", "20000 is greater than the maximum of 10000"),
        ("100.0", "must be an integer, got float 100.0"),
        ("0", "0 is less than the minimum of 1"),
    ],
)
def test_max_examples_is_bounded(runner, project: Path, value: str, message: str) -> None:
    path = project / "contracts" / "scratch.yaml"
    path.write_text(contract(kind="loss-guard", params="{rule: epoch}") + f"    max_examples: {value}\n")
    validated = runner.invoke(cli, ["validate", "--no-cache"])
    _clean(validated, 1)
    assert message in validated.output and "scratch.yaml:18:" in validated.output
    generated = runner.invoke(cli, ["generate"])
    _clean(generated, 1)
    assert "max_examples must be an integer from 1 to 10000" in generated.output


def test_ids_are_matched_as_whole_strings(runner, project: Path) -> None:
    """`$` accepted a trailing newline, so `id: "C-X\\n"` was a valid id."""
    path = project / "contracts" / "scratch.yaml"
    path.write_text(contract().replace("id: C-SCRATCH", 'id: "C-SCRATCH\\n"'))
    res = runner.invoke(cli, ["validate", "--no-cache"])
    _clean(res, 1)
    assert "PV201 id = 'C-SCRATCH\\n' is not a valid id" in res.output


def test_pv_new_refuses_a_trailing_newline(runner, project: Path) -> None:
    before = sorted(os.listdir(project / "contracts"))
    res = runner.invoke(cli, ["new", "C-X\n", "--kind", "tool"])
    _clean(res, 2)
    assert "is not C-UPPER-KEBAB" in res.output and sorted(os.listdir(project / "contracts")) == before
    res = runner.invoke(cli, ["new", "C-X", "--kind", "tool\n"])
    _clean(res, 2)


def test_pv_new_refuses_a_300_character_id(runner, project: Path) -> None:
    res = runner.invoke(cli, ["new", "C-" + "A" * 298, "--kind", "tool"])
    _clean(res, 2)
    assert "300 characters long" in res.output


def test_an_unwritable_name_is_a_clean_error(runner, project: Path) -> None:
    res = runner.invoke(cli, ["new", "C-X", "--kind", "tool", "-o", "contracts/" + "x" * 300 + ".yaml"])
    _clean(res, 2)
    assert "File name too long" in res.output


def test_pv_new_writes_no_virtualenv_path_into_the_contract(tmp_path: Path, monkeypatch) -> None:
    """An installed pv (its schema under .venv/lib/…/site-packages) used to write that path."""
    from pv.commands import new

    root = tmp_path / "proj"
    installed = root / ".venv" / "lib" / "python3.11" / "site-packages" / "pv" / "schema" / "contract-v1.json"
    installed.parent.mkdir(parents=True)
    installed.write_bytes((Path(new.__file__).parents[1] / "schema" / "contract-v1.json").read_bytes())
    template = installed.parents[1] / "templates" / "contract.yaml.tmpl"
    template.parent.mkdir()
    template.write_bytes((Path(new.__file__).parents[1] / "templates" / "contract.yaml.tmpl").read_bytes())
    monkeypatch.setattr(new.resources, "files", lambda _pkg: root / ".venv/lib/python3.11/site-packages/pv")
    monkeypatch.setattr(new.sys, "prefix", str(root / ".venv"))
    assert new.schema_ref(root / "contracts" / "x.yaml", root) is None  # pv new writes a copy instead
    monkeypatch.chdir(root)
    res = CliRunner().invoke(cli, ["new", "C-X", "--kind", "tool"])
    assert res.exit_code == 0, res.output
    text = (root / "contracts" / "x.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=.schema/contract-v1.json"
    copy = json.loads((root / "contracts" / ".schema" / "contract-v1.json").read_text())
    assert copy["$id"] == "urn:pv-contracts:schema:contract-v1" and ".venv" not in text
    before = (root / "contracts" / ".schema" / "contract-v1.json").stat().st_mtime_ns
    res = CliRunner().invoke(cli, ["new", "C-X", "--kind", "tool"])
    assert (
        res.exit_code == 2
        and (root / "contracts" / ".schema" / "contract-v1.json").stat().st_mtime_ns == before
    )


def test_pv_new_in_this_repository_keeps_the_editor_path(runner, monkeypatch) -> None:
    """Our own contracts point their yaml-language-server comment at ../pv/schema/contract-v1.json."""
    from tests.security.conftest import REPO

    monkeypatch.chdir(REPO)
    res = runner.invoke(cli, ["new", "C-EDITOR", "--kind", "tool", "-o", "contracts/zz-editor-probe.yaml"])
    try:
        _clean(res, 0)
        first = (REPO / "contracts" / "zz-editor-probe.yaml").read_text().splitlines()[0]
    finally:
        (REPO / "contracts" / "zz-editor-probe.yaml").unlink(missing_ok=True)
    assert first == "# yaml-language-server: $schema=../pv/schema/contract-v1.json"


def test_non_utf8_file_names_are_reported_not_tracebacks(runner, project: Path) -> None:
    name = os.fsdecode(b"contracts/\xff-bad.yaml")
    Path(name).write_text(contract("C-BAD").replace("summary: A scratch contract.\n", ""))
    for fmt in ("text", "json", "sarif", "github", "junit"):
        res = runner.invoke(cli, ["validate", "--no-cache", "--format", fmt])
        _clean(res, 1)
    _clean(runner.invoke(cli, ["validate", name]), 1)  # the cache key hashes the name too
    _clean(runner.invoke(cli, ["validate", name]), 1)
    sarif = json.loads(runner.invoke(cli, ["validate", "--no-cache", "--format", "sarif"]).stdout)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert "contracts/%FF-bad.yaml" in uris
    _clean(runner.invoke(cli, ["generate"]), 0)
    assert (project / "gen" / "test___bad.py").is_file()  # an importable module name
    _clean(runner.invoke(cli, ["trace"]), 0, 1)
    _clean(runner.invoke(cli, ["validate", "--no-cache", "-o", "report.txt"]), 1)


@pytest.mark.parametrize("old", ["notes.txt", "other.yaml"])
def test_diff_with_a_non_contract_old_is_an_error(runner, project: Path, old: str) -> None:
    Path(old).write_text("just some text\n" if old.endswith(".txt") else "hello: world\n")
    res = runner.invoke(cli, ["diff", old, "contracts/scratch.yaml"])
    _clean(res, 2)
    assert f"OLD {old}:" in res.output
    res = runner.invoke(cli, ["diff", "contracts/scratch.yaml", old])
    _clean(res, 2)
