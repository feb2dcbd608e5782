"""The aprender dialect: `contract_id`, `version`, `metadata` (version, free-text changelog, peers),
parameter blocks (architecture, tokenizer, ...), invariants with prose falsifiers, gates with
binds_to / ship_blocking / falsification_id / evidence. No `schema:` field.

check(doc) finds the inconsistencies one file can show; check_set(docs) the ones between files
(pinned values that disagree, invariant ids no file defines). Both return findings, never raise.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from pv.findings import Finding
from pv.loader import LoadedDocument
from pv.rules import dialect_aprender as R

CHANGELOG_ENTRY = re.compile(
    r"^\s*v?(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\s*\((?P<date>\d{4}-\d{2}-\d{2})\)\s*:\s*(?P<text>.*)$",
    re.DOTALL,
)
INV_ID = re.compile(r"\bINV-[A-Z0-9]+(?:-[A-Z0-9]+)*(?:-\*)?")
# Top-level keys that are not parameter blocks: their numbers are not pins.
NOT_PINS = {"metadata", "invariants", "gates", "failure_modes", "references", "summary", "motivation"}
RUNNERS = ("apr", "cargo", "pytest", "python", "python3", "pv", "make", "jq", "bash", "sh", "git", "./")


def is_aprender(data: dict) -> bool:
    return "contract_id" in data and "schema" not in data


@dataclass(frozen=True)
class ChangelogEntry:
    index: int
    version: str | None  # None: unparsable
    date: str | None
    text: str


def version_key(v: str) -> tuple:
    core, _, pre = v.partition("-")
    nums = tuple(int(x) for x in core.split("."))
    return (*nums, 0 if pre else 1, pre)


def parse_changelog(entries: object) -> list[ChangelogEntry]:
    out = []
    for i, raw in enumerate(entries if isinstance(entries, list) else []):
        m = CHANGELOG_ENTRY.match(raw) if isinstance(raw, str) else None
        if m:
            out.append(ChangelogEntry(i, m["version"], m["date"], " ".join(m["text"].split())))
        else:
            out.append(ChangelogEntry(i, None, None, " ".join(str(raw).split())))
    return out


def evidence_runnable(entry: str) -> tuple[bool, str]:
    """(runnable?, what it names) for one `evidence_discharged_by` entry."""
    text = re.sub(r"\s*\(.*\)\s*$", "", entry.strip(), flags=re.DOTALL)  # drop "(const fn)" notes
    path, _, rest = text.partition("::")
    segments = [s for s in rest.split("::") if s]
    suffix = PurePosixPath(path).suffix
    if segments:
        last = segments[-1]
        if "tests" in segments or last.startswith(("test", "falsify_")):
            return True, "a test"
        if last.isupper() or last.upper() == last:
            return False, "a constant"
        if last[:1].isupper():
            return False, "a type"
        return False, "a function that is not a test"
    if suffix in (".sh", ".py") or (suffix == ".rs" and "/tests/" in f"/{path}"):
        return True, "a script or test file"
    if suffix in (".yaml", ".yml", ".md", ".json"):
        return False, f"a {suffix[1:]} document"
    if suffix == ".rs":
        return False, "a source file, not a test"
    return False, "no file or test"


def text_runnable(text: str) -> bool:
    """Does free text name a command (in backticks) or a test to run?"""
    for span in re.findall(r"`([^`]+)`", text):
        first = span.strip().split()[0] if span.strip() else ""
        if first in RUNNERS or first.startswith("./") or "::tests::" in span:
            return True
    return bool(re.search(r"[\w/.-]*tests?/[\w/.-]+\.(rs|py)\b|\btest_\w+\.py\b", text))


def _find(doc: LoadedDocument, key: str) -> Iterator[tuple[int, dict]]:
    seq = doc.data.get(key)
    for i, item in enumerate(seq if isinstance(seq, list) else []):
        if isinstance(item, dict):
            yield i, item


def _cid(doc: LoadedDocument) -> str:
    value = doc.data.get("contract_id")
    return value if isinstance(value, str) else ""


def _line(doc: LoadedDocument, path: tuple) -> int:
    return doc.locate(path).line


def check_versions(doc: LoadedDocument) -> Iterator[Finding]:
    cid, data = _cid(doc), doc.data
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    top, inner = data.get("version"), meta.get("version")
    log = parse_changelog(meta.get("changelog"))
    parsed = [e for e in log if e.version]
    newest = max((e.version for e in parsed), key=version_key, default=None)
    if top is not None and inner is not None and str(top) != str(inner):
        hint = f"; the changelog's newest entry is {newest}" if newest else ""
        yield R.VERSION_DRIFT.finding(
            f"{cid}: version {top} (line {_line(doc, ('version',))}) disagrees with metadata.version "
            f"{inner} (line {_line(doc, ('metadata', 'version'))}){hint}",
            doc.locate(("version",)),
            contract_id=cid,
            fix=f"Set both to {newest or 'the current version'}.",
        )
    current = str(top if top is not None else inner) if (top is not None or inner is not None) else None
    if current and "changelog" in meta and current not in {e.version for e in parsed}:
        yield R.CHANGELOG_MISSING_VERSION.finding(
            f"{cid}: metadata.changelog has no entry for the current version {current} "
            f"({len(parsed)} parsed entries: {', '.join(e.version for e in parsed) or 'none'})",
            doc.locate(("metadata", "changelog")),
            contract_id=cid,
        )
    for e in log:
        if e.version is None:
            yield R.CHANGELOG_UNPARSABLE.finding(
                f"{cid}: changelog entry {e.index + 1} does not start with `X.Y.Z (YYYY-MM-DD):`: "
                f"{e.text[:60]!r}",
                doc.locate(("metadata", "changelog", e.index)),
                contract_id=cid,
            )
    for prev, cur in itertools.pairwise(parsed):
        if version_key(cur.version) >= version_key(prev.version):  # type: ignore[arg-type]
            yield R.CHANGELOG_ORDER.finding(
                f"{cid}: changelog is not newest first ({', '.join(e.version for e in parsed)}): "
                f"{cur.version} (line {_line(doc, ('metadata', 'changelog', cur.index))}) "
                f"follows {prev.version} (line {_line(doc, ('metadata', 'changelog', prev.index))})",
                doc.locate(("metadata", "changelog", cur.index)),
                contract_id=cid,
            )
            break  # one finding per changelog: the first place the order breaks


def check_gates(doc: LoadedDocument) -> Iterator[Finding]:
    cid = _cid(doc)
    for i, gate in _find(doc, "gates"):
        gid = gate.get("id", f"gates[{i}]")
        if gate.get("ship_blocking") is True and not gate.get("falsification_id"):
            yield R.SHIP_BLOCKING_NO_FALSIFIER.finding(
                f"{cid}: {gid} is ship-blocking but names no falsification_id: nothing attacks it",
                doc.locate(("gates", i, "ship_blocking")),
                contract_id=cid,
            )
        status = str(gate.get("discharge_status", "")).upper()
        if str(gate.get("verdict", "")).lower() == "pass" and status == "PENDING":
            yield R.VERDICT_WITHOUT_DISCHARGE.finding(
                f"{cid}: {gid} records verdict: pass but discharge_status: PENDING",
                doc.locate(("gates", i, "verdict")),
                contract_id=cid,
            )
        entries = gate.get("evidence_discharged_by")
        entries = [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []
        verdicts = [evidence_runnable(e) for e in entries]
        for j, (ok, what) in enumerate(verdicts):
            if not ok:
                yield R.EVIDENCE_NOT_RUNNABLE.finding(
                    f"{cid}: {gid} evidence {entries[j][:120]!r} names {what}: nothing to run",
                    doc.locate(("gates", i, "evidence_discharged_by", j)),
                    contract_id=cid,
                )
        required = gate.get("evidence_required")
        if not any(ok for ok, _ in verdicts) and isinstance(required, str) and not text_runnable(required):
            yield R.EVIDENCE_NOT_RUNNABLE.finding(
                f"{cid}: {gid} evidence_required names no command or test to run: "
                f"{' '.join(required.split())[:90]!r}",
                doc.locate(("gates", i, "evidence_required")),
                contract_id=cid,
            )


def check_ids(doc: LoadedDocument) -> Iterator[Finding]:
    cid = _cid(doc)
    for key in ("invariants", "gates", "failure_modes"):
        seen: dict[str, int] = {}
        for i, item in _find(doc, key):
            ident = item.get("id")
            if isinstance(ident, str) and ident in seen:
                yield R.DUPLICATE_ID.finding(
                    f"{cid}: {key} id {ident} repeats (first at line {_line(doc, (key, seen[ident], 'id'))})",
                    doc.locate((key, i, "id")),
                    contract_id=cid,
                )
            elif isinstance(ident, str):
                seen[ident] = i


def _prefix(inv_id: str) -> str:
    return re.sub(r"-(\d+|\*)$", "", inv_id)


def invariant_ids(doc: LoadedDocument) -> set[str]:
    return {item["id"] for _, item in _find(doc, "invariants") if isinstance(item.get("id"), str)}


def _mentions(doc: LoadedDocument) -> Iterator[tuple[str, tuple]]:
    for key, fields in (("gates", ("rule", "evidence_required")), ("failure_modes", ("description",))):
        for i, item in _find(doc, key):
            for f in fields:
                if isinstance(item.get(f), str):
                    for m in INV_ID.findall(item[f]):
                        yield m, (key, i, f)


def _unknown(doc: LoadedDocument, known: set[str], local_only: bool) -> Iterator[Finding]:
    cid, local = _cid(doc), invariant_ids(doc)
    prefixes = {_prefix(x) for x in local}
    reported = set()
    for ident, path in _mentions(doc):
        if (_prefix(ident) in prefixes) != local_only or ident in reported:
            continue
        if ident.endswith("-*"):
            if any(k.startswith(ident[:-1]) for k in known):
                continue
        elif ident in known:
            continue
        reported.add(ident)
        where = "this contract" if local_only else "any contract in the set"
        yield R.UNKNOWN_INVARIANT.finding(
            f"{cid}: {path[1] and doc.data[path[0]][path[1]].get('id')} mentions "
            f"{ident}, which {where} does not define",
            doc.locate(path),
            contract_id=cid,
        )


def recognised(doc: LoadedDocument, dialect: str, cid: str) -> Finding:
    """One info per file: which dialect pv read it as, and that pv/v1 rules do not apply."""
    from pv.findings import Severity
    from pv.rules.dialects import FOREIGN_DIALECT

    return FOREIGN_DIALECT.finding(
        f"read as the {dialect} dialect: its own checks ran, pv/v1 rules do not apply. "
        f"`pv migrate {doc.display} -o DIR` converts it to pv/v1",
        doc.locate(()),
        contract_id=cid,
        severity=Severity.INFO,
    )


def check(doc: LoadedDocument) -> list[Finding]:
    """Single-file checks for one aprender-dialect document."""
    out: list[Finding] = [recognised(doc, "aprender", _cid(doc))]
    for part in (check_versions, check_gates, check_ids):
        out.extend(part(doc))
    out.extend(_unknown(doc, invariant_ids(doc), local_only=True))
    return out


# ---- across files ------------------------------------------------------------------------------


def pins(doc: LoadedDocument) -> dict[str, tuple[float, tuple]]:
    """Numeric values pinned in parameter blocks, by leaf name, when the name is unique in the file."""
    found: dict[str, list[tuple[float, tuple]]] = {}
    stack: list[tuple[object, tuple]] = [
        (v, (k,)) for k, v in doc.data.items() if k not in NOT_PINS and isinstance(v, dict)
    ]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, int | float) and not isinstance(node, bool) and isinstance(path[-1], str):
            found.setdefault(str(path[-1]), []).append((node, path))
    return {name: hits[0] for name, hits in found.items() if len(hits) == 1}


def _peers(doc: LoadedDocument) -> set[str]:
    """File stems this contract names as peers/parents/references."""
    meta = doc.data.get("metadata") if isinstance(doc.data.get("metadata"), dict) else {}
    names: set[str] = set()
    for key in ("peer_contracts", "parent_contracts", "references"):
        for src in (meta.get(key), doc.data.get(key)):
            for entry in src if isinstance(src, list) else []:
                for token in re.findall(r"[\w./-]+\.ya?ml", str(entry)):
                    names.add(PurePosixPath(token).stem)
    return names


def _prose_pins(doc: LoadedDocument, name: str, value: float) -> list[str]:
    """Invariants whose statement mentions `name` and the value, e.g. INV-BPE-001 (line 117)."""
    spelled = {str(value), f"{value:_}" if isinstance(value, int) else str(value)}
    out = []
    for i, inv in _find(doc, "invariants"):
        text = str(inv.get("description", ""))
        if name in text and any(re.search(rf"(?<![\d_]){re.escape(s)}(?![\d_])", text) for s in spelled):
            out.append(f"{inv.get('id')} (line {_line(doc, ('invariants', i, 'description'))})")
    return out


def check_set(docs: Sequence[LoadedDocument]) -> list[Finding]:
    """Cross-file checks over every aprender-dialect document validated together."""
    apr = sorted((d for d in docs if is_aprender(d.data)), key=lambda d: d.display)
    out: list[Finding] = []
    known = set().union(*(invariant_ids(d) for d in apr)) if apr else set()
    for d in apr:
        out.extend(_unknown(d, known, local_only=False))
    stems = {d: PurePosixPath(d.display).stem for d in apr}
    table = {d: pins(d) for d in apr}
    for i, a in enumerate(apr):
        for b in apr[i + 1 :]:
            if stems[b] not in _peers(a) and stems[a] not in _peers(b):
                continue
            for name in sorted(set(table[a]) & set(table[b])):
                (va, pa), (vb, pb) = table[a][name], table[b][name]
                if va == vb:
                    continue
                for this, that, vt, pt, vo, po in ((a, b, va, pa, vb, pb), (b, a, vb, pb, va, pa)):
                    prose = _prose_pins(this, name, vt) + [
                        f"{that.display}: " + p for p in _prose_pins(that, name, vo)
                    ]
                    also = f"; also stated in {', '.join(prose)}" if prose else ""
                    out.append(
                        R.PINNED_VALUE_DISAGREES.finding(
                            f"{_cid(this)}: {'.'.join(map(str, pt))} = {vt} but peer {_cid(that)} pins "
                            f"{'.'.join(map(str, po))} = {vo} ({that.locate(po)}){also}",
                            this.locate(pt),
                            contract_id=_cid(this),
                        )
                    )
    return out
