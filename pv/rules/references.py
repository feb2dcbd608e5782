"""PV3xx: every reference resolves (invariants, criteria, falsifiers, contracts, constants,
evidence tests) and `depends_on` has no cycles. Evidence is checked by parsing test files with
`ast`; nothing is imported."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from pv.findings import Finding, Severity
from pv.index import ContractIndex, items, str_list
from pv.rules._doc import doc
from pv.rules.registry import CheckContext, Rule, index_check, register

E = Severity.ERROR
MAX_TEST_FILE_BYTES = 4 * 1024 * 1024

UNKNOWN_INVARIANT = register(
    Rule(
        "PV301",
        "unknown-invariant",
        E,
        "A gate, falsifier or failure mode refers to an invariant no contract defines.",
        doc(
            "Resolves gate `enforces`, falsifier `attacks` and failure-mode `violates` against every "
            "invariant in the validated set.",
            "A gate enforcing a non-existent invariant enforces nothing; a typo hides that.",
            "gates:\n  - enforces: [INV-TOK-01]",
            "gates:\n  - enforces: [INV-TOK-001]",
        ),
        "Fix the id, or define the invariant.",
    )
)
UNKNOWN_CRITERION = register(
    Rule(
        "PV302",
        "unknown-acceptance-criterion",
        E,
        "A gate binds to an acceptance criterion no contract defines.",
        doc(
            "Resolves gate `binds_to` against every contract's `acceptance_criteria`.",
            "The binding is what makes a gate count towards acceptance; a dangling one counts for nothing.",
            "binds_to: AC-TOK-009",
            "binds_to: AC-TOK-001",
        ),
        "Bind the gate to an existing AC id, or add the criterion to the acceptance registry.",
    )
)
UNKNOWN_FALSIFIER = register(
    Rule(
        "PV303",
        "unknown-falsifier",
        E,
        "A gate lists a falsifier no contract defines.",
        doc(
            "Resolves gate `falsifiers` against every falsifier id.",
            "The gate looks backed by an attack that does not exist.",
            "falsifiers: [FALSIFY-TOK-009]",
            "falsifiers: [FALSIFY-TOK-001]",
        ),
        "Fix the id, or define the falsifier.",
    )
)
UNKNOWN_CONTRACT = register(
    Rule(
        "PV304",
        "unknown-contract",
        E,
        "`depends_on` or a constraint names a contract that is not in the validated set.",
        doc(
            "Resolves contract ids in `depends_on` and in constraint sides (C-ID.name).",
            "A dependency that cannot be found cannot be checked; constraints against it never run.",
            "depends_on: [C-MODLE]",
            "depends_on: [C-MODEL]",
        ),
        "Fix the id, or validate the other contract together with this one.",
    )
)
UNKNOWN_CONSTANT = register(
    Rule(
        "PV305",
        "unknown-constant",
        E,
        "A constraint refers to a constant the named contract does not pin.",
        doc(
            "Resolves C-ID.name against that contract's `constants`.",
            "The constraint cannot be evaluated, so it silently holds.",
            "lhs: C-MODEL.vocab",
            "lhs: C-MODEL.vocab_size",
        ),
        "Fix the constant name, or pin it in the other contract's `constants`.",
    )
)
MISSING_EVIDENCE = register(
    Rule(
        "PV306",
        "missing-evidence",
        E,
        "A gate's evidence test file or test function does not exist.",
        doc(
            "Checks that `path.py::name[::name]` exists under [tool.pv].tests_root, by parsing the file "
            "with `ast` (never importing it).",
            "Evidence that points nowhere is a claim without backing.",
            "evidence: [{test: tests/test_tok.py::test_roundtrip}]",
            "evidence: [{test: tests/test_tok.py::test_round_trip}]",
        ),
        "Point the evidence at an existing test, or write the test.",
    )
)
DEPENDENCY_CYCLE = register(
    Rule(
        "PV307",
        "dependency-cycle",
        E,
        "Contracts depend on each other in a cycle.",
        doc(
            "Finds cycles in the `depends_on` graph and prints the cycle path.",
            "Dependencies define an order (what builds on what); a cycle has none.",
            "# C-A: depends_on: [C-B]\n# C-B: depends_on: [C-A]",
            "# C-B: depends_on: []",
        ),
        "Remove one dependency of the cycle.",
    )
)

# (section, field, kind resolved, rule, is_list)
_REFS = (
    ("gates", "enforces", "invariant", UNKNOWN_INVARIANT, True),
    ("falsifiers", "attacks", "invariant", UNKNOWN_INVARIANT, True),
    ("failure_modes", "violates", "invariant", UNKNOWN_INVARIANT, True),
    ("gates", "binds_to", "acceptance_criterion", UNKNOWN_CRITERION, False),
    ("gates", "falsifiers", "falsifier", UNKNOWN_FALSIFIER, True),
)


@index_check(UNKNOWN_INVARIANT, UNKNOWN_CRITERION, UNKNOWN_FALSIFIER, UNKNOWN_CONTRACT)
def check_references(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    for d in index.docs:
        cid = d.contract_id
        for section, field, kind, rule, is_list in _REFS:
            for i, item in index.items(d, section):
                value = item.get(field)
                refs = str_list(value) if is_list else ([(None, value)] if isinstance(value, str) else [])
                for j, ref in refs:
                    if index.lookup(kind, ref) is None:
                        path = (section, i, field) if j is None else (section, i, field, j)
                        yield rule.finding(
                            f"{section}[{i}].{field}: {ref} is not defined by any contract",
                            d.locate(path),
                            contract_id=cid,
                        )
        for j, dep in str_list(d.data.get("depends_on")):
            if index.lookup("contract", dep) is None:
                yield UNKNOWN_CONTRACT.finding(
                    f"depends_on: {dep} is not among the validated contracts",
                    d.locate(("depends_on", j)),
                    contract_id=cid,
                )


@index_check(UNKNOWN_CONTRACT, UNKNOWN_CONSTANT)
def check_constant_refs(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    for d in index.docs:
        for i, con in index.items(d, "constraints"):
            for side in ("lhs", "rhs"):
                ref = con.get(side)
                if not (isinstance(ref, str) and ref.startswith("C-") and "." in ref):
                    continue
                contract_id, _, name = ref.partition(".")
                target = index.lookup("contract", contract_id)
                if target is None:
                    yield UNKNOWN_CONTRACT.finding(
                        f"constraints[{i}].{side}: {ref} names contract {contract_id}, "
                        "which is not among the validated contracts",
                        d.locate(("constraints", i, side)),
                        contract_id=d.contract_id,
                    )
                elif index.constant(ref) is None:
                    yield UNKNOWN_CONSTANT.finding(
                        f"constraints[{i}].{side}: {contract_id} pins no constant {name!r}",
                        d.locate(("constraints", i, side)),
                        contract_id=d.contract_id,
                    )


def _test_names(path: Path, ctx: CheckContext) -> dict | str:
    """Top-level defs/classes of a test file as {name: {method names}}, or an error string."""
    cache = ctx.scratch.setdefault("evidence_ast", {})
    if path in cache:
        return cache[path]
    try:
        if not path.is_file():
            out: dict | str = "file not found"
        elif path.stat().st_size > MAX_TEST_FILE_BYTES:
            out = "file too large to parse"
        else:
            tree = ast.parse(path.read_bytes(), filename=str(path))
            out = {}
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    out[node.name] = set()
                elif isinstance(node, ast.ClassDef):
                    out[node.name] = {
                        n.name
                        for n in node.body
                        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    }
    except (OSError, SyntaxError, ValueError, RecursionError) as exc:
        out = f"cannot parse it ({type(exc).__name__}: {exc})"
    cache[path] = out
    return out


@index_check(MISSING_EVIDENCE)
def check_evidence(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    tests_root = ctx.config.path(ctx.config.tests_root)
    for d in index.docs:
        for i, gate in index.items(d, "gates"):
            for j, ev in items(gate, "evidence"):
                test = ev.get("test")
                if not isinstance(test, str) or "::" not in test:
                    continue  # malformed: the schema rules report it
                file_part, *names = test.split("::")
                names_found = _test_names(tests_root / file_part, ctx)
                problem = None
                if isinstance(names_found, str):
                    problem = f"{names_found} (looked under {tests_root})"
                elif names[0] not in names_found:
                    problem = f"{file_part} defines no top-level {names[0]!r}"
                elif len(names) > 1 and names[1] not in names_found[names[0]]:
                    problem = f"{file_part}: class {names[0]} has no {names[1]!r}"
                if problem:
                    yield MISSING_EVIDENCE.finding(
                        f"gates[{i}].evidence[{j}]: {test}: {problem}",
                        d.locate(("gates", i, "evidence", j, "test")),
                        contract_id=d.contract_id,
                    )


@index_check(DEPENDENCY_CYCLE)
def check_cycles(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    graph = {
        cid: [dep for _, dep in str_list(doc.data.get("depends_on")) if dep in index.contracts]
        for cid, doc in index.contracts.items()
    }
    seen_cycles: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    for start in sorted(graph):
        if state.get(start):
            continue
        # Iterative DFS: contracts sets can be large and recursion depth must not depend on input.
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = [start]
        state[start] = 1
        while stack:
            node, k = stack[-1]
            deps = graph[node]
            if k < len(deps):
                stack[-1] = (node, k + 1)
                nxt = deps[k]
                if state.get(nxt) == 1:
                    cycle = trail[trail.index(nxt) :]
                    pivot = cycle.index(min(cycle))
                    canon = tuple(cycle[pivot:] + cycle[:pivot])
                    if canon not in seen_cycles:
                        seen_cycles.add(canon)
                        yield _cycle_finding(index, canon)
                elif not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
                    trail.append(nxt)
            else:
                state[node] = 2
                stack.pop()
                trail.pop()


def _cycle_finding(index: ContractIndex, cycle: tuple[str, ...]) -> Finding:
    first = index.contracts[cycle[0]]
    nxt = cycle[1] if len(cycle) > 1 else cycle[0]
    j = next((j for j, dep in str_list(first.data.get("depends_on")) if dep == nxt), None)
    loc = first.locate(("depends_on", j) if j is not None else ("depends_on",))
    path = " → ".join((*cycle, cycle[0]))
    return DEPENDENCY_CYCLE.finding(f"dependency cycle: {path}", loc, contract_id=cycle[0])
