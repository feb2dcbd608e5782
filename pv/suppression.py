"""Apply rule selection and inline suppressions to a run's findings, keeping every suppressed one.

API (stable):
    apply(findings, *, config, texts) -> tuple[list[Finding], list[Suppressed]]

`texts` maps a finding path (as the findings spell it) to the file's bytes or text; only files in it
can carry inline suppressions. Order: findings of rules the configuration turns off (select / ignore /
per-file-ignores) are suppressed "by config"; the rest may be suppressed "inline" by a `# pv:
ignore[...]` comment covering their line (pv.inline). Then each comment is judged: a named rule that
suppressed nothing is PV801, a comment pv cannot use is PV802 — and those two findings go through
the configuration too, so `ignore = ["PV801"]` works (and is counted). Load failures (PV0xx) are
never suppressed. Nothing is dropped: what is not reported is returned as Suppressed records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pv.config import PvConfig
from pv.findings import Finding, Location, Suppressed
from pv.inline import Directive, Scan, scan
from pv.rules.suppression import INVALID_SUPPRESSION, UNUSED_SUPPRESSION
from pv.selection import ALWAYS_ON_PREFIX, RuleSelection, SelectorError, check_selectors, resolve

# Bytes-level pre-filter (as pv.inline's): most files hold no `# pv:` and are never decoded here.
_MARK = re.compile(rb"#[ \t]*pv[ \t]*:", re.IGNORECASE)


def _text(raw: bytes | str) -> str | None:
    if isinstance(raw, str):
        return raw
    if not _MARK.search(raw):
        return ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the loader reported the encoding; no comments to read
    return text[1:] if text.startswith("\ufeff") else text


def _scan_all(texts: Mapping[str, bytes | str]) -> tuple[dict[str, Scan], list[Finding]]:
    scans: dict[str, Scan] = {}
    unreadable: list[Finding] = []
    for path, raw in texts.items():
        text = _text(raw)
        if not text:
            continue
        try:
            found = scan(text)
        except ValueError as exc:
            unreadable.append(
                INVALID_SUPPRESSION.finding(f"{exc}; its `# pv:` comments are ignored", Location(path, 1, 1))
            )
            continue
        if found.directives or found.problems:
            scans[path] = found
    return scans, unreadable


def _rule_ids(d: Directive, path: str) -> tuple[list[tuple[str, frozenset[str]]], list[Finding]]:
    """(as written, ids) for each rule the directive names; PV802 for those that name no rule."""
    named, bad = [], []
    for written in d.rules:
        try:
            (norm,) = check_selectors([written], what=f"`# pv: ignore[{written}]`", inline=True)
        except SelectorError as exc:
            bad.append(INVALID_SUPPRESSION.finding(str(exc), Location(path, d.line, d.col)))
            continue
        named.append((written, resolve(norm)))
    return named, bad


def apply(
    findings: Iterable[Finding], *, config: PvConfig, texts: Mapping[str, bytes | str]
) -> tuple[list[Finding], list[Suppressed]]:
    selection = RuleSelection.for_config(config)
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []

    def by_config(f: Finding) -> bool:
        why = selection.reason(f.rule_id, f.location.path)
        if why is None:
            return False
        suppressed.append(Suppressed(f, "config", why))
        return True

    for f in findings:
        if not by_config(f):
            kept.append(f)

    scans, meta = _scan_all(texts)
    if not scans and not meta:
        return kept, suppressed
    # line -> [(directive, written, ids, used-flag holder)] per file
    covers: dict[tuple[str, int], list[tuple[Directive, str, frozenset[str]]]] = {}
    used: set[tuple[str, int, int, str]] = set()
    for path, found in scans.items():
        for p in found.problems:
            meta.append(INVALID_SUPPRESSION.finding(p.message, Location(path, p.line, p.col)))
        for d in found.directives:
            named, bad = _rule_ids(d, path)
            meta.extend(bad)
            for written, ids in named:
                covers.setdefault((path, d.target), []).append((d, written, ids))

    shown: list[Finding] = []
    for f in kept:
        hit = None
        if f.location.line > 0 and not f.rule_id.startswith(ALWAYS_ON_PREFIX):
            hit = next(
                (c for c in covers.get((f.location.path, f.location.line), ()) if f.rule_id in c[2]), None
            )
        if hit is None:
            shown.append(f)
            continue
        d, written, _ = hit
        used.add((f.location.path, d.line, d.col, written))
        reason = f"`# pv: ignore[{written}]` on line {d.line}"
        reason += f": {d.justification}" if d.justification else ""
        suppressed.append(Suppressed(f, "inline", reason))

    for (path, _), entries in sorted(covers.items()):
        for d, written, ids in entries:
            if (path, d.line, d.col, written) in used:
                continue
            meta.append(
                UNUSED_SUPPRESSION.finding(
                    _unused_message(d, written, ids, path, selection), Location(path, d.line, d.col)
                )
            )
    for f in meta:
        if not by_config(f):
            shown.append(f)
    return shown, suppressed


def _unused_message(d: Directive, written: str, ids: frozenset[str], path: str, sel: RuleSelection) -> str:
    (rid,) = ids
    if rid.startswith(ALWAYS_ON_PREFIX):
        return f"{written} is a load rule, which cannot be suppressed; `# pv: ignore[{written}]` does nothing"
    why = sel.reason(rid, path)
    if why is not None:
        return f"{written} is off for this file ({why}), so `# pv: ignore[{written}]` suppresses nothing"
    if d.target == 0:
        return f"`# pv: ignore[{written}]` covers no line: nothing follows it"
    where = "this line" if d.target == d.line else f"line {d.target}"
    return f"no {written} finding on {where}: `# pv: ignore[{written}]` suppresses nothing"
