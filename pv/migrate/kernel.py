"""kernel dialect (provable-contracts: metadata / equations / proof_obligations /
falsification_tests / kani_harnesses / qa_gate) -> schema v1, as far as it sensibly goes.

Proof obligations become invariants; falsification tests become prose falsifiers; the qa_gate
becomes a gate over every invariant. The dialect never says which obligation a falsification
test attacks, nor which acceptance criterion the QA gate discharges: those stay empty and the
report says so, rather than pv guessing.
"""

from __future__ import annotations

import re

from pv.migrate.common import Builder, fit_id, flatten_constants, kebab_id, prose

HANDLED = {"metadata", "equations", "proof_obligations", "falsification_tests", "qa_gate"}


def _prefix(data: dict, stem: str) -> str:
    for t in data.get("falsification_tests") or []:
        m = re.match(
            r"^FALSIFY-([A-Z0-9]+(?:-[A-Z0-9]+)*?)-\d+$", str(t.get("id", "")) if isinstance(t, dict) else ""
        )
        if m:
            return m[1]
    return kebab_id("X", re.sub(r"[-_]v\d+$", "", stem)).removeprefix("X-") or "KERNEL"


def _obligation(o: dict) -> tuple[str, str]:
    statement = prose(o.get("property") or o.get("formal") or "(no property in the source)")
    if o.get("formal") and o.get("property"):
        statement += f": {prose(o['formal'])}"
    extra = [
        f"{o['type']} obligation" if o.get("type") else "",
        f"applies to {o['applies_to']}" if o.get("applies_to") else "",
        f"tolerance {o['tolerance']}" if o.get("tolerance") is not None else "",
    ]
    return statement, "; ".join(x for x in extra if x)


def to_v1(data: dict, b: Builder, stem: str, id_by_stem: dict[str, str]) -> dict:
    from pv.migrate import stem_id

    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    prefix = _prefix(data, stem)
    out: dict = {
        "schema": "pv/v1",
        "id": id_by_stem.get(stem) or stem_id(stem or "unnamed"),
        "version": str(meta.get("version", "0.0.0")),
        "status": "proposed",
        "kind": "kernel",
    }
    b.note(
        "the kernel dialect states no status; wrote `status: proposed` (set it to active if it is in force)"
    )
    out["summary"] = prose(meta.get("description") or "(no description in the source)")
    deps = [id_by_stem.get(str(d)) or stem_id(str(d)) for d in meta.get("depends_on") or []]
    if deps:
        out["depends_on"] = list(dict.fromkeys(deps))
    if meta.get("references"):
        out["references"] = [prose(r) for r in meta["references"]]
    date = str(meta.get("updated") or meta.get("created") or "1970-01-01")
    out["changelog"] = [
        {
            "version": out["version"],
            "date": date,
            "summary": "Imported from the kernel dialect by pv migrate (the source has no changelog).",
        }
    ]
    b.note(
        "the source has no changelog; wrote one entry for the current version, dated "
        f"{'metadata.updated' if meta.get('updated') else 'metadata.created'}"
    )
    for key in ("author", "lessons_learned"):
        if key in meta:
            b.leave(("metadata", key), "no v1 field for it", meta[key])

    eqs = data.get("equations") if isinstance(data.get("equations"), dict) else {}
    blocks = []
    for name, eq in eqs.items():
        if isinstance(eq, dict):
            blocks += [(("equations", name, k), v) for k, v in eq.items() if k != "invariants"]
        else:
            b.leave(("equations", name), "not a mapping", eq)
    constants = flatten_constants([((name_path[1] + "_" + name_path[2],), v) for name_path, v in blocks], b)
    if constants:
        out["constants"] = constants

    invariants = []
    obligations = [o for o in data.get("proof_obligations") or [] if isinstance(o, dict)]
    for i, o in enumerate(obligations):
        statement, rationale = _obligation(o)
        inv = {"id": f"INV-{prefix}-{i + 1:03d}", "statement": statement}
        if rationale:
            inv["rationale"] = rationale
        invariants.append(inv)
        for key in (
            "lean",
            *(k for k in o if k not in ("type", "property", "formal", "tolerance", "applies_to", "lean")),
        ):
            if key in o:
                b.leave(("proof_obligations", i, key), "no v1 field for it", o[key])
    for name, eq in eqs.items():
        for j, text in enumerate(eq.get("invariants") or [] if isinstance(eq, dict) else []):
            if obligations:
                b.leave(("equations", name, "invariants", j), "restated by proof_obligations", text)
            else:
                invariants.append({"id": f"INV-{prefix}-{len(invariants) + 1:03d}", "statement": prose(text)})
    out["invariants"] = invariants

    falsifiers = []
    for i, t in enumerate(data.get("falsification_tests") or []):
        fid = fit_id("FALSIFY", t.get("id")) if isinstance(t, dict) else None
        if fid is None:
            b.leave(("falsification_tests", i), "no FALSIFY-… id", t)
            continue
        parts = [
            prose(t.get("rule", "")),
            f"Predicts: {prose(t['prediction'])}" if t.get("prediction") else "",
            f"Test: {prose(t['test'])}" if t.get("test") else "",
            f"If it fails: {prose(t['if_fails'])}" if t.get("if_fails") else "",
        ]
        falsifiers.append({"id": fid, "attacks": [], "description": ". ".join(p for p in parts if p)})
    if falsifiers:
        b.note(
            f"{len(falsifiers)} falsifier(s): the kernel dialect does not say which obligation each "
            "attacks, so `attacks` is empty (fill it in); all are prose (no kind/target)"
        )

    qa = data.get("qa_gate")
    if isinstance(qa, dict):
        raw = str(qa.get("id", ""))
        gid = fit_id("GATE", re.sub(r"^F-", "", raw)) or f"GATE-{prefix}-QA"
        rule = ": ".join(prose(qa[k]) for k in ("name", "pass_criteria") if qa.get(k)) or "(no rule)"
        out["gates"] = [
            {
                "id": gid,
                "rule": rule,
                "enforces": [x["id"] for x in invariants],
                "ship_blocking": False,
                "falsifiers": [f["id"] for f in falsifiers],
            }
        ]
        b.note(
            f"qa_gate {raw} became {gid}: it enforces every invariant; it binds to no acceptance "
            "criterion (the dialect has none) and is not ship-blocking"
        )
        for key in ("description", "checks", "falsification"):
            if key in qa:
                b.leave(("qa_gate", key), "no v1 field for it", qa[key])
    if falsifiers:
        out["falsifiers"] = falsifiers
    for key, value in data.items():
        if key not in HANDLED:
            b.leave((key,), "no v1 field for it (kernel-dialect section)", value)
    return out
