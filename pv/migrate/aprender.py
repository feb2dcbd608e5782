"""aprender dialect -> schema v1.

What maps: contract_id, version, status, metadata.kind / description / references / changelog
(free text parsed into entries), parameter blocks (-> constants), invariants (description ->
statement; prose falsifier -> a prose falsifier, so the contract is honestly inert), gates
(enforces from the invariant ids their text names, binds_to, ship_blocking, falsification_id),
failure modes. Everything else is listed, with its value, as unmapped.
"""

from __future__ import annotations

import re

from pv.dialects.aprender import INV_ID, parse_changelog, version_key
from pv.migrate.common import SEMVER, Builder, fit_id, flatten_constants, kebab_id, prose

HANDLED_TOP = {
    "contract_id",
    "version",
    "status",
    "metadata",
    "summary",
    "invariants",
    "gates",
    "failure_modes",
    "references",
    "display_name",
}
HANDLED_META = {"version", "changelog", "description", "kind", "references", "parent_contracts"}
STATUSES = {"proposed", "active", "deprecated", "retired"}
PY_EVIDENCE = re.compile(r"\A[^:]+\.py(::[A-Za-z_][A-Za-z0-9_]*)+\Z")


def _mentioned(texts: list[str], local: list[str], known: set[str]) -> tuple[list[str], list[str]]:
    """(invariant ids the texts name that exist, ids named that exist nowhere); globs expand."""
    found, missing = [], []
    for text in texts:
        for m in INV_ID.findall(text):
            hits = [x for x in local if x.startswith(m[:-1])] if m.endswith("-*") else [m]
            for h in hits:
                bucket = found if (h in local or h in known) else missing
                if h not in bucket:
                    bucket.append(h)
    return found, missing


def _header(data: dict, meta: dict, b: Builder, id_by_stem: dict[str, str]) -> dict:
    out: dict = {"schema": "pv/v1"}
    raw = data.get("contract_id")
    cid = (
        raw
        if isinstance(raw, str) and re.fullmatch(r"C-[A-Z0-9]+(-[A-Z0-9]+)*", raw)
        else kebab_id("C", str(raw))
    )
    if cid != raw:
        b.note(f"id {raw!r} is not a v1 contract id; wrote {cid}")
    out["id"] = cid
    top, inner = data.get("version"), meta.get("version")
    version = str(top if top is not None else inner)
    if top is not None and inner is not None and str(top) != str(inner):
        b.note(f"version drift: kept the top-level version {top}; metadata.version says {inner} (PV950)")
    if not SEMVER.match(version):
        b.note(f"version {version!r} is not semver; kept as is (pv validate will report it)")
    out["version"] = version
    status = str(data.get("status", "")).lower()
    if status not in STATUSES:
        b.note(f"status {data.get('status')!r} has no v1 equivalent; wrote proposed")
        b.leave(("status",), "no v1 equivalent", data.get("status"))
        status = "proposed"
    out["status"] = status
    kind = kebab_id("X", str(meta.get("kind") or "")).removeprefix("X-").lower() or "unspecified"
    out["kind"] = kind
    if isinstance(data.get("display_name"), str):
        out["title"] = prose(data["display_name"])
    summary = data.get("summary") or meta.get("description")
    out["summary"] = prose(summary) if summary else "(no summary in the source)"
    if (
        isinstance(meta.get("description"), str)
        and data.get("summary")
        and prose(meta["description"]) != out["summary"]
    ):
        b.leave(("metadata", "description"), "differs from summary; v1 has one summary", meta["description"])
    deps = []
    for i, parent in enumerate(meta.get("parent_contracts") or []):
        stem = re.sub(r"\.ya?ml$", "", str(parent).rsplit("/", 1)[-1])
        if stem in id_by_stem:
            deps.append(id_by_stem[stem])
        else:
            b.leave(("metadata", "parent_contracts", i), "a file path, not a contract id pv migrated", parent)
    if deps:
        out["depends_on"] = deps
    refs = [prose(r) for src in (meta.get("references"), data.get("references")) for r in (src or []) if r]
    if refs:
        out["references"] = list(dict.fromkeys(refs))
    return out


def _changelog(meta: dict, b: Builder) -> list[dict]:
    entries = []
    for e in parse_changelog(meta.get("changelog")):
        if e.version is None:
            b.leave(("metadata", "changelog", e.index), "no `X.Y.Z (YYYY-MM-DD):` prefix to parse", e.text)
            continue
        entries.append({"version": e.version, "date": e.date, "summary": e.text or "(no summary)"})
    entries.sort(key=lambda x: version_key(x["version"]), reverse=True)  # v1: newest first
    return entries


def _invariants(data: dict, b: Builder) -> tuple[list[dict], list[dict]]:
    invariants, falsifiers = [], []
    for i, inv in enumerate(data.get("invariants") or []):
        if not isinstance(inv, dict):
            b.leave(("invariants", i), "not a mapping", inv)
            continue
        ident = fit_id("INV", inv.get("id"))
        if ident is None:
            b.leave(("invariants", i), "id does not fit INV-…", inv)
            continue
        text = inv.get("description") or inv.get("statement")
        invariants.append({"id": ident, "statement": prose(text) if text else "(no statement in the source)"})
        if inv.get("falsifier"):
            falsifiers.append(
                {
                    "id": "FALSIFY-" + ident.removeprefix("INV-"),
                    "attacks": [ident],
                    "description": prose(inv["falsifier"]),
                }
            )
        for key, value in inv.items():
            if key not in ("id", "description", "statement", "falsifier"):
                b.leave(("invariants", i, key), "no v1 field for it", value)
    return invariants, falsifiers


