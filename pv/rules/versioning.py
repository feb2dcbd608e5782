"""PV4xx: the version and the changelog agree (semver format itself: PV401 in pv.rules.schema).

API: parse_semver(text) -> tuple | None, a sortable key by semver 2.0.0 precedence (D's diff uses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pv.findings import Finding, Severity
from pv.index import items
from pv.loader import LoadedDocument
from pv.rules._doc import doc
from pv.rules.registry import CheckContext, Rule, document_check, register

E = Severity.ERROR
_SEMVER = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)

CHANGELOG_MISSING = register(
    Rule(
        "PV402",
        "changelog-missing-version",
        E,
        "The changelog has no entry for the contract's current version.",
        doc(
            "Requires a changelog entry whose version equals `version`.",
            "A version bump without a changelog entry leaves readers guessing what changed.",
            "version: 1.1.0\nchangelog:\n  - {version: 1.0.0, ...}",
            "version: 1.1.0\nchangelog:\n"
            "  - {version: 1.1.0, date: 2026-11-25, summary: ...}\n  - {version: 1.0.0, ...}",
        ),
        "Add a changelog entry for the current version at the top.",
    )
)
CHANGELOG_ORDER = register(
    Rule(
        "PV403",
        "changelog-order",
        E,
        "Changelog entries are not ordered newest first.",
        doc(
            "Checks that each entry's version is lower than the one above it.",
            "Readers and `pv diff` take the first entry as the latest change.",
            "changelog:\n  - {version: 1.0.0, ...}\n  - {version: 1.1.0, ...}",
            "changelog:\n  - {version: 1.1.0, ...}\n  - {version: 1.0.0, ...}",
        ),
        "Reorder the changelog newest first.",
    )
)
CHANGELOG_DUPLICATE = register(
    Rule(
        "PV404",
        "changelog-duplicate-version",
        E,
        "Two changelog entries state the same version.",
        doc(
            "Reports the second entry for a version.",
            "One version, one set of changes; a duplicate means a bump was forgotten.",
            "changelog:\n  - {version: 1.0.0, ...}\n  - {version: 1.0.0, ...}",
            "changelog:\n  - {version: 1.1.0, ...}\n  - {version: 1.0.0, ...}",
        ),
        "Merge the entries, or give the newer one a new version (and bump `version`).",
    )
)
CHANGELOG_FUTURE = register(
    Rule(
        "PV405",
        "changelog-future-version",
        E,
        "A changelog entry is newer than the contract's current version.",
        doc(
            "Reports entries whose version is above `version`.",
            "Either the version was not bumped or the entry describes changes that do not exist yet.",
            "version: 1.0.0\nchangelog:\n  - {version: 1.1.0, ...}",
            "version: 1.1.0\nchangelog:\n  - {version: 1.1.0, ...}",
        ),
        "Bump `version` to the newest entry, or remove the entry.",
    )
)


def parse_semver(text: object) -> tuple | None:
    """A key ordered by semver precedence (build metadata ignored); None when not semver."""
    if not isinstance(text, str):
        return None
    m = _SEMVER.fullmatch(text)
    if m is None:
        return None
    major, minor, patch, pre = int(m[1]), int(m[2]), int(m[3]), m[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    # Numeric identifiers sort before alphanumeric ones, and numerically among themselves.
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


@document_check(CHANGELOG_MISSING, CHANGELOG_ORDER, CHANGELOG_DUPLICATE, CHANGELOG_FUTURE)
def check_changelog(d: LoadedDocument, ctx: CheckContext) -> Iterator[Finding]:
    cid = d.contract_id
    version = d.data.get("version")
    current = parse_semver(version)
    entries = [(i, e.get("version"), parse_semver(e.get("version"))) for i, e in items(d.data, "changelog")]
    entries = [(i, v, key) for i, v, key in entries if key is not None]
    if not isinstance(d.data.get("changelog"), list):
        return
    seen: dict[tuple, int] = {}
    prev: tuple[int, str, tuple] | None = None
    for i, v, key in entries:
        loc = d.locate(("changelog", i, "version"))
        canon = key  # 1.0.0 and 1.0.0+build are the same version
        if canon in seen:
            yield CHANGELOG_DUPLICATE.finding(
                f"changelog[{i}]: version {v} already has an entry at changelog[{seen[canon]}]",
                loc,
                contract_id=cid,
            )
        else:
            seen[canon] = i
            if prev is not None and key > prev[2]:
                yield CHANGELOG_ORDER.finding(
                    f"changelog[{i}]: {v} is newer than {prev[1]} above it; entries must be newest first",
                    loc,
                    contract_id=cid,
                )
        if current is not None and key > current:
            yield CHANGELOG_FUTURE.finding(
                f"changelog[{i}]: {v} is newer than the contract version {version}", loc, contract_id=cid
            )
        prev = (i, v, key)
    if current is not None and current not in seen:
        yield CHANGELOG_MISSING.finding(
            f"version {version} has no changelog entry",
            d.locate(("version",)),
            fix=f"Add `- {{version: {version}, date: YYYY-MM-DD, summary: ...}}` "
            "at the top of the changelog.",
            contract_id=cid,
        )
