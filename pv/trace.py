"""`pv trace`: the traceability graph AC → gate → invariant → falsifier → test, built from contracts.

Pure data: contracts are read with pv.loader (never imported, never executed); test files are checked to
exist and to define the test function by reading their text. Two kinds of problem are marked:

* dangling: a reference that does not resolve (binds_to an unknown AC, enforces/attacks an unknown
  invariant, lists an unknown falsifier, evidence or generated test missing), or an element nothing
  hangs off (an AC no gate binds to, an invariant no gate enforces, a falsifier no gate lists);
* inert: an invariant attacked only by prose falsifiers (no kind + target), the prose falsifiers
  themselves, and contracts whose every invariant is inert.

API (stable):
    load_trace(patterns, config) -> Trace        # raises TraceError when nothing loads
    build_trace(docs, config) -> Trace           # docs: pv.loader.LoadedDocument
    generated_test_id(config, contract_path, falsify_id) -> str
Rendering (markdown tables, the HTML page with its SVG graph) lives in pv/trace_render.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pv.errors import UsageError
from pv.findings import Location
from pv.paths import expand_patterns

COLUMNS = ("ac", "gate", "invariant", "falsifier", "test")
COLUMN_TITLES = {
    "ac": "AC",
    "gate": "gate",
    "invariant": "invariant",
    "falsifier": "falsifier",
    "test": "test",
}
OK, DANGLING, INERT = "ok", "dangling", "inert"


class TraceError(UsageError):
    """Nothing to trace: no contract file matched, or none could be read."""


@dataclass(frozen=True)
class Node:
    kind: str  # one of COLUMNS
    id: str  # AC/GATE/INV/FALSIFY id, or a pytest node id for tests
    label: str = ""  # statement, rule, description
    location: Location | None = None  # None for references that resolve nowhere
    status: str = OK
    notes: tuple[str, ...] = ()  # why it is dangling / inert, and other facts (kind, target, ship-blocking)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.id)


@dataclass(frozen=True)
class Edge:
    src: tuple[str, str]
    dst: tuple[str, str]
    dangling: bool = False  # the reference behind this edge does not resolve


@dataclass(frozen=True)
class Problem:
    status: str  # DANGLING | INERT
    kind: str  # node kind or "contract" / "file"
    id: str
    message: str
    location: Location | None = None


@dataclass(frozen=True)
class Trace:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    problems: tuple[Problem, ...]
    chains: tuple[tuple[str, str, str, str, str], ...]  # one row per path; "" where the chain stops
    files: tuple[str, ...]
    contracts: int
    counts: dict[str, int] = field(default_factory=dict)  # nodes per kind

    def node(self, kind: str, id_: str) -> Node | None:
        return next((n for n in self.nodes if n.kind == kind and n.id == id_), None)

    @property
    def dangling(self) -> int:
        return sum(1 for p in self.problems if p.status == DANGLING)

    @property
    def inert(self) -> int:
        return sum(1 for p in self.problems if p.status == INERT)


# ---------------------------------------------------------------- loading


def contract_paths(patterns: Iterable[str | Path]) -> list[Path]:
    """Files, directories (recursive *.yaml / *.yml) and quoted globs, expanded as `pv validate`
    does (pv.paths): de-duplicated, UsageError when a pattern matches nothing."""
    return expand_patterns([str(p) for p in patterns])


def load_trace(patterns: Sequence[str | Path], config) -> Trace:
    from pv.loader import LoadFailure, load_document

    paths = contract_paths(patterns)
    if not paths:
        raise TraceError(f"no contract files (*.yaml, *.yml) match {', '.join(map(str, patterns))}.")
    docs, failures = [], []
    for p in paths:
        loaded = load_document(p, max_bytes=config.max_bytes, root=config.root)
        if isinstance(loaded, LoadFailure):
            failures.append(loaded)
        elif isinstance(loaded.data.get("id"), str):
            docs.append(loaded)
    if not docs:
        why = "; ".join(f.finding.message for f in failures[:3]) or "no file holds a contract with an id"
        raise TraceError(f"none of {len(paths)} file(s) could be traced ({why}). Run `pv validate` first.")
    trace = build_trace(docs, config)
    if failures:
        extra = tuple(
            Problem(DANGLING, "file", f.display, f"not traced: {f.finding.message}", f.finding.location)
            for f in failures
        )
        trace = Trace(
            trace.nodes,
            trace.edges,
            extra + trace.problems,
            trace.chains,
            tuple(f.display for f in failures) + trace.files,
            trace.contracts,
            trace.counts,
        )
    return trace


# ---------------------------------------------------------------- tests on disk


def generated_test_id(config, contract_path: str | Path, falsify_id: str) -> str:
    """pytest node id of a falsifier's generated test, relative to the project root."""
    from pv.generate import test_node_id

    return test_node_id(config, contract_path, falsify_id)


