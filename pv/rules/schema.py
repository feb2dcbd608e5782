"""PV1xx: conformance to the contract JSON Schema (pv/schema/contract-v1.json).

One compiled Draft 2020-12 validator per process; each ValidationError is mapped to a rule by its
validator keyword and located via its absolute path. Pattern errors on ids and versions are left
to the friendlier PV2xx/PV4xx messages built here from the same error.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from typing import TYPE_CHECKING

from pv import SCHEMA_VERSION
from pv.findings import Finding, Severity
from pv.loader import LoadedDocument
from pv.rules._doc import doc, fmt_path
from pv.rules._fastschema import Unsupported, compile_schema
from pv.rules.registry import CheckContext, Rule, document_check, register

if TYPE_CHECKING:  # jsonschema is imported only when a document is not certainly valid
    from jsonschema import Draft202012Validator, ValidationError

E = Severity.ERROR

SCHEMA_MARKER = register(
    Rule(
        "PV100",
        "missing-schema-marker",
        E,
        f"The contract does not declare `schema: {SCHEMA_VERSION}`.",
        doc(
            "Requires the top-level `schema` key with the exact value `pv/v1`.",
            "The marker says which rules apply; without it a file from another dialect or a typo would be "
            "checked against the wrong format.",
            "id: C-MODEL\nversion: 1.0.0",
            "schema: pv/v1\nid: C-MODEL\nversion: 1.0.0",
        ),
        f"Add `schema: {SCHEMA_VERSION}` as the first line.",
    )
)
UNKNOWN_KEY = register(
    Rule(
        "PV101",
        "unknown-key",
        E,
        "A mapping has a key the schema does not define.",
        doc(
            "Reports keys outside the schema, suggesting the closest allowed name.",
            "A misspelt key (`invariant:` for `invariants:`) is silently ignored by every consumer, so the "
            "contract states less than its author believes.",
            "invariant:\n  - id: INV-TOK-001",
            "invariants:\n  - id: INV-TOK-001",
        ),
        "Rename the key to one the schema defines, or remove it.",
    )
)
MISSING_KEY = register(
    Rule(
        "PV102",
        "missing-key",
        E,
        "A required key is absent.",
        doc(
            "Reports required keys the mapping lacks.",
            "Required fields are what other contracts and tools rely on (ids, versions, statements).",
            "invariants:\n  - id: INV-TOK-001",
            "invariants:\n  - id: INV-TOK-001\n    statement: ...",
        ),
        "Add the missing key.",
    )
)
WRONG_TYPE = register(
    Rule(
        "PV103",
        "wrong-type",
        E,
        "A value has the wrong type (e.g. a number where a string is expected).",
        doc(
            "Reports values whose YAML type differs from the schema's.",
            'YAML guesses types: `version: 1.0` is a float, `ship_blocking: "yes"` a string.',
            'version: 1.0\nship_blocking: "yes"',
            "version: 1.0.0\nship_blocking: true",
        ),
        "Write the value with the expected type (quote strings, use true/false for booleans).",
    )
)
INVALID_VALUE = register(
    Rule(
        "PV104",
        "invalid-value",
        E,
        "A value breaks a schema constraint (allowed values, length, pattern, uniqueness).",
        doc(
            "Reports enum, const, length, count, pattern and uniqueness violations not covered by a "
            "more specific rule.",
            "Tools branch on these values; one outside the allowed set has no defined meaning.",
            "status: live",
            "status: active",
        ),
        "Use one of the allowed values shown in the message.",
    )
)
ID_FORMAT = register(
    Rule(
        "PV201",
        "invalid-id-format",
        E,
        "An id (or a reference to one) does not follow its pattern.",
        doc(
            "Checks contract, invariant, gate, falsifier, failure-mode, criterion and constraint ids and "
            "constant references against their patterns.",
            "Ids are how contracts refer to each other and how generated tests are named; a malformed one "
            "cannot be resolved.",
            "invariants:\n  - id: inv-tok-1",
            "invariants:\n  - id: INV-TOK-001",
        ),
        "Rewrite the id in the expected form shown in the message.",
    )
)
SEMVER = register(
    Rule(
        "PV401",
        "invalid-semver",
        E,
        "A version is not a semantic version (MAJOR.MINOR.PATCH).",
        doc(
            "Checks `version` and changelog versions against semver 2.0.0.",
            "Versions are compared to order the changelog and to detect breaking changes.",
            "version: v1.2",
            "version: 1.2.0",
        ),
        "Write the version as MAJOR.MINOR.PATCH, e.g. 1.2.0.",
    )
)

_ID_FORMS = {
    "C-": "C-UPPER-KEBAB, e.g. C-TOKENIZER-BPE",
    "INV-": "INV-AREA-NNN, e.g. INV-TOK-001",
    "FALSIFY-": "FALSIFY-AREA-NNN, e.g. FALSIFY-TOK-001",
    "GATE-": "GATE-AREA-NNN, e.g. GATE-TOK-001",
    "AC-": "AC-AREA-NNN, e.g. AC-TOK-001",
    "FM-": "FM-AREA-NNN, e.g. FM-TOK-001",
    "CON-": "CON-UPPER-KEBAB, e.g. CON-TOK-VOCAB-FITS-MODEL",
}
_VALUE_FORMS = {
    "kind": "lower-kebab-case, e.g. tokenizer or round-trip",
    "test": "path/to/test_file.py::test_name (or ::TestClass::test_method)",
    "date": "an ISO date YYYY-MM-DD",
    "target": "a dotted path module.path[:attribute], e.g. trainer.tokenizer:BpeTokenizer",
}
_ID_KEYS = {"id", "depends_on", "enforces", "attacks", "falsifiers", "violates", "binds_to", "lhs", "rhs"}


@functools.cache
def schema() -> dict:
    text = resources.files("pv").joinpath("schema/contract-v1.json").read_text(encoding="utf-8")
    return json.loads(text)


def full_match_pattern(pattern: str) -> str:
    """The schema's ECMA-262 pattern as Python must read it: a final `$` is the end of the string
    (`\\Z`), not also the point before a trailing newline, so `id: "C-X\\n"` is no valid id."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


