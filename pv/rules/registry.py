"""The rule registry: every check pv runs is a Rule with a stable id, a kebab name and a doc.

API (stable):
    CheckContext(config, scratch)       what every check receives besides the doc/index
    Rule(id, name, severity, summary, explanation, fix)    frozen; Rule.finding(message, location, ...)
    register(rule) -> rule              add one rule (ids and names must be new)
    document_check(*rules)              decorator: fn(doc, ctx) -> Iterable[Finding]   (one LoadedDocument)
    index_check(*rules)                 decorator: fn(index, ctx) -> Iterable[Finding] (the ContractIndex)
    all_rules() -> tuple[Rule, ...]     sorted by id
    get_rule(id_or_name) -> Rule        case-insensitive; KeyError with "did you mean" on a miss
    document_checks() / index_checks()  the registered check functions, in registration order
    registry_fingerprint() -> str       hash of rule ids + rule module sources (cache key part)

One module per rule family under pv/rules/ registers its rules at import time; `load_builtin()`
imports every module of the package (lazily, so `pv.loader` can import its rule records without a
cycle). Adding a rule family is adding a module; nothing else to edit.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pv.config import PvConfig
from pv.findings import Finding, Location, Severity

# Families: PV0xx load/parse, PV1xx schema, PV2xx ids, PV3xx references, PV4xx versioning,
# PV5xx coverage/executability, PV6xx constraints, PV8xx suppression comments, PV9xx dialects.
BUILTIN_MODULES = (
    "pv.rules.load",
    "pv.rules.schema",
    "pv.rules.ids",
    "pv.rules.references",
    "pv.rules.versioning",
    "pv.rules.coverage",
    "pv.rules.constraints",
    "pv.rules.suppression",
    "pv.rules.dialects",
)


@dataclass(frozen=True)
class CheckContext:
    """What checks may consult besides the document: the project config and a per-run scratch
    cache (e.g. parsed test files), so one run parses each test file once."""

    config: PvConfig
    scratch: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Rule:
    id: str  # stable, e.g. "PV101"
    name: str  # kebab, e.g. "unknown-key"
    severity: Severity
    summary: str  # one line
    explanation: str  # markdown: What it does / Why is this bad? / Example / Use instead
    fix: str  # imperative hint

    def finding(
        self,
        message: str,
        location: Location,
        *,
        fix: str | None = None,
        contract_id: str = "",
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            rule_id=self.id,
            rule_name=self.name,
            severity=severity or self.severity,
            message=message,
            location=location,
            fix=self.fix if fix is None else fix,
            contract_id=contract_id,
        )


_RULES: dict[str, Rule] = {}
_BY_NAME: dict[str, Rule] = {}
_DOC_CHECKS: list[tuple[Callable[..., Iterable[Finding]], tuple[Rule, ...]]] = []
_INDEX_CHECKS: list[tuple[Callable[..., Iterable[Finding]], tuple[Rule, ...]]] = []
_loaded = False


def register(rule: Rule) -> Rule:
    if rule.id in _RULES and _RULES[rule.id] != rule:
        raise ValueError(f"rule id {rule.id} registered twice")
    if rule.name in _BY_NAME and _BY_NAME[rule.name] != rule:
        raise ValueError(f"rule name {rule.name} registered twice")
    _RULES[rule.id] = rule
    _BY_NAME[rule.name] = rule
    return rule


def document_check(*rules: Rule) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a per-document check emitting findings of `rules`."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _DOC_CHECKS.append((fn, rules))
        return fn

    return deco


def index_check(*rules: Rule) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a cross-contract check over the whole set of documents."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _INDEX_CHECKS.append((fn, rules))
        return fn

    return deco


def load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    import pv.rules

    names = {m.name for m in pkgutil.iter_modules(pv.rules.__path__) if not m.name.startswith("_")}
    for mod in (*BUILTIN_MODULES, *sorted(f"pv.rules.{n}" for n in names - {"registry"})):
        importlib.import_module(mod)
    _loaded = True


def all_rules() -> tuple[Rule, ...]:
    load_builtin()
    return tuple(sorted(_RULES.values(), key=lambda r: r.id))


def get_rule(id_or_name: str) -> Rule:
    load_builtin()
    key = id_or_name.strip()
    rule = _RULES.get(key.upper()) or _BY_NAME.get(key.lower())
    if rule is not None:
        return rule
    candidates = [*_RULES, *_BY_NAME]
    close = difflib.get_close_matches(key.lower(), [c.lower() for c in candidates], n=3, cutoff=0.6)
    hint = (
        f" Did you mean {', '.join(repr(c.upper() if c.startswith('pv') else c) for c in close)}?"
        if close
        else ""
    )
    raise KeyError(f"no rule {id_or_name!r}.{hint} `pv rules` lists every rule.")


def document_checks() -> tuple[Callable[..., Iterable[Finding]], ...]:
    load_builtin()
    return tuple(fn for fn, _ in _DOC_CHECKS)


def index_checks() -> tuple[Callable[..., Iterable[Finding]], ...]:
    load_builtin()
    return tuple(fn for fn, _ in _INDEX_CHECKS)


def registry_fingerprint() -> str:
    """Changes whenever a rule is added/renamed or any rule module's source changes."""
    load_builtin()
    h = hashlib.sha256()
    for rule in all_rules():
        h.update(f"{rule.id}|{rule.name}|{rule.severity}\n".encode())
    rules_dir = Path(__file__).parent
    for src in sorted(rules_dir.glob("*.py")):
        h.update(src.name.encode())
        h.update(src.read_bytes())
    # Dialect checkers produce cached per-document findings too: any change to them invalidates the cache.
    extras = [rules_dir.parent / name for name in ("loader.py", "index.py", "validate.py")]
    extras += sorted((rules_dir.parent / "dialects").glob("*.py"))
    for p in extras:
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()
