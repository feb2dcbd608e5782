"""PV6xx: cross-contract constraints hold on the pinned constants (lhs op rhs).

Unresolvable sides are reported by PV304/PV305 (pv.rules.references); here they are skipped.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator

from pv.findings import Finding, Location, Severity
from pv.index import ContractIndex
from pv.rules._doc import doc
from pv.rules.registry import CheckContext, Rule, index_check, register

E = Severity.ERROR
_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

VIOLATED = register(
    Rule(
        "PV601",
        "constraint-violated",
        E,
        "A cross-contract constraint does not hold on the pinned constants.",
        doc(
            "Evaluates `lhs op rhs` with each side's pinned constant (or literal) and reports both values "
            "and where each is pinned.",
            "Contracts drift independently; a tokenizer vocabulary larger than the model's embedding "
            "indexes past its end at the first rare token.",
            "# C-TOKENIZER-BPE: constants: {vocab_size: 50257}\n# C-MODEL: constants: {vocab_size: 50000}\n"
            "constraints:\n"
            "  - {id: CON-VOCAB, lhs: C-TOKENIZER-BPE.vocab_size, op: '<=', rhs: C-MODEL.vocab_size}",
            "# C-MODEL: constants: {vocab_size: 50304}",
        ),
        "Change one of the pinned constants so the constraint holds (or fix the constraint).",
    )
)
INCOMPARABLE = register(
    Rule(
        "PV602",
        "constraint-incomparable",
        E,
        "The two sides of a constraint have types that cannot be compared with its operator.",
        doc(
            "Reports constraints comparing e.g. a string with a number, or ordering booleans/strings.",
            "Such a constraint can never be evaluated meaningfully.",
            "lhs: C-MODEL.dtype   # 'bf16'\nop: '<'\nrhs: 16",
            "lhs: C-MODEL.dtype\nop: '=='\nrhs: C-TRAIN.dtype",
        ),
        "Compare constants of the same kind (numbers with numbers; strings and booleans only with == or !=).",
    )
)


def _side(index: ContractIndex, value: object) -> tuple[object, str, Callable[[], Location] | None] | None:
    """(value, label, where pinned) for a constant ref or a literal; None if unresolvable.
    The location is a thunk: positions are only needed (and, from the cache, only built) on failure."""
    if isinstance(value, str) and value.startswith("C-") and "." in value:
        hit = index.constant(value)
        if hit is None:
            return None
        const, contract = hit
        name = value.partition(".")[2]
        return const, value, lambda: contract.doc.locate(("constants", name))
    if isinstance(value, bool | int | float | str):
        return value, "literal", None
    return None


def _kind(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    return "number" if isinstance(v, int | float) else "string"


@index_check(VIOLATED, INCOMPARABLE)
def check_constraints(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    for d in index.docs:
        for i, con in index.items(d, "constraints"):
            op = con.get("op")
            lhs, rhs = _side(index, con.get("lhs")), _side(index, con.get("rhs"))
            if op not in _OPS or lhs is None or rhs is None:
                continue
            cid_ = con.get("id", f"constraints[{i}]")
            (lv, lname, lloc), (rv, rname, rloc) = lhs, rhs
            lk, rk = _kind(lv), _kind(rv)
            if lk != rk or (lk != "number" and op not in ("==", "!=")):
                yield INCOMPARABLE.finding(
                    f"{cid_}: cannot evaluate {lname} = {lv!r} ({lk}) {op} {rname} = {rv!r} ({rk})",
                    d.locate(("constraints", i, "id")),
                    contract_id=d.contract_id,
                )
                continue
            if not _OPS[op](lv, rv):
                left = f"{lname} = {lv!r}" + (f" ({lloc()})" if lloc else "")
                right = f"{rname} = {rv!r} ({rloc()})" if rloc else repr(rv)
                reason = con.get("reason")
                why = f"; constraint reason: {reason}" if isinstance(reason, str) and reason else ""
                yield VIOLATED.finding(
                    f"{cid_}: {left} is not {op} {right}{why}",
                    d.locate(("constraints", i, "id")),
                    contract_id=d.contract_id,
                )
