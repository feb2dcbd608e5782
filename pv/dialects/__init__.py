"""Contract dialects: which format a loaded mapping is written in, and where foreign ones go.

API (stable):
    detect_dialect(data) -> "pv/v1" | "aprender" | "kernel" | "unknown"
    check_foreign(doc, dialect) -> list[Finding]
        runs pv.dialects.<dialect>.check(doc) when that module exists, else one PV901 finding.
    check_foreign_sets(docs_by_dialect) -> list[Finding]
        runs pv.dialects.<dialect>.check_set(docs) for dialects whose module defines it.

"unknown" is treated as pv/v1 by the validator, so the user gets the "add `schema: pv/v1`" finding.
"""

from __future__ import annotations

import importlib
import importlib.util

from pv.findings import Finding
from pv.loader import LoadedDocument

PV = "pv/v1"
FOREIGN = ("aprender", "kernel")


def detect_dialect(data: object) -> str:
    if not isinstance(data, dict):
        return "unknown"
    if "schema" in data:
        return PV
    if "contract_id" in data:
        return "aprender"
    # The older kernel dialect: every file has `metadata`, most have equations/proof_obligations, and
    # the fusion/parity/layout ones only carry the falsification or enforcement sections.
    kernel_sections = (
        "proof_obligations",
        "equations",
        "falsification_tests",
        "qa_gate",
        "kani_harnesses",
        "enforcement",
    )
    if any(k in data for k in kernel_sections[:2]) or (
        "metadata" in data and any(k in data for k in kernel_sections[2:])
    ):
        return "kernel"
    return "unknown"


def _module(dialect: str):
    name = f"pv.dialects.{dialect}"
    return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None


def check_foreign_sets(docs_by_dialect: dict[str, list[LoadedDocument]]) -> list[Finding]:
    out: list[Finding] = []
    for dialect, docs in sorted(docs_by_dialect.items()):
        module = _module(dialect) if dialect in FOREIGN else None
        if docs and module is not None and hasattr(module, "check_set"):
            out.extend(module.check_set(docs))
    return out


def check_foreign(doc: LoadedDocument, dialect: str) -> list[Finding]:
    from pv.rules.dialects import FOREIGN_DIALECT

    module = _module(dialect)
    if module is not None and hasattr(module, "check"):
        return list(module.check(doc))
    return [
        FOREIGN_DIALECT.finding(
            f"{dialect} dialect contract recognised; pv/v1 rules do not apply to it. "
            f"Run `pv migrate {doc.display}` to convert it",
            doc.locate(()),
            contract_id=doc.contract_id,
        )
    ]
