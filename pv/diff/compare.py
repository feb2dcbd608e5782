"""Compare sets of contracts (two files, two folders, or a tree against a git ref) into a Report.

Contracts are matched by id, then by path, so a renamed file is a change, not a delete plus an
add. Findings are PV47x (pv/rules/versioning_diff.py); the Report renders with any of pv's reporters.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from pv.config import DEFAULT_MAX_BYTES
from pv.diff.policy import Bump, Change, judge
from pv.findings import Counts, Finding, Location, Report, Severity
from pv.gitref import BaseRef, list_contract_files, read_at, repo_relative
from pv.index import tally
from pv.loader import LoadedDocument, LoadFailure, load_bytes, load_document
from pv.rules import versioning_diff as R

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Side:
    """One side of the comparison: loaded documents and the files that failed to load."""

    docs: tuple[LoadedDocument, ...]
    failures: tuple[LoadFailure, ...]


def comparable(data: dict) -> dict:
    """Schema-v1 shaped data for the diff: v1 as is, other dialects through `pv migrate`'s mapping."""
    if data.get("schema") == "pv/v1":
        return data
    from pv.migrate import MigrationError, to_v1

    try:
        return to_v1(data).data
    except MigrationError:  # unknown shape: diff it as it is
        return data


def expand(paths: list[str]) -> list[Path]:
    """Files, folders (recursively, *.yaml / *.yml) and quoted globs, deduplicated, sorted."""
    out: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.update(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES)
        elif p.exists():
            out.add(p)
        elif any(c in raw for c in "*?["):
            out.update(Path(m) for m in glob.glob(raw, recursive=True) if Path(m).is_file())
    return sorted(out)


