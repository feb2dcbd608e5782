"""The kernel dialect (provable-contracts): metadata / equations / proof_obligations /
falsification_tests / kani_harnesses / qa_gate. check(doc) returns findings, never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pv.dialects.aprender import recognised
from pv.findings import Finding
from pv.loader import LoadedDocument
from pv.rules import dialect_kernel as R

SEMVER = re.compile(r"\A(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?\Z")
FALSIFY_ID = re.compile(r"FALSIFY-[A-Z0-9]+(?:-[A-Z0-9]+)*")


def _items(doc: LoadedDocument, key: str) -> list[tuple[int, dict]]:
    seq = doc.data.get(key)
    return [(i, x) for i, x in enumerate(seq if isinstance(seq, list) else []) if isinstance(x, dict)]


def _name(doc: LoadedDocument) -> str:
    return doc.display.rsplit("/", 1)[-1]


def _version(doc: LoadedDocument) -> Iterator[Finding]:
    meta = doc.data.get("metadata")
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(version, str) or not SEMVER.match(version):
        yield R.VERSION.finding(
            f"{_name(doc)}: metadata.version {version!r} is not a semver string",
            doc.locate(("metadata", "version")),
        )


def _ids(doc: LoadedDocument) -> Iterator[Finding]:
    for key in ("falsification_tests", "kani_harnesses"):
        seen: dict[str, int] = {}
        for i, item in _items(doc, key):
            ident = item.get("id")
            if not isinstance(ident, str):
                continue
            if ident in seen:
                yield R.DUPLICATE_ID.finding(
                    f"{_name(doc)}: {key} id {ident} repeats "
                    f"(first at line {doc.locate((key, seen[ident])).line})",
                    doc.locate((key, i, "id")),
                )
            else:
                seen[ident] = i


def _enforcement(doc: LoadedDocument) -> Iterator[Finding]:
    tests = {x.get("id") for _, x in _items(doc, "falsification_tests")}
    enf = doc.data.get("enforcement")
    for name, rule in enf.items() if isinstance(enf, dict) else []:
        check = rule.get("check") if isinstance(rule, dict) else None
        for ident in FALSIFY_ID.findall(str(check or "")):
            if ident not in tests:
                yield R.UNKNOWN_TEST.finding(
                    f"{_name(doc)}: enforcement.{name} checks {ident}, "
                    "which falsification_tests does not define",
                    doc.locate(("enforcement", name, "check")),
                )


def _counts(doc: LoadedDocument) -> Iterator[Finding]:
    qa = doc.data.get("qa_gate")
    n_tests = len(_items(doc, "falsification_tests"))
    criteria = str(qa.get("pass_criteria", "")) if isinstance(qa, dict) else ""
    m = re.search(r"\b(\d+)\s+falsification tests?\b", criteria)
    if m and int(m[1]) != n_tests:
        yield R.COUNT_MISMATCH.finding(
            f"{_name(doc)}: qa_gate.pass_criteria says {m[1]} falsification tests, "
            f"the contract lists {n_tests}",
            doc.locate(("qa_gate", "pass_criteria")),
        )
    summary = doc.data.get("verification_summary")
    if not isinstance(summary, dict):
        return
    obligations = [o for _, o in _items(doc, "proof_obligations")]
    lean = [o.get("lean") for o in obligations]
    actual = {
        "total_obligations": len(obligations),
        "l4_lean_proved": sum(1 for x in lean if isinstance(x, dict) and x.get("status") == "proved"),
        "l4_sorry_count": sum(1 for x in lean if isinstance(x, dict) and x.get("status") == "sorry"),
        "l4_not_applicable": sum(1 for x in lean if not isinstance(x, dict)),
    }
    for key, value in actual.items():
        stated = summary.get(key)
        if isinstance(stated, int) and not isinstance(stated, bool) and stated != value:
            yield R.COUNT_MISMATCH.finding(
                f"{_name(doc)}: verification_summary.{key} is {stated}, the proof_obligations give {value}",
                doc.locate(("verification_summary", key)),
            )


def check(doc: LoadedDocument) -> list[Finding]:
    out: list[Finding] = [recognised(doc, "kernel", "")]
    for part in (_version, _ids, _enforcement, _counts):
        out.extend(part(doc))
    return out
