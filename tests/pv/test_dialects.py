"""aprender / kernel dialect checks: small inline documents (always) and the shared corpus (when present)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pv.cli import cli
from pv.dialects import aprender, kernel
from pv.loader import load_bytes, load_document
from tests.pv.dialect_samples import APRENDER, KERNEL, PEER

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")


def doc(text: str, name: str = "toy.yaml"):
    return load_bytes(text.encode(), name)


def by_rule(findings) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in findings:
        out.setdefault(f.rule_id, []).append(f)
    return out


def test_aprender_single_file_checks():
    found = by_rule(aprender.check(doc(APRENDER)))
    drift = found["PV950"][0]
    assert drift.location.line == 2 and "line 5" in drift.message and "1.1.0" in drift.message
    assert "PV951" not in found  # 1.1.0 is in the changelog
    assert found["PV952"][0].location.line == 8  # 1.1.0 after 1.0.0: not newest first
    assert found["PV953"][0].location.line == 9
    assert [f.location.line for f in found["PV954"]] == [22]  # the ship-blocking gate without falsifier
    assert "ROW_COUNT" in found["PV955"][-1].message  # the constant, not the test
    assert any("evidence_required" in f.message for f in found["PV955"])
    assert found["PV957"][0].location.line == 28
    assert found["PV958"][0].location.line == 23
    assert [("INV-TOY-009" in f.message) for f in found["PV959"]] == [True]


def test_changelog_missing_current_version():
    text = APRENDER.replace("version: 1.1.0\n", "version: 1.3.0\n", 1)
    found = by_rule(aprender.check(doc(text)))
    assert "1.3.0" in found["PV951"][0].message


def test_evidence_classification():
    assert aprender.evidence_runnable("a/b.rs::tests::x")[0]
    assert aprender.evidence_runnable("scripts/run.sh (pattern)")[0]
    assert not aprender.evidence_runnable("a/b.rs::verdict (const fn)")[0]
    assert not aprender.evidence_runnable("contracts/x.yaml (source of truth)")[0]
    assert aprender.text_runnable("`cargo test -p x` exits 0")
    assert not aprender.text_runnable("CI runs it on Linux and macOS")


def test_pinned_values_across_peers():
    docs = [doc(APRENDER, "contracts/toy.yaml"), doc(PEER, "contracts/toy-peer.yaml")]
    found = by_rule(aprender.check_set(docs))
    pins = found["PV956"]
    assert len(pins) == 2
    assert {f.location.line for f in pins} == {12, 7}
    assert any("INV-PEER-001" in f.message for f in pins)
    # Not peers: no comparison.
    unrelated = PEER.replace("C-TOY-PEER", "C-OTHER")
    assert "PV956" not in by_rule(
        aprender.check_set([doc(APRENDER, "a/toy.yaml"), doc(unrelated, "a/other.yaml")])
    )


def test_kernel_checks():
    found = by_rule(kernel.check(doc(KERNEL, "k-v1.yaml")))
    assert set(found) == {"PV901", "PV970", "PV971", "PV972", "PV973"}
    assert len(found["PV973"]) == 2  # pass_criteria count and total_obligations


@needs_corpus
def test_validate_reports_370m_version_drift_with_both_lines():
    path = CORPUS / "aprender" / "llama-370m-sovereign-v1.yaml"
    res = CliRunner().invoke(cli, ["validate", "--no-cache", str(path)])
    assert res.exit_code == 1, res.output
    assert "PV950" in res.output and "1.6.0 (line 39)" in res.output and "1.7.0 (line 43)" in res.output


@needs_corpus
def test_corpus_aprender_set_findings():
    docs = [load_document(p) for p in sorted((CORPUS / "aprender").glob("*.yaml"))]
    found = by_rule(aprender.check_set(docs))
    msgs = " ".join(f.message for f in found["PV956"])
    assert "50257" in msgs and "50000" in msgs and "INV-BPE-001" in msgs and "INV-ARCH-370M-006" in msgs
    single = by_rule([f for d in docs for f in aprender.check(d)])
    assert {"GATE-TRAIN-005", "GATE-TRAIN-010"} <= {f.message.split()[1] for f in single["PV954"]}
    assert "GATE-TRAIN-EXHAUST" in single["PV957"][0].message
