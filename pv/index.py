"""The cross-contract model: every id defined by a set of loaded contracts, and where.

API (stable):
    build_index(docs: Iterable[LoadedDocument]) -> ContractIndex
    ContractIndex.docs                      tuple of documents, sorted by path
    ContractIndex.contracts                 {contract id: LoadedDocument}  (first definition wins)
    ContractIndex.definitions[kind][id]     -> Definition; kind in KINDS
    ContractIndex.duplicates                tuple[(second: Definition, first: Definition)]
    ContractIndex.lookup(kind, id)          -> Definition | None
    ContractIndex.items(doc, section)       the dict items of a section, precomputed
    ContractIndex.constant(ref)             "C-ID.name" -> (value, Definition of the contract) | None
    Definition(kind, id, doc, json_path, node); .location; .contract_id
    items(data, key) -> [(index, dict)]     the dict items of a list field, tolerating bad data
    is_executable(falsifier dict) -> bool   kind and target both stated

The index is built from data that may be schema-invalid: anything malformed is skipped here (the
schema rules report it), so cross-contract checks never crash on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pv.findings import Counts, Location
from pv.loader import JsonPath, LoadedDocument

# kind -> the list field holding definitions of that kind
SECTIONS: dict[str, str] = {
    "invariant": "invariants",
    "gate": "gates",
    "falsifier": "falsifiers",
    "failure_mode": "failure_modes",
    "acceptance_criterion": "acceptance_criteria",
    "constraint": "constraints",
}
KINDS = ("contract", *SECTIONS)


def items(data: object, key: str) -> list[tuple[int, dict]]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, it) for i, it in enumerate(value) if isinstance(it, dict)]


def str_list(value: object) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]


def is_executable(falsifier: dict) -> bool:
    return isinstance(falsifier.get("kind"), str) and isinstance(falsifier.get("target"), str)


def tally(datas: Iterable[object], *, files: int, inert_contracts: int = 0) -> Counts:
    """The denominators every verdict states, counted over plain contract data."""
    datas = list(datas)
    invariants = gates = blocking = falsifiers = executable = 0
    for data in datas:
        invariants += len(items(data, "invariants"))
        g = items(data, "gates")
        gates += len(g)
        blocking += sum(1 for _, gate in g if gate.get("ship_blocking") is True)
        f = items(data, "falsifiers")
        falsifiers += len(f)
        executable += sum(1 for _, x in f if is_executable(x))
    return Counts(
        files=files,
        contracts=len(datas),
        invariants=invariants,
        gates=gates,
        ship_blocking_gates=blocking,
        falsifiers=falsifiers,
        executable_falsifiers=executable,
        inert_contracts=inert_contracts,
    )


@dataclass(frozen=True, eq=False)
class Definition:
    kind: str
    id: str
    doc: LoadedDocument
    json_path: JsonPath
    node: dict

    @property
    def location(self) -> Location:
        return self.doc.locate((*self.json_path, "id"))

    @property
    def contract_id(self) -> str:
        return self.doc.contract_id


@dataclass(frozen=True, eq=False)
class ContractIndex:
    docs: tuple[LoadedDocument, ...]
    contracts: dict[str, LoadedDocument] = field(default_factory=dict)
    definitions: dict[str, dict[str, Definition]] = field(default_factory=dict)
    duplicates: tuple[tuple[Definition, Definition], ...] = ()
    _sections: dict[int, dict[str, list[tuple[int, dict]]]] = field(default_factory=dict, repr=False)
    memo: dict = field(default_factory=dict, repr=False)  # derived views rules share (e.g. attackers)

    def items(self, doc: LoadedDocument, section: str) -> list[tuple[int, dict]]:
        """`items(doc.data, section)`, computed once at build time for the id-bearing sections."""
        cached = self._sections.get(id(doc))
        if cached is not None and section in cached:
            return cached[section]
        return items(doc.data, section)

    def lookup(self, kind: str, ident: str) -> Definition | None:
        return self.definitions.get(kind, {}).get(ident)

    def constant(self, ref: str) -> tuple[object, Definition] | None:
        """Resolve `C-ID.name` to the pinned value, or None when contract or constant is missing."""
        cid, _, name = ref.partition(".")
        contract = self.lookup("contract", cid)
        if contract is None:
            return None
        consts = contract.doc.data.get("constants")
        if not isinstance(consts, dict) or name not in consts:
            return None
        return consts[name], contract


def build_index(docs: Iterable[LoadedDocument]) -> ContractIndex:
    ordered = tuple(sorted(docs, key=lambda d: d.display))
    defs: dict[str, dict[str, Definition]] = {k: {} for k in KINDS}
    dups: list[tuple[Definition, Definition]] = []

    def add(d: Definition) -> None:
        table = defs[d.kind]
        if d.id in table:
            dups.append((d, table[d.id]))
        else:
            table[d.id] = d

    sections: dict[int, dict[str, list[tuple[int, dict]]]] = {}
    for doc in ordered:
        data = doc.data
        cid = data.get("id")
        if isinstance(cid, str):
            add(Definition("contract", cid, doc, (), data))
        per_doc = sections[id(doc)] = {}
        for kind, section in SECTIONS.items():
            per_doc[section] = found = items(data, section)
            for i, item in found:
                ident = item.get("id")
                if isinstance(ident, str):
                    add(Definition(kind, ident, doc, (section, i), item))
    contracts = {k: d.doc for k, d in defs["contract"].items()}
    return ContractIndex(ordered, contracts, defs, tuple(dups), sections)
