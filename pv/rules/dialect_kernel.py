"""PV97x: inconsistencies in kernel-dialect contracts (metadata / equations / proof_obligations /
falsification_tests / kani_harnesses / qa_gate). The checks live in pv/dialects/kernel.py.
"""

from __future__ import annotations

from pv.findings import Severity
from pv.rules._doc import doc
from pv.rules.registry import Rule, register

E, W = Severity.ERROR, Severity.WARNING

VERSION = register(
    Rule(
        "PV970",
        "kernel-version-invalid",
        E,
        "metadata.version is missing or not semver.",
        doc(
            "Requires `metadata.version` to be a semver string.",
            "Without a version nothing can say which revision of the kernel's obligations a build meets.",
            "metadata:\n  version: 1.0",
            'metadata:\n  version: "1.0.0"',
        ),
        "Write metadata.version as MAJOR.MINOR.PATCH.",
    )
)
DUPLICATE_ID = register(
    Rule(
        "PV971",
        "kernel-duplicate-id",
        E,
        "Two falsification tests or Kani harnesses share an id.",
        doc(
            "Checks ids are unique within falsification_tests and within kani_harnesses.",
            "Enforcement entries and reports name tests by id; a repeated id makes one of them invisible.",
            "- id: FALSIFY-SM-001\n- id: FALSIFY-SM-001",
            "- id: FALSIFY-SM-001\n- id: FALSIFY-SM-002",
        ),
        "Renumber one of them.",
    )
)
UNKNOWN_TEST = register(
    Rule(
        "PV972",
        "kernel-enforcement-unknown-test",
        E,
        "An enforcement check names a falsification test the contract does not define.",
        doc(
            "Looks up every FALSIFY-… id in `enforcement.*.check` among the falsification_tests.",
            "An enforcement rule backed by a test that does not exist enforces nothing.",
            "check: contract_tests::FALSIFY-SM-009",
            "check: contract_tests::FALSIFY-SM-001",
        ),
        "Name an existing falsification test, or add the test.",
    )
)
COUNT_MISMATCH = register(
    Rule(
        "PV973",
        "kernel-count-mismatch",
        E,
        "A stated count (qa_gate pass criteria, verification_summary) disagrees with the lists it counts.",
        doc(
            'Compares `qa_gate.pass_criteria` ("All N falsification tests pass") with the number of '
            "falsification_tests, and verification_summary totals with proof_obligations "
            "and their Lean status.",
            "A summary that miscounts hides a test or an obligation that was added or dropped.",
            'pass_criteria: "All 6 falsification tests pass"   # 7 tests listed',
            'pass_criteria: "All 7 falsification tests pass"',
        ),
        "Update the stated count to match the list.",
    )
)

ALL = (VERSION, DUPLICATE_ID, UNKNOWN_TEST, COUNT_MISMATCH)
