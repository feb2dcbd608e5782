"""PV8xx: suppression comments that suppress nothing, or that pv cannot read as one.

The findings are made by pv.suppression after every other check (they judge the comments against
the findings); this module holds the rule records, so `pv rules` / `pv explain` document them.
"""

from __future__ import annotations

from pv.findings import Severity
from pv.rules._doc import doc
from pv.rules.registry import Rule, register

UNUSED_SUPPRESSION = register(
    Rule(
        "PV801",
        "unused-suppression",
        Severity.WARNING,
        "A `# pv: ignore[...]` comment names a rule that has no finding on the line it covers.",
        doc(
            "Reports each rule named in a suppression comment that suppressed no finding in this run: "
            "the finding was fixed, moved to another line, or its rule is not selected at all.",
            "A stale suppression silences the next, unrelated finding of that rule on the line, and "
            "readers take it for a known, accepted problem that is no longer there.",
            "invariants:\n  - id: INV-TOK-002  # pv: ignore[PV501]   (a falsifier attacks it now)",
            "invariants:\n  - id: INV-TOK-002",
        ),
        "Remove the rule from the comment (or the whole comment), or move it to the line pv reports.",
    )
)
INVALID_SUPPRESSION = register(
    Rule(
        "PV802",
        "invalid-suppression",
        Severity.WARNING,
        "A `# pv:` comment is not a suppression pv understands (blanket, empty, unknown rule or word).",
        doc(
            "Reports comments starting with `pv:` that are not `pv: ignore[RULE, ...]` with known, whole "
            "rule ids or names: a blanket `# pv: ignore`, empty brackets, a prefix such as `PV5`, a rule "
            "that does not exist, or another word after `pv:`. Such a comment suppresses nothing.",
            "A blanket suppression would hide every present and future finding on the line, the serious "
            "ones too; a misspelt one hides nothing while looking as if it did.",
            "  - id: INV-TOK-002  # pv: ignore",
            "  - id: INV-TOK-002  # pv: ignore[PV501] covered by the integration suite",
        ),
        "Name the rules to suppress: `# pv: ignore[PV501]` (see `pv rules`).",
    )
)
