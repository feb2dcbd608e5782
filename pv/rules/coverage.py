"""PV5xx: coverage and executability — are invariants attacked, can the attacks run, are
ship-blocking gates backed by something executable.

API: attackers(index) -> {INV id: [falsifier Definition]}; inert_contract_ids(index) -> list[str].
Kinds are checked against pv.kinds.KindRegistry (built-ins, [tool.pv].kinds, entry points), which
reads kind names from the source files and entry-point metadata, never by importing project code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from pv.findings import Finding, Severity
from pv.index import ContractIndex, Definition, is_executable, items, str_list
from pv.loader import LoadedDocument
from pv.rules._doc import doc
from pv.rules.registry import CheckContext, Rule, document_check, index_check, register

E, W = Severity.ERROR, Severity.WARNING

UNATTACKED = register(
    Rule(
        "PV501",
        "unattacked-invariant",
        W,
        "No falsifier attacks this invariant.",
        doc(
            "Reports invariants that no falsifier in any contract lists in `attacks`.",
            "An invariant nobody tries to break is a hope, not a guarantee.",
            "invariants:\n  - id: INV-TOK-002\n    statement: ...\nfalsifiers: []",
            "falsifiers:\n  - id: FALSIFY-TOK-002\n"
            "    attacks: [INV-TOK-002]\n    kind: round-trip\n    target: ...",
        ),
        "Add a falsifier that attacks it.",
    )
)
GATE_UNBACKED = register(
    Rule(
        "PV502",
        "ship-blocking-gate-unbacked",
        E,
        "A ship-blocking gate lists no executable falsifier.",
        doc(
            "Requires every gate with `ship_blocking: true` to list at least one falsifier that has both "
            "`kind` and `target`.",
            "A gate that blocks shipping but runs nothing blocks on paper only.",
            "gates:\n  - id: GATE-TOK-001\n    ship_blocking: true\n    falsifiers: []",
            "gates:\n  - id: GATE-TOK-001\n"
            "    ship_blocking: true\n    falsifiers: [FALSIFY-TOK-001]  # with kind+target",
        ),
        "List an executable falsifier (one with kind and target) in the gate, or make it non-blocking.",
    )
)
HALF_EXECUTABLE = register(
    Rule(
        "PV503",
        "half-executable-falsifier",
        E,
        "A falsifier states `kind` without `target`, or `target` without `kind`.",
        doc(
            "Requires `kind` and `target` to come together.",
            "With one of the two the falsifier looks executable but cannot be generated or run.",
            "falsifiers:\n  - id: FALSIFY-TOK-001\n    kind: round-trip",
            "falsifiers:\n  - id: FALSIFY-TOK-001\n"
            "    kind: round-trip\n    target: trainer.tokenizer:BpeTokenizer",
        ),
        "Add the missing key, or remove both to keep the falsifier as prose.",
    )
)
TARGET_OUTSIDE = register(
    Rule(
        "PV504",
        "target-outside-packages",
        E,
        "A falsifier's target (or a param naming code) is in a module outside [tool.pv].target_packages.",
        doc(
            "Checks the module part of `target`, and of every param the kind declares as naming code "
            "(TARGET_PARAMS / SIBLING_PARAMS, `$constant` values included), against the target packages.",
            "Falsifiers must attack the project's own code; a target in a third-party package tests "
            "someone else's guarantees (and could run arbitrary code paths).",
            "target: numpy.linalg:norm",
            "target: trainer.model:GPT",
        ),
        "Target an object inside one of the configured packages, or add the package to target_packages.",
    )
)
TARGET_ESCAPES = register(
    Rule(
        "PV507",
        "target-escapes-packages",
        E,
        "A target's attribute chain leaves [tool.pv].target_packages (through an import or a dunder).",
        doc(
            "Reads the target module's source with `ast` (nothing is imported) and follows the chain "
            "after the colon: a name the module imports from outside the packages, an alias of one, a "
            "dunder hop (`__builtins__`, `__globals__`) or a malformed code-naming param is reported. "
            "At run time `pv.runtime.resolve` checks every object of the chain again.",
            "`trainer.cli:os.system` lies inside `trainer` only by its module name: the object is "
            "`os.system`, and a contract that reaches it makes the gate run a shell command.",
            "target: trainer.cli:os.system\nparams: {call: {command: make-it-so}}",
            "target: trainer.cli:resolve_pretrain_config",
        ),
        "Name an object the project defines (a function, class or value of its own module).",
    )
)
TARGET_UNRESOLVED = register(
    Rule(
        "PV508",
        "unresolved-target",
        W,
        "A target names a module pv cannot find, or a name its module does not define.",
        doc(
            "Looks the module up on disk (the project root first, then the import path) and the chain's "
            "first name among the module's top-level definitions and imports, without importing it.",
            "A target that names nothing fails only when the gate runs; a typo is cheaper to fix now.",
            "target: trainer.tokenizer:BpeTokeniser",
            "target: trainer.tokenizer:BpeTokenizer",
        ),
        "Fix the module path or the name; a name made at import time needs a module-level __getattr__.",
    )
)
UNKNOWN_KIND = register(
    Rule(
        "PV505",
        "unknown-falsifier-kind",
        E,
        "A falsifier's `kind` is neither a built-in kind nor one of the project's kinds.",
        doc(
            "Looks the name up among pv's built-in kinds, the modules of [tool.pv].kinds and the "
            "`pv.kinds` entry points, reading each module's NAME without importing it.",
            "An unknown kind cannot be generated into a test; the falsifier never runs.",
            "kind: roundtrip",
            "kind: round-trip",
        ),
        "Use a known kind (`pv kinds` lists them), or write the kind module and list it in [tool.pv].kinds.",
    )
)
INERT = register(
    Rule(
        "PV506",
        "inert-contract",
        W,
        "The contract has invariants but no executable falsifier attacks any of them.",
        doc(
            "Reports contracts whose invariants are attacked by prose falsifiers only (or none).",
            "Everything the contract states is unchecked: it documents, it does not guard.",
            "falsifiers:\n  - id: FALSIFY-TOK-001\n    attacks: [INV-TOK-001]\n    description: prose only",
            "falsifiers:\n  - id: FALSIFY-TOK-001\n"
            "    attacks: [INV-TOK-001]\n    kind: round-trip\n    target: ...",
        ),
        "Give at least one falsifier a kind and a target.",
    )
)


def attackers(index: ContractIndex) -> dict[str, list[Definition]]:
    if "attackers" in index.memo:
        return index.memo["attackers"]
    out: dict[str, list[Definition]] = {}
    index.memo["attackers"] = out
    for f in index.definitions.get("falsifier", {}).values():
        for _, inv in str_list(f.node.get("attacks")):
            out.setdefault(inv, []).append(f)
    return out


def inert_contract_ids(index: ContractIndex) -> list[str]:
    if "inert" in index.memo:
        return list(index.memo["inert"])
    by_inv = attackers(index)
    inert: list[str] = []
    for cid, d in index.contracts.items():
        invs = [inv.get("id") for _, inv in index.items(d, "invariants") if isinstance(inv.get("id"), str)]
        if invs and not any(is_executable(f.node) for inv in invs for f in by_inv.get(inv, ())):
            inert.append(cid)
    index.memo["inert"] = tuple(inert)
    return inert


@index_check(UNATTACKED, INERT)
def check_attacked(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    by_inv = attackers(index)
    for d in index.docs:
        for i, inv in index.items(d, "invariants"):
            ident = inv.get("id")
            if isinstance(ident, str) and ident not in by_inv:
                yield UNATTACKED.finding(
                    f"invariant {ident} is attacked by no falsifier",
                    d.locate(("invariants", i, "id")),
                    contract_id=d.contract_id,
                )
    for cid in inert_contract_ids(index):
        d = index.contracts[cid]
        yield INERT.finding(
            f"contract {cid} is inert: no executable falsifier attacks any of its invariants",
            d.locate(("invariants",)),
            contract_id=cid,
        )


@index_check(GATE_UNBACKED)
def check_ship_blocking(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    for d in index.docs:
        for i, gate in index.items(d, "gates"):
            if gate.get("ship_blocking") is not True:
                continue
            listed = [ref for _, ref in str_list(gate.get("falsifiers"))]
            runnable = [r for r in listed if (f := index.lookup("falsifier", r)) and is_executable(f.node)]
            if not runnable:
                what = (
                    "lists no falsifiers"
                    if not listed
                    else f"lists only non-executable falsifiers ({', '.join(listed)})"
                )
                yield GATE_UNBACKED.finding(
                    f"ship-blocking gate {gate.get('id', f'gates[{i}]')} {what}",
                    d.locate(("gates", i, "id")),
                    contract_id=d.contract_id,
                )


@document_check(HALF_EXECUTABLE)
def check_half_executable(d: LoadedDocument, ctx: CheckContext) -> Iterator[Finding]:
    for i, f in items(d.data, "falsifiers"):
        has_kind, has_target = "kind" in f, "target" in f
        if has_kind != has_target:
            present, missing = ("kind", "target") if has_kind else ("target", "kind")
            yield HALF_EXECUTABLE.finding(
                f"falsifier {f.get('id', f'falsifiers[{i}]')} has `{present}` but no `{missing}`",
                d.locate(("falsifiers", i, present)),
                fix=f"Add `{missing}:`, or remove `{present}:` to keep it as prose.",
                contract_id=d.contract_id,
            )


def _target_findings(d, i: int, f: dict, ref, packages, ctx: CheckContext) -> Iterator[Finding]:
    """The target and every code-naming param of falsifiers[i], checked statically (pv.targets)."""
    from pv.targets import ESCAPE, OUTSIDE, check_target, code_param_values

    root = ctx.config.root
    checks = [("target", f.get("target"), f.get("target"))] if isinstance(f.get("target"), str) else []
    checks += [
        (f"params.{p}", raw, value) for p, raw, value in code_param_values(f, ref, d.data.get("constants"))
    ]
    for where, raw, value in checks:
        problem = check_target(value, packages, root, scratch=ctx.scratch)
        if problem is None:
            continue
        rule = {OUTSIDE: TARGET_OUTSIDE, ESCAPE: TARGET_ESCAPES}.get(problem.kind, TARGET_UNRESOLVED)
        shown = f"{where} = {raw}" + (f" (= {value!r})" if raw != value else "")
        path = ("falsifiers", i, *where.split(".", 1)) if where != "target" else ("falsifiers", i, "target")
        yield rule.finding(f"{shown}: {problem.message}", d.locate(path), contract_id=d.contract_id)


@index_check(TARGET_OUTSIDE, TARGET_ESCAPES, TARGET_UNRESOLVED, UNKNOWN_KIND)
def check_target_and_kind(index: ContractIndex, ctx: CheckContext) -> Iterator[Finding]:
    from pv.kinds import KindConfigError, KindRegistry

    packages = ctx.config.target_packages
    try:
        registry = KindRegistry.for_config(ctx.config)
    except KindConfigError as exc:
        from pv.errors import ConfigError

        raise ConfigError(f"{ctx.config.pyproject or ctx.config.root}: {exc}") from exc
    known = registry.names()
    for d in index.docs:
        for i, f in index.items(d, "falsifiers"):
            kind = f.get("kind")
            ref = registry.ref(kind) if isinstance(kind, str) and kind in registry else None
            if packages:
                yield from _target_findings(d, i, f, ref, packages, ctx)
            if isinstance(kind, str) and kind and kind not in known:
                close = difflib.get_close_matches(kind, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                yield UNKNOWN_KIND.finding(
                    f"unknown kind {kind!r}{hint}; known kinds: {', '.join(known)}",
                    d.locate(("falsifiers", i, "kind")),
                    contract_id=d.contract_id,
                )
