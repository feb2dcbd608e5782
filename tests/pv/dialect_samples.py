"""Small aprender / kernel dialect documents shared by the dialect and migrate tests."""

APRENDER = """\
contract_id: C-TOY
version: 1.1.0
status: ACTIVE
metadata:
  version: "1.2.0"
  changelog:
    - "1.0.0 (2026-01-01): First."
    - "1.1.0 (2026-01-02): Second."
    - "no version here"
  peer_contracts: [contracts/toy-peer.yaml]
model:
  vocab_size: 100
invariants:
  - id: INV-TOY-001
    description: vocab_size == 100.
    falsifier: Count rows.
gates:
  - id: GATE-TOY-001
    rule: Rows (INV-TOY-001, INV-TOY-009).
    evidence_required: CI checks it somehow.
    binds_to: AC-TOY-001
    ship_blocking: true
  - id: GATE-TOY-001
    rule: Dup.
    evidence_discharged_by:
      - "src/model.rs::tests::rows_match"
      - "src/model.rs::ROW_COUNT"
    verdict: pass
    discharge_status: PENDING
    falsification_id: FALSIFY-TOY-001
    binds_to: AC-TOY-001
"""
PEER = """\
contract_id: C-TOY-PEER
version: 1.0.0
metadata:
  version: "1.0.0"
  changelog: ["1.0.0 (2026-01-01): First."]
tok:
  vocab_size: 120
invariants:
  - id: INV-PEER-001
    description: Default vocab_size exactly 120.
"""

KERNEL = """\
metadata:
  version: "1.0"
equations:
  f: {formula: "y = x"}
proof_obligations:
  - {type: invariant, property: identity, lean: {status: proved}}
falsification_tests:
  - {id: FALSIFY-K-001, rule: r}
  - {id: FALSIFY-K-001, rule: r2}
enforcement:
  e: {check: "contract_tests::FALSIFY-K-009"}
verification_summary: {total_obligations: 2, l4_lean_proved: 1}
qa_gate: {id: F-K-001, pass_criteria: "All 3 falsification tests pass"}
"""
