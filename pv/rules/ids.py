"""PV2xx: ids are unique within and across contracts (formats are checked in pv.rules.schema)."""

from __future__ import annotations

from collections.abc import Iterator

from pv.findings import Finding, Severity
from pv.index import ContractIndex
from pv.rules._doc import doc
from pv.rules.registry import CheckContext, Rule, index_check, register

DUPLICATE_ID = register(
    Rule(
        "PV202",
        "duplicate-id",
        Severity.ERROR,
        "An id is defined twice (in one contract or across contracts).",
        doc(
            "Reports the second definition of a contract, invariant, gate, falsifier, failure-mode, "
            "acceptance-criterion or constraint id, pointing at the first.",
            "References resolve by id; with two definitions a gate may enforce a different statement than "
            "the one its author read, and generated tests collide.",
            "# contracts/a.yaml\ninvariants: [{id: INV-TOK-001, ...}]\n# contracts/b.yaml\n"
            "invariants: [{id: INV-TOK-001, ...}]",
            "# contracts/b.yaml\ninvariants: [{id: INV-TOK-002, ...}]",
        ),
        "Give the second definition a new id (and update what refers to it).",
    )
)


@index_check(DUPLICATE_ID)
def check_duplicate_ids(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    for second, first in index.duplicates:
        where = (
            "in this contract" if first.doc is second.doc else f"in {first.contract_id or first.doc.display}"
        )
        yield DUPLICATE_ID.finding(
            f"{second.kind.replace('_', ' ')} id {second.id} is already defined {where} at {first.location}",
            second.location,
            contract_id=second.contract_id,
        )