def _gates(data: dict, b: Builder, local: list[str], known: set[str], falsifiers: list[dict]) -> list[dict]:
    gates, have = [], {f["id"] for f in falsifiers}
    for i, gate in enumerate(data.get("gates") or []):
        if not isinstance(gate, dict) or fit_id("GATE", gate.get("id")) is None:
            b.leave(("gates", i), "not a gate with a GATE-… id", gate)
            continue
        gid = fit_id("GATE", gate["id"])
        texts = [str(gate.get(k, "")) for k in ("rule", "evidence_required")]
        enforces, missing = _mentioned(texts, local, known)
        if missing:
            b.leave(
                ("gates", i, "rule"), f"names invariants no migrated contract defines: {', '.join(missing)}"
            )
        if not enforces:
            b.note(f"{gid}: its text names no invariant, so `enforces` is empty (fill it in)")
        out = {"id": gid, "rule": prose(gate.get("rule") or "(no rule in the source)"), "enforces": enforces}
        if isinstance(gate.get("binds_to"), str) and fit_id("AC", gate["binds_to"]) == gate["binds_to"]:
            out["binds_to"] = gate["binds_to"]
        elif "binds_to" in gate:
            b.leave(("gates", i, "binds_to"), "not an AC-… id", gate["binds_to"])
        out["ship_blocking"] = gate.get("ship_blocking") is True
        used = {"id", "rule", "binds_to", "ship_blocking"}
        fid = fit_id("FALSIFY", gate.get("falsification_id"))
        if fid:
            out["falsifiers"] = [fid]
            used.add("falsification_id")
            if fid not in have:
                have.add(fid)
                desc = prose(gate.get("evidence_required") or gate.get("rule") or fid)
                falsifiers.append(
                    {
                        "id": fid,
                        "attacks": list(enforces),
                        "description": f"Named by {gid}; defined outside this contract. {desc}",
                    }
                )
                used.add("evidence_required")
        evidence = [e for e in gate.get("evidence_discharged_by") or [] if isinstance(e, str)]
        py = [{"test": e} for e in evidence if PY_EVIDENCE.match(e)]
        if py:
            out["evidence"] = py
        if len(py) < len(evidence):
            b.leave(
                ("gates", i, "evidence_discharged_by"),
                "v1 evidence is path/to/test_x.py::test_name only",
                [e for e in evidence if not PY_EVIDENCE.match(e)],
            )
        used.add("evidence_discharged_by")
        for key, value in gate.items():
            if key not in used:
                b.leave(("gates", i, key), "no v1 field for it", value)
        gates.append(out)
    return gates


def _failure_modes(data: dict, b: Builder, local: list[str], known: set[str]) -> list[dict]:
    out = []
    for i, fm in enumerate(data.get("failure_modes") or []):
        ident = fit_id("FM", fm.get("id")) if isinstance(fm, dict) else None
        if ident is None:
            b.leave(("failure_modes", i), "not a failure mode with an FM-… id", fm)
            continue
        item = {"id": ident, "description": prose(fm.get("description") or "(no description)")}
        violates, _ = _mentioned([str(fm.get("description", ""))], local, known)
        if violates:
            item["violates"] = violates
        out.append(item)
    return out


def to_v1(data: dict, b: Builder, id_by_stem: dict[str, str], known: set[str]) -> dict:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    out = _header(data, meta, b, id_by_stem)
    out["changelog"] = _changelog(meta, b)
    if "changelog" not in meta:
        date = str(meta.get("updated") or meta.get("created") or "1970-01-01")
        out["changelog"] = [
            {
                "version": out["version"],
                "date": date,
                "summary": "Imported from the aprender dialect by pv migrate (the source has no changelog).",
            }
        ]
        b.note(f"the source has no changelog; wrote one entry for {out['version']} dated {date}")
    blocks = [((k,), v) for k, v in data.items() if k not in HANDLED_TOP]
    constants = flatten_constants(blocks, b)
    if constants:
        out["constants"] = constants
    invariants, falsifiers = _invariants(data, b)
    local = [x["id"] for x in invariants]
    out["invariants"] = invariants
    fms = _failure_modes(data, b, local, known)
    if fms:
        out["failure_modes"] = fms
    gates = _gates(data, b, local, known, falsifiers)
    if gates:
        out["gates"] = gates
    if falsifiers:
        out["falsifiers"] = falsifiers
        b.note(
            f"{len(falsifiers)} falsifier(s) are prose (no kind/target): they document attacks but cannot "
            "run, so pv reports the contract as inert until each gets a kind and a target"
        )
    for key, value in meta.items():
        if key not in HANDLED_META:
            b.leave(("metadata", key), "no v1 field for it", value)
    return out
