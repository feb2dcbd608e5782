"""pv migrate: mapping, the unmapped list, the written files, overwrite refusal."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from pv.cli import cli
from pv.loader import load_bytes, load_document
from pv.migrate import MigrationError, plan, to_v1
from tests.pv.dialect_samples import APRENDER, KERNEL, PEER


def run(args: list[str], cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args)
    finally:
        os.chdir(old)


def test_aprender_maps_to_v1_shape():
    m = to_v1(load_bytes(APRENDER.encode(), "toy.yaml").data)
    d = m.data
    assert (d["schema"], d["id"], d["version"], d["status"]) == ("pv/v1", "C-TOY", "1.1.0", "active")
    assert [e["version"] for e in d["changelog"]] == ["1.1.0", "1.0.0"]  # parsed, newest first
    assert d["constants"] == {"vocab_size": 100}
    assert d["invariants"] == [{"id": "INV-TOY-001", "statement": "vocab_size == 100."}]
    gate = d["gates"][0]
    assert gate["enforces"] == ["INV-TOY-001"] and gate["binds_to"] == "AC-TOY-001" and gate["ship_blocking"]
    prose = {f["id"]: f for f in d["falsifiers"]}
    assert prose["FALSIFY-TOY-001"]["attacks"] == ["INV-TOY-001"]
    assert all("kind" not in f and "target" not in f for f in d["falsifiers"])  # honest: not executable
    left = {u.path for u in m.unmapped}
    assert {"metadata.changelog[2]", "gates[1].verdict", "gates[1].discharge_status"} <= left
    assert any("version drift" in n for n in m.notes)
    assert any("INV-TOY-009" in u.reason for u in m.unmapped)


def test_kernel_maps_obligations_and_tests():
    m = to_v1(load_bytes(KERNEL.encode(), "k-kernel-v1.yaml").data, source_name="k-kernel-v1.yaml")
    d = m.data
    assert d["id"] == "C-K-KERNEL" and d["kind"] == "kernel"
    assert d["invariants"][0]["id"] == "INV-K-001" and d["gates"][0]["id"] == "GATE-K-001"
    assert d["constants"] == {"f_formula": "y = x"}


def test_v1_and_unknown_are_refused():
    for data in ({"schema": "pv/v1"}, {"anything": 1}):
        try:
            to_v1(data)
        except MigrationError:
            continue
        raise AssertionError(f"{data} should not migrate")


def test_plan_resolves_invariants_across_files():
    peer_mention = APRENDER.replace("INV-TOY-009", "INV-PEER-001")
    docs = [load_bytes(peer_mention.encode(), "toy.yaml"), load_bytes(PEER.encode(), "toy-peer.yaml")]
    (_, m), _ = plan(docs)
    assert m.data["gates"][0]["enforces"] == ["INV-TOY-001", "INV-PEER-001"]


def test_cli_writes_valid_files_and_refuses_overwrite(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "toy.yaml").write_text(APRENDER)
    res = run(["migrate", "in/toy.yaml", "-o", "out"], tmp_path)
    assert res.exit_code == 0, res.output
    assert "not mapped: in/toy.yaml:28 gates[1].verdict" in res.output
    out = tmp_path / "out" / "toy.yaml"
    report = (tmp_path / "out" / "toy.migration.md").read_text()
    assert "gates[1].discharge_status" in report and "PENDING" in report  # value kept: lossless
    loaded = load_document(out)
    assert loaded.data["id"] == "C-TOY" and loaded.data["changelog"][0]["date"] == "2026-01-02"
    res = run(["validate", "--no-cache", "out"], tmp_path)
    assert res.exit_code in (0, 1) and "internal error" not in res.output, res.output
    before = out.read_bytes()
    res = run(["migrate", "in/toy.yaml", "-o", "out"], tmp_path)
    assert res.exit_code == 2 and "--force" in res.output and out.read_bytes() == before
    res = run(["migrate", "in/toy.yaml", "-o", "out", "--force", "-q"], tmp_path)
    assert res.exit_code == 0 and "not mapped:" not in res.output


def test_cli_reports_files_it_cannot_migrate(tmp_path):
    (tmp_path / "v1.yaml").write_text("schema: pv/v1\nid: C-A\n")
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    res = run(["migrate", "v1.yaml", "bad.yaml", "-o", "out"], tmp_path)
    assert res.exit_code == 1 and "already schema pv/v1" in res.output and "bad.yaml" in res.output
    assert not (tmp_path / "out").exists()
    res = run(["migrate", "missing.yaml", "-o", "out"], tmp_path)
    assert res.exit_code == 2


def test_fields_of_the_wrong_shape_are_refused_by_name_not_crashed_on(tmp_path):
    # `invariants: 5` in an aprender file (pv validate does not check foreign shapes) crashed
    # `pv migrate` with an internal TypeError; now the file is "not migrated", naming the field.
    broken = {
        "aprender.yaml": APRENDER.replace("invariants:\n  - id: INV-TOY-001", "invariants: 5\nx:\n  - id: I"),
        "k-kernel-v1.yaml": KERNEL.replace("proof_obligations:\n", "proof_obligations: 7\nx:\n"),
        "deep.yaml": APRENDER.replace('      - "src/model.rs::tests::rows_match"\n', "")
        .replace('      - "src/model.rs::ROW_COUNT"\n', "")
        .replace("evidence_discharged_by:\n", "evidence_discharged_by: 3\n"),
    }
    for name, text in broken.items():
        (tmp_path / name).write_text(text)
    res = run(["migrate", *broken, "-o", "out"], tmp_path)
    assert res.exit_code == 1, res.output
    assert "internal error" not in res.output
    assert (
        "aprender.yaml: not migrated: `invariants` must be a list in the aprender dialect, got int"
        in res.output
    )
    assert "k-kernel-v1.yaml: not migrated: `proof_obligations` must be a list" in res.output
    assert "deep.yaml: not migrated: the aprender contract has a field of an unexpected shape" in res.output