def load_side(files: list[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> Side:
    docs, fails = [], []
    for f in files:
        res = load_document(f, max_bytes=max_bytes)
        (docs if isinstance(res, LoadedDocument) else fails).append(res)
    return Side(tuple(docs), tuple(fails))


def load_at_ref(base: BaseRef, repo: Path, paths: list[str], max_bytes: int = DEFAULT_MAX_BYTES) -> Side:
    """The contracts under `paths` as they were at `base`; displayed as `<path>@<sha10>`."""
    rel = [repo_relative(p, repo) for p in paths]
    docs, fails = [], []
    for name in list_contract_files(base.commit, repo, rel):
        blob = read_at(base.commit, repo, name)
        if blob is None:
            continue
        shown = os.path.relpath(repo / name)
        res = load_bytes(blob, f"{shown}@{base.commit[:10]}", max_bytes=max_bytes)
        (docs if isinstance(res, LoadedDocument) else fails).append(res)
    return Side(tuple(docs), tuple(fails))


def contract_id(doc: LoadedDocument) -> str:
    """The document's contract id (`id`, or the kernel dialect's `contract_id`); "" when none."""
    return _cid(doc)


def _cid(doc: LoadedDocument) -> str:
    for key in ("id", "contract_id"):
        value = doc.data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _plain_path(display: str) -> str:
    return display.rsplit("@", 1)[0] if "@" in display else display


def _match(old: Side, new: Side) -> tuple[list[tuple[LoadedDocument, LoadedDocument]], list, list]:
    """(pairs, only-old, only-new): by contract id when unique on both sides, else by path."""

    def index(docs):
        by_id: dict[str, list[LoadedDocument]] = {}
        for d in docs:
            by_id.setdefault(_cid(d), []).append(d)
        return by_id

    oi, ni = index(old.docs), index(new.docs)
    pairs, used_old, used_new = [], set(), set()
    for cid, olds in oi.items():
        if cid and len(olds) == 1 and len(ni.get(cid, [])) == 1:
            pairs.append((olds[0], ni[cid][0]))
            used_old.add(id(olds[0]))
            used_new.add(id(ni[cid][0]))
    by_path = {os.path.normpath(_plain_path(d.display)): d for d in new.docs if id(d) not in used_new}
    for d in old.docs:
        if id(d) in used_old:
            continue
        twin = by_path.pop(os.path.normpath(_plain_path(d.display)), None)
        if twin is not None:
            pairs.append((d, twin))
            used_old.add(id(d))
            used_new.add(id(twin))
    only_old = [d for d in old.docs if id(d) not in used_old]
    only_new = [d for d in new.docs if id(d) not in used_new]
    return pairs, only_old, only_new


def _where(change: Change, new: LoadedDocument) -> Location:
    # Removed things have no place in the new file: point at the collection they left.
    path = change.path[:-1] if change.side == "old" else change.path
    return new.locate(path)


def judge_pair(old: LoadedDocument, new: LoadedDocument) -> list[Finding]:
    cid = _cid(new) or _cid(old)
    before, after = comparable(old.data), comparable(new.data)
    v = judge(before, after)
    out = [
        R.CONTRACT_CHANGE.finding(f"{c.detail} → needs a {c.bump} bump", _where(c, new), contract_id=cid)
        for c in v.changes
    ]
    vloc = new.locate(("version",))
    if v.made is None:
        out.append(
            R.VERSION_NOT_INCREASING.finding(
                f"{cid}: version {before.get('version')!r} at the base → {after.get('version')!r} now "
                "does not move forward (or is not semver)",
                vloc,
                contract_id=cid,
            )
        )
        return out
    if not v.version_ok:
        worst = max(v.changes, key=lambda c: c.bump)
        now = (
            f"is still {v.new_version}"
            if v.made is Bump.NONE
            else f"moved {v.old_version} → {v.new_version} ({v.made})"
        )
        out.append(
            R.INSUFFICIENT_BUMP.finding(
                f"{cid}: {len(v.changes)} change(s) need a {v.required} bump (version {v.minimum_version} "
                f"or later) but the version {now}; e.g. {worst.detail} ({worst.bump})",
                vloc,
                contract_id=cid,
                fix=f"Set `version: {v.minimum_version}` and add a changelog entry for it.",
            )
        )
    if not v.changelog_ok:
        out.append(
            R.CHANGELOG_ENTRY_MISSING.finding(
                f"{cid}: version moved {v.old_version} → {v.new_version} but the changelog has no entry "
                f"for {v.new_version}",
                new.locate(("changelog",)),
                contract_id=cid,
                fix=f"Add `- {{version: {v.new_version}, date: YYYY-MM-DD, summary: ...}}` "
                "at the top of changelog.",
            )
        )
    return out


def _deleted(doc: LoadedDocument) -> Finding:
    cid = _cid(doc)
    data = comparable(doc.data)
    loc = Location(_plain_path(doc.display))
    if data.get("status") == "retired":
        return R.CONTRACT_DELETED.finding(
            f"{cid or doc.display}: retired contract deleted",
            loc,
            contract_id=cid,
            severity=Severity.INFO,
            fix="",
        )
    return R.CONTRACT_DELETED.finding(
        f"{cid or doc.display}: contract deleted (status {data.get('status')!r} at the base, "
        f"version {data.get('version')}); every guarantee it made is gone",
        loc,
        contract_id=cid,
    )


def _counts(new: Side, n_files: int) -> Counts:
    return tally((comparable(d.data) for d in new.docs), files=n_files)


def compare_sides(old: Side, new: Side, *, pair_all: bool = False, base: str = "") -> Report:
    """Judge every contract in `new` against its twin in `old`; pair_all pairs the single
    documents of two-file mode regardless of id."""
    if pair_all and len(old.docs) == 1 and len(new.docs) == 1:
        pairs, only_old, only_new = [(old.docs[0], new.docs[0])], [], []
    else:
        pairs, only_old, only_new = _match(old, new)
    findings: list[Finding] = [f.finding for f in new.failures]
    for f in old.failures:
        findings.append(
            R.BASE_UNREADABLE.finding(
                f"{f.display}: cannot be read at the base ({f.finding.message}); its changes go unjudged",
                Location(_plain_path(f.display)),
            )
        )
    changed = 0
    for o, n in pairs:
        found = judge_pair(o, n)
        changed += bool(found)
        findings.extend(found)
    findings.extend(_deleted(d) for d in only_old)
    findings.extend(
        R.CONTRACT_ADDED.finding(
            f"{_cid(d) or d.display}: new contract (version {comparable(d.data).get('version')})",
            d.locate(("id",)),
            contract_id=_cid(d),
        )
        for d in only_new
    )
    n_files = len(new.docs) + len(new.failures)
    extra = {
        "base": base,
        "compared": len(pairs),
        "changed": changed,
        "added": len(only_new),
        "deleted": len(only_old),
    }
    files = tuple(sorted({*(d.display for d in new.docs), *(f.display for f in new.failures)}))
    return Report(
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        counts=_counts(new, n_files),
        files=files,
        extra=extra,
    )


def summary_line(report: Report) -> str:
    """`compared 3 contracts with origin/main (1a2b3c4d5e): 1 changed, 0 added, 0 deleted`."""
    x = report.extra
    against = f" with {x['base']}" if x.get("base") else ""
    return (
        f"compared {x.get('compared', 0)} contract(s){against}: {x.get('changed', 0)} changed, "
        f"{x.get('added', 0)} added, {x.get('deleted', 0)} deleted"
    )