_DEF = "(?:async\\s+)?def\\s+{name}\\s*\\(|class\\s+{name}\\b"


def test_exists(config, node_id: str, cache: dict[Path, str | None]) -> str:
    """Empty when `file.py::name[::name]` is defined in the file (read, not imported), else why not."""
    file, _, rest = node_id.partition("::")
    path = config.path(file)
    if path not in cache:
        try:
            cache[path] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            cache[path] = None
    text = cache[path]
    if text is None:
        return f"{file} does not exist"
    for name in filter(None, rest.split("::")):
        if not re.search(_DEF.format(name=re.escape(name)), text):
            return f"{file} defines no {name}"
    return ""


# ---------------------------------------------------------------- building


def _items(doc, key: str) -> list[tuple[int, dict]]:
    value = doc.data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict) and isinstance(v.get("id"), str)]


def _strs(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _text(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def build_trace(docs: Sequence, config) -> Trace:
    """The graph over every loaded contract; the first definition of a duplicated id wins."""
    acs: dict[str, Node] = {}
    invs: dict[str, Node] = {}
    gates: dict[str, tuple[Node, dict, str]] = {}
    fals: dict[str, tuple[Node, dict, object]] = {}
    inv_contract: dict[str, str] = {}
    contract_invs: dict[str, list[str]] = {}
    for doc in docs:
        cid = doc.contract_id
        for i, ac in _items(doc, "acceptance_criteria"):
            acs.setdefault(
                ac["id"],
                Node("ac", ac["id"], _text(ac.get("statement")), doc.locate(("acceptance_criteria", i))),
            )
        for i, inv in _items(doc, "invariants"):
            if inv["id"] not in invs:
                invs[inv["id"]] = Node(
                    "invariant", inv["id"], _text(inv.get("statement")), doc.locate(("invariants", i))
                )
                inv_contract[inv["id"]] = cid
                contract_invs.setdefault(cid, []).append(inv["id"])
        for i, g in _items(doc, "gates"):
            notes = ("ship-blocking",) if g.get("ship_blocking") is True else ()
            gates.setdefault(
                g["id"],
                (Node("gate", g["id"], _text(g.get("rule")), doc.locate(("gates", i)), notes=notes), g, cid),
            )
        for i, f in _items(doc, "falsifiers"):
            fals.setdefault(
                f["id"],
                (
                    Node("falsifier", f["id"], _text(f.get("description")), doc.locate(("falsifiers", i))),
                    f,
                    doc,
                ),
            )

    nodes: dict[tuple[str, str], Node] = {}
    edges: list[Edge] = []
    problems: list[Problem] = []
    file_cache: dict[Path, str | None] = {}

    def mark(node: Node, status: str, note: str, *, problem: bool = True) -> Node:
        worst = DANGLING if DANGLING in (status, node.status) else status  # dangling outranks inert
        new = Node(node.kind, node.id, node.label, node.location, worst, (*node.notes, note))
        nodes[new.key] = new
        if problem:
            problems.append(Problem(status, node.kind, node.id, note, node.location))
        return new

    def ref(kind: str, id_: str, defined: dict, where: Location | None, owner: str, field_: str) -> Node:
        """The node a reference points at; an undefined id becomes a dangling placeholder node."""
        if (kind, id_) in nodes:
            return nodes[(kind, id_)]
        if id_ in defined:
            found = defined[id_]
            nodes[(kind, id_)] = found[0] if isinstance(found, tuple) else found
            return nodes[(kind, id_)]
        node = Node(kind, id_, "", None, DANGLING, (f"{owner}.{field_} names {id_}, defined in no contract",))
        nodes[node.key] = node
        problems.append(Problem(DANGLING, kind, id_, node.notes[0], where))
        return node

    for table, kind in ((acs, "ac"), (gates, "gate"), (invs, "invariant"), (fals, "falsifier")):
        for id_, v in table.items():
            nodes[(kind, id_)] = v[0] if isinstance(v, tuple) else v

    bound_acs, enforced, listed = set(), set(), set()
    gate_listing: dict[str, list[str]] = {}
    for gid, (gnode, g, _cid) in gates.items():
        ac = g.get("binds_to")
        if isinstance(ac, str):
            target = ref("ac", ac, acs, gnode.location, gid, "binds_to")
            bound_acs.add(ac)
            edges.append(Edge(target.key, gnode.key, ac not in acs))
        else:
            mark(nodes[gnode.key], DANGLING, f"{gid} binds to no acceptance criterion")
        for inv in _strs(g.get("enforces")):
            target = ref("invariant", inv, invs, gnode.location, gid, "enforces")
            enforced.add(inv)
            edges.append(Edge(gnode.key, target.key, inv not in invs))
        gate_listing[gid] = _strs(g.get("falsifiers"))
        for fid in gate_listing[gid]:
            target = ref("falsifier", fid, fals, gnode.location, gid, "falsifiers")
            listed.add(fid)
            if fid in fals:
                attacks = set(_strs(fals[fid][1].get("attacks")))
                if not attacks & set(_strs(g.get("enforces"))):
                    mark(
                        nodes[gnode.key],
                        DANGLING,
                        f"{gid} lists {fid}, which attacks none of the invariants {gid} enforces",
                    )
        evidence = g.get("evidence")
        for ev in evidence if isinstance(evidence, list) else []:
            test = ev.get("test") if isinstance(ev, dict) else None
            if not isinstance(test, str):
                continue
            why = test_exists(config, test, file_cache)
            tnode = nodes.get(("test", test)) or Node(
                "test", test, "evidence of " + gid, None, DANGLING if why else OK, (why,) if why else ()
            )
            nodes[tnode.key] = tnode
            if why:
                problems.append(Problem(DANGLING, "test", test, f"evidence of {gid}: {why}", gnode.location))
            edges.append(Edge(gnode.key, tnode.key, bool(why)))

    executable_attackers: dict[str, list[str]] = {}
    prose_attackers: dict[str, list[str]] = {}
    for fid, (fnode, f, doc) in fals.items():
        is_exec = bool(f.get("kind")) and bool(f.get("target"))
        for inv in _strs(f.get("attacks")):
            target = ref("invariant", inv, invs, fnode.location, fid, "attacks")
            edges.append(Edge(target.key, fnode.key, inv not in invs))
            (executable_attackers if is_exec else prose_attackers).setdefault(inv, []).append(fid)
        if not is_exec:
            mark(nodes[fnode.key], INERT, f"{fid} is prose: no kind + target, so it never runs")
            continue
        fnode = mark(nodes[fnode.key], nodes[fnode.key].status, f"{f['kind']} → {f['target']}", problem=False)
        test = generated_test_id(config, doc.path, fid)
        why = test_exists(config, test, file_cache)
        if why:
            why = f"{why}; run `pv generate`"
            problems.append(
                Problem(DANGLING, "test", test, f"generated test of {fid}: {why}", fnode.location)
            )
        nodes[("test", test)] = Node(
            "test", test, "generated from " + fid, None, DANGLING if why else OK, (why,) if why else ()
        )
        edges.append(Edge(fnode.key, ("test", test), bool(why)))

    for aid, node in acs.items():
        if aid not in bound_acs:
            mark(node, DANGLING, f"{aid}: no gate binds to it")
    for inv, node in invs.items():
        if inv not in enforced:
            mark(nodes[node.key], DANGLING, f"{inv}: no gate enforces it")
        if inv not in executable_attackers:
            prose = prose_attackers.get(inv, [])
            why = (
                f"attacked only by prose falsifier(s) {', '.join(prose)}"
                if prose
                else "attacked by no falsifier"
            )
            mark(nodes[node.key], INERT, f"{inv}: {why}")
    for fid, (fnode, _f, _doc) in fals.items():
        if fid not in listed:
            mark(nodes[fnode.key], DANGLING, f"{fid}: no gate lists it")
    for doc in docs:
        own = contract_invs.get(doc.contract_id, [])
        if own and not any(inv in executable_attackers for inv in own):
            problems.append(
                Problem(
                    INERT,
                    "contract",
                    doc.contract_id,
                    f"{doc.contract_id} is inert: none of its {len(own)} invariant(s) has an "
                    "executable falsifier",
                    doc.locate(("invariants",)),
                )
            )

    edges = list(dict.fromkeys(edges))
    chains = _chains(nodes, edges, gate_listing)
    order = {k: i for i, k in enumerate(COLUMNS)}
    ordered = sorted(nodes.values(), key=lambda n: order[n.kind])  # stable: keeps contract order per column
    counts = {k: sum(1 for n in ordered if n.kind == k) for k in COLUMNS}
    return Trace(
        tuple(ordered),
        tuple(edges),
        tuple(problems),
        chains,
        tuple(d.display for d in docs),
        len(docs),
        counts,
    )


def _chains(nodes, edges, gate_listing) -> tuple[tuple[str, str, str, str, str], ...]:
    """Every path AC → gate → invariant → falsifier → test, plus rows for pieces no path reaches."""
    out_of: dict[tuple[str, str], list[tuple[str, str]]] = {}
    into: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for e in edges:
        out_of.setdefault(e.src, []).append(e.dst)
        into.setdefault(e.dst, []).append(e.src)
    rows: list[tuple[str, str, str, str, str]] = []
    seen: set[tuple[str, str]] = set()

    def succ(key, kind):
        return [k for k in out_of.get(key, []) if k[0] == kind]

    def tail(inv_key, gate_id):
        """Rows below one invariant: the falsifiers the gate lists first, then other attackers."""
        fs = succ(inv_key, "falsifier")
        listed = gate_listing.get(gate_id, [])
        fs.sort(key=lambda k: (k[1] not in listed, listed.index(k[1]) if k[1] in listed else 0))
        if not fs:
            return [("", "")]
        out = []
        for f in fs:
            seen.add(f)
            tests = succ(f, "test") or [("test", "")]
            for t in tests:
                seen.add(t)
                out.append((f[1], t[1]))
        return out

    for key, node in nodes.items():
        if node.kind != "ac":
            continue
        seen.add(key)
        gs = succ(key, "gate") or [("gate", "")]
        for g in gs:
            seen.add(g)
            invs = succ(g, "invariant") or [("invariant", "")]
            for inv in invs:
                seen.add(inv)
                for f, t in tail(inv, g[1]) if inv[1] else [("", "")]:
                    rows.append((key[1], g[1], inv[1], f, t))
    for kind in ("gate", "invariant", "falsifier"):  # what no AC reaches, so no row hides a gap
        for key, node in nodes.items():
            if node.kind != kind or key in seen:
                continue
            seen.add(key)
            if kind == "gate":
                for inv in succ(key, "invariant") or [("invariant", "")]:
                    rows.append(("", key[1], inv[1], "", ""))
            elif kind == "invariant":
                for f, t in tail(key, ""):
                    rows.append(("", "", key[1], f, t))
            else:
                for t in succ(key, "test") or [("test", "")]:
                    rows.append(("", "", "", key[1], t[1]))
    return tuple(rows)
