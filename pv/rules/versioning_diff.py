"""PV47x: contract versioning across two versions of a contract (`pv diff`).

Registered in pv's rule registry at import time so `pv explain PV471` documents them and every
reporter names them like `pv validate` findings.
"""

from __future__ import annotations

from pv.findings import Severity
from pv.rules.registry import Rule, register


def _doc(what: str, why: str, example: str, instead: str) -> str:
    return (
        f"## What it does\n{what}\n\n## Why is this bad?\n{why}\n\n"
        f"## Example\n```yaml\n{example}\n```\n\n## Use instead\n```yaml\n{instead}\n```\n"
    )


CONTRACT_CHANGE = register(
    Rule(
        "PV470",
        "contract-change",
        Severity.INFO,
        "One structural change between the base and the new version of a contract, with the bump it needs.",
        _doc(
            "Lists every added, removed or changed invariant, gate, falsifier, acceptance criterion, "
            "constant, constraint and binding, and the semver bump the policy in docs/versioning.md "
            "assigns to it.",
            "Nothing: it is the evidence behind PV471.",
            "# base: invariants: [INV-TOK-001]\ninvariants: [INV-TOK-001, INV-TOK-002]",
            "# INV-TOK-002 added (minor)",
        ),
        "Nothing to fix on its own: make the version bump at least the one PV471 names.",
    )
)
INSUFFICIENT_BUMP = register(
    Rule(
        "PV471",
        "insufficient-version-bump",
        Severity.ERROR,
        "The contract changed more than its version says (e.g. an invariant removed with only a minor bump).",
        _doc(
            "Compares the bump the changes require (major: a guarantee removed or loosened; minor: one "
            "added; patch: wording) with the bump actually made between the base and the new version.",
            "Consumers pin contract versions; a removed guarantee shipped as a minor release breaks "
            "them without warning.",
            "# base 1.1.0 had INV-TOK-002\nversion: 1.2.0      # INV-TOK-002 removed",
            "version: 2.0.0\nchangelog:\n"
            "  - {version: 2.0.0, date: 2026-11-26, summary: Removes INV-TOK-002.}",
        ),
        "Raise `version` to at least the version named in the message and add its changelog entry.",
    )
)
CHANGELOG_ENTRY_MISSING = register(
    Rule(
        "PV472",
        "changelog-entry-missing",
        Severity.ERROR,
        "The version moved but the changelog has no entry for the new version.",
        _doc(
            "Requires a changelog entry for every version a change moves to.",
            "The changelog is how readers learn what the bump means; a bump without one says nothing.",
            "version: 1.2.0\nchangelog:\n  - {version: 1.1.0, date: 2026-11-20, summary: ...}",
            "version: 1.2.0\nchangelog:\n  - {version: 1.2.0, date: 2026-11-26, summary: Adds INV-TOK-003.}\n"
            "  - {version: 1.1.0, date: 2026-11-20, summary: ...}",
        ),
        "Add a changelog entry (newest first) for the new version: version, date, summary.",
    )
)
VERSION_NOT_INCREASING = register(
    Rule(
        "PV473",
        "version-not-increasing",
        Severity.ERROR,
        "The new version is lower than the base version, or one of them is not semver.",
        _doc(
            "Orders the base and new versions by semver.",
            "Versions that go backwards make every consumer's pin ambiguous.",
            "# base 1.3.0\nversion: 1.2.9",
            "version: 1.3.1",
        ),
        "Use a semver version greater than the base version.",
    )
)
CONTRACT_DELETED = register(
    Rule(
        "PV474",
        "contract-deleted",
        Severity.ERROR,
        "A contract present at the base is gone, without having been retired first.",
        _doc(
            "Reports contracts that exist at the base and not in the new tree (matched by id, then path). "
            "Deleting a contract whose base status is `retired` is only an info.",
            "Deleting a contract removes every guarantee it made, the largest possible major change, "
            "and leaves gates in other contracts bound to nothing.",
            "git rm contracts/tokenizer.yaml",
            "status: retired\nversion: 2.0.0   # one change; delete the file in a later one",
        ),
        "Set `status: retired` with a major bump and a changelog entry first; delete the file later.",
    )
)
CONTRACT_ADDED = register(
    Rule(
        "PV475",
        "contract-added",
        Severity.INFO,
        "A contract that does not exist at the base.",
        _doc(
            "Lists new contracts; `pv validate` checks their changelog and version on its own.",
            "Nothing.",
            "# new file contracts/data.yaml",
            "# (no change needed)",
        ),
        "Nothing to fix here; `pv validate` checks the new contract's own version and changelog.",
    )
)
BASE_UNREADABLE = register(
    Rule(
        "PV476",
        "base-unreadable",
        Severity.WARNING,
        "The base version of a contract cannot be loaded, so its changes cannot be judged.",
        _doc(
            "Reports base versions that are not valid YAML mappings (or not contracts pv can read).",
            "Nothing can be compared against an unreadable base; the change goes unjudged.",
            "# base: invariants: [INV-A-001",
            "# (the base is history; fix forward)",
        ),
        "Nothing to fix in the new version; check the change by hand.",
    )
)

ALL = (
    CONTRACT_CHANGE,
    INSUFFICIENT_BUMP,
    CHANGELOG_ENTRY_MISSING,
    VERSION_NOT_INCREASING,
    CONTRACT_DELETED,
    CONTRACT_ADDED,
    BASE_UNREADABLE,
)
