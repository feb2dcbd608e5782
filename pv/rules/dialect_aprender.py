"""PV95x: real inconsistencies in aprender-dialect contracts (contract_id / metadata / invariants /
gates with binds_to and ship_blocking, no `schema:` field). The checks live in pv/dialects/aprender.py.
"""

from __future__ import annotations

from pv.findings import Severity
from pv.rules._doc import doc
from pv.rules.registry import Rule, register

E, W = Severity.ERROR, Severity.WARNING

VERSION_DRIFT = register(
    Rule(
        "PV950",
        "aprender-version-drift",
        E,
        "The top-level `version` disagrees with `metadata.version`.",
        doc(
            "Compares the two places an aprender contract states its version.",
            "Readers and tools pick one of the two; a bump applied to only one of them means the contract "
            "claims two versions at once.",
            'version: 1.6.0\nmetadata:\n  version: "1.7.0"',
            'version: 1.7.0\nmetadata:\n  version: "1.7.0"',
        ),
        "Make both versions the newest changelog entry's version "
        "(or `pv migrate` to schema v1: one version).",
    )
)
CHANGELOG_MISSING_VERSION = register(
    Rule(
        "PV951",
        "aprender-changelog-missing-version",
        E,
        "metadata.changelog has no entry for the contract's current version.",
        doc(
            'Parses the free-text changelog entries (`"1.5.0 (2026-04-22): ..."`) and looks for the version.',
            "A version nobody wrote down is a change nobody can review.",
            'version: 1.2.0\nmetadata:\n  changelog:\n    - "1.1.0 (2026-04-19): ..."',
            'version: 1.2.0\nmetadata:\n  changelog:\n    - "1.2.0 (2026-04-20): ..."\n'
            '    - "1.1.0 (2026-04-19): ..."',
        ),
        "Add a changelog entry for the current version.",
    )
)
CHANGELOG_ORDER = register(
    Rule(
        "PV952",
        "aprender-changelog-order",
        W,
        "metadata.changelog entries are not newest first (or repeat a version).",
        doc(
            "Checks that parsed changelog versions strictly decrease from the first entry to the last.",
            "Readers look at the top for the latest change; an entry appended at the bottom is missed.",
            '- "1.5.0 (...)"\n- "1.1.0 (...)"\n- "1.2.0 (...)"',
            '- "1.5.0 (...)"\n- "1.2.0 (...)"\n- "1.1.0 (...)"',
        ),
        "Reorder the changelog newest first.",
    )
)
CHANGELOG_UNPARSABLE = register(
    Rule(
        "PV953",
        "aprender-changelog-unparsable",
        W,
        "A changelog entry does not start with `X.Y.Z (YYYY-MM-DD):`.",
        doc(
            "Parses each free-text changelog entry as `VERSION (DATE): summary`.",
            "An entry without a version and date cannot be checked against the contract's version.",
            '- "Promoted to ACTIVE"',
            '- "1.1.0 (2026-04-19): Promoted to ACTIVE."',
        ),
        "Start the entry with its version and date: `1.1.0 (2026-04-19): ...`.",
    )
)
SHIP_BLOCKING_NO_FALSIFIER = register(
    Rule(
        "PV954",
        "aprender-ship-blocking-without-falsifier",
        E,
        "A ship-blocking gate names no falsification_id.",
        doc(
            "Requires every gate with `ship_blocking: true` to name the falsifier that attacks it.",
            "A gate that blocks a release but that nothing tries to break is a claim, not a check.",
            "- id: GATE-TRAIN-005\n  ship_blocking: true",
            "- id: GATE-TRAIN-005\n  ship_blocking: true\n  falsification_id: FALSIFY-TRAIN-005",
        ),
        "Add `falsification_id:` naming the falsifier, "
        "or drop ship_blocking if nothing can falsify the gate.",
    )
)
EVIDENCE_NOT_RUNNABLE = register(
    Rule(
        "PV955",
        "aprender-evidence-not-runnable",
        W,
        "Gate evidence names nothing that can be run (a function, a constant, a YAML file, prose).",
        doc(
            "Classifies each `evidence_discharged_by` entry (a test path like `x.rs::tests::name`, a script, "
            "a test file) and, for gates with no runnable entry, the `evidence_required` text (a command in "
            "backticks such as `cargo test ...` or `apr qa ...`).",
            "Evidence that cannot be executed cannot fail, so it discharges nothing.",
            '- "crates/x/src/model.rs::estimated_param_count (const fn)"',
            '- "crates/x/src/model.rs::tests::estimated_param_count_within_band"',
        ),
        "Point the evidence at a test or a command that fails when the gate is violated.",
    )
)
PINNED_VALUE_DISAGREES = register(
    Rule(
        "PV956",
        "aprender-pinned-value-disagrees",
        E,
        "Two contracts that name each other pin different values under the same name (e.g. vocab_size).",
        doc(
            "Collects every numeric value a contract pins in its parameter blocks "
            "(e.g. architecture.vocab_size, "
            "tokenizer.vocab_size) and compares names shared by peer contracts (each lists the other in "
            "peer_contracts / parent_contracts / references).",
            "A tokenizer with 50000 ids feeding an embedding with 50257 rows is exactly the drift the "
            "contracts were written to prevent.",
            "# tokenizer-bpe-v1.yaml\ntokenizer: {vocab_size: 50000}\n# llama-370m-sovereign-v1.yaml\n"
            "architecture: {vocab_size: 50257}",
            "# both: vocab_size: 50257",
        ),
        "Make the peers agree, and bump both contracts.",
    )
)
VERDICT_WITHOUT_DISCHARGE = register(
    Rule(
        "PV957",
        "aprender-pass-while-pending",
        E,
        "A gate records `verdict: pass` while its discharge_status is PENDING.",
        doc(
            "Compares each gate's verdict with its discharge status.",
            "A gate whose evidence has not landed cannot have passed; the verdict overstates the state.",
            "verdict: pass\ndischarge_status: PENDING",
            "verdict: pending\ndischarge_status: PENDING",
        ),
        "Record the verdict the evidence supports (pending) until the discharge lands.",
    )
)
DUPLICATE_ID = register(
    Rule(
        "PV958",
        "aprender-duplicate-id",
        E,
        "Two invariants, gates or failure modes share an id.",
        doc(
            "Checks ids are unique within each list.",
            "References by id become ambiguous; one of the two is silently ignored by tools.",
            "- id: INV-BPE-001\n- id: INV-BPE-001",
            "- id: INV-BPE-001\n- id: INV-BPE-002",
        ),
        "Renumber one of them.",
    )
)
UNKNOWN_INVARIANT = register(
    Rule(
        "PV959",
        "aprender-unknown-invariant",
        W,
        "A gate or failure mode mentions an invariant id that no contract in the set defines.",
        doc(
            "Finds INV-… ids in gate rules and evidence and in failure modes, and looks them up in this "
            "contract and the others validated with it (`INV-ARCH-370M-*` globs count as mentions of all).",
            "A gate that enforces a nonexistent invariant enforces nothing.",
            "rule: Vocabulary size (INV-BPE-009).",
            "rule: Vocabulary size (INV-BPE-001).",
        ),
        "Fix the id, or add the invariant.",
    )
)

ALL = (
    VERSION_DRIFT,
    CHANGELOG_MISSING_VERSION,
    CHANGELOG_ORDER,
    CHANGELOG_UNPARSABLE,
    SHIP_BLOCKING_NO_FALSIFIER,
    EVIDENCE_NOT_RUNNABLE,
    PINNED_VALUE_DISAGREES,
    VERDICT_WITHOUT_DISCHARGE,
    DUPLICATE_ID,
    UNKNOWN_INVARIANT,
)