@functools.cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(full_match_pattern(pattern))


@functools.cache
def validator() -> Draft202012Validator:
    """Draft 2020-12 with two corrections for YAML data: `pattern` anchors as ECMA-262 does (see
    full_match_pattern), and an integer is an int, not also an integral float (`max_examples: 1e23`
    is a float in YAML 1.2, and generation needs an int)."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(v, patrn, instance, _schema):
        if v.is_type(instance, "string") and not _compiled(patrn).search(instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _c, x: isinstance(x, int) and not isinstance(x, bool)
    )
    strict = validators.extend(Draft202012Validator, {"pattern": pattern}, type_checker=checker)
    return strict(schema())


@functools.cache
def fast_valid() -> Callable[[object], bool]:
    """True only for instances certainly valid (see pv.rules._fastschema); else run validator()."""
    try:
        return compile_schema(schema())
    except (Unsupported, KeyError, TypeError, re.error):
        return lambda v: False


def _expected_id(pattern: str, field: str, value: object) -> str:
    if field in ("lhs", "rhs"):
        return "C-ID.constant_name, e.g. C-MODEL.vocab_size"
    for prefix, form in _ID_FORMS.items():
        if pattern.startswith(f"^{prefix}") or pattern.startswith(f"^{prefix[:-1]}\\"):
            return form
    return f"the pattern {pattern}"


def _field(path: tuple) -> str:
    named = [p for p in path if isinstance(p, str)]
    return named[-1] if named else ""


def _findings(err: ValidationError, doc: LoadedDocument) -> Iterator[Finding]:
    path = tuple(err.absolute_path)
    where = fmt_path(path)
    loc = doc.locate(path)
    cid = doc.contract_id
    v = err.validator
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extras = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        for key in extras:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
            fix = f"Rename it to {close[0]!r}." if close else UNKNOWN_KEY.fix
            yield UNKNOWN_KEY.finding(
                f"unknown key {key!r} in {where}{hint}", doc.locate((*path, key)), fix=fix, contract_id=cid
            )
        return
    if v == "required":
        missing = [k for k in err.validator_value if isinstance(err.instance, dict) and k not in err.instance]
        for key in missing:
            if path == () and key == "schema":
                yield SCHEMA_MARKER.finding(f"missing `schema: {SCHEMA_VERSION}`", loc, contract_id=cid)
            else:
                yield MISSING_KEY.finding(
                    f"{where} is missing the required key {key!r}",
                    loc,
                    fix=f"Add `{key}:` to {where}.",
                    contract_id=cid,
                )
        return
    if path == ("schema",):
        yield SCHEMA_MARKER.finding(
            f"schema is {err.instance!r}, expected {SCHEMA_VERSION!r}", loc, contract_id=cid
        )
        return
    field = _field(path)
    if v == "type":
        want = (
            err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        )
        got = _yaml_type(err.instance)
        yield WRONG_TYPE.finding(
            f"{where} must be {_article(want)}, got {got} {_show(err.instance)}", loc, contract_id=cid
        )
        return
    if v == "pattern" and "propertyNames" in err.schema_path:
        yield INVALID_VALUE.finding(
            f"{where}: name {_show(err.instance)} must be lower_snake_case, e.g. vocab_size",
            doc.locate((*path, err.instance)),
            contract_id=cid,
        )
        return
    if v == "pattern":
        if field == "version" and "(0|[1-9]" in err.validator_value:
            yield SEMVER.finding(
                f"{where} = {_show(err.instance)} is not a semantic version (MAJOR.MINOR.PATCH)",
                loc,
                contract_id=cid,
            )
            return
        if field in _ID_KEYS:
            form = _expected_id(err.validator_value, field, err.instance)
            yield ID_FORMAT.finding(
                f"{where} = {_show(err.instance)} is not a valid id; expected {form}", loc, contract_id=cid
            )
            return
        form = _VALUE_FORMS.get(field, f"a value matching {err.validator_value}")
        yield INVALID_VALUE.finding(f"{where} = {_show(err.instance)} is not {form}", loc, contract_id=cid)
        return
    if v == "enum":
        allowed = ", ".join(map(str, err.validator_value))
        yield INVALID_VALUE.finding(
            f"{where} = {_show(err.instance)} is not one of: {allowed}",
            loc,
            fix=f"Use one of: {allowed}.",
            contract_id=cid,
        )
        return
    if v == "anyOf" and field == "rhs":
        yield INVALID_VALUE.finding(
            f"{where} = {_show(err.instance)} must be a constant reference (C-ID.name) or a number/boolean",
            loc,
            contract_id=cid,
        )
        return
    yield INVALID_VALUE.finding(f"{where}: {err.message}", loc, contract_id=cid)


def _article(t: str) -> str:
    return f"an {t}" if t[:1] in "aeiou" else f"a {t}"


def _yaml_type(v: object) -> str:
    if v is None:
        return "null (empty)"
    return {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        list: "sequence",
        dict: "mapping",
    }.get(type(v), type(v).__name__)


def _show(v: object) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


@document_check(SCHEMA_MARKER, UNKNOWN_KEY, MISSING_KEY, WRONG_TYPE, INVALID_VALUE, ID_FORMAT, SEMVER)
def check_schema(doc: LoadedDocument, ctx: CheckContext) -> Iterator[Finding]:
    if fast_valid()(doc.data):
        return
    seen: set[tuple] = set()  # `required` yields one error per missing key, each naming them all
    for err in validator().iter_errors(doc.data):
        for f in _findings(err, doc):
            key = (f.rule_id, f.location, f.message)
            if key not in seen:
                seen.add(key)
                yield f
