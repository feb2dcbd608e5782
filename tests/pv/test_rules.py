"""One tripping case per rule, generated from the valid sample project, plus the registry API.

Each case edits a private copy of tests/pv/fixtures/good (which itself must validate clean) and
asserts the rule fires, with a real file:line location.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

from pv.config import load_config
from pv.dialects import check_foreign
from pv.errors import ConfigError
from pv.findings import Finding, Severity
from pv.loader import load_bytes
from pv.rules.registry import BUILTIN_MODULES, Rule, all_rules, get_rule
from pv.validate import validate_paths

Edit = Callable[[Path], None]
TOK, MODEL, ACC = "contracts/tokenizer.yaml", "contracts/model.yaml", "contracts/acceptance.yaml"


def rep(file: str, old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        p = root / file
        text = p.read_text()
        assert old in text, f"fixture drifted: {old!r} not in {file}"
        p.write_text(text.replace(old, new, 1))

    return edit


def write(file: str, data: bytes) -> Edit:
    return lambda root: (root / file).write_bytes(data)


def symlink_loop(root: Path) -> None:
    (root / "contracts" / "loop.yaml").symlink_to(root / "contracts" / "loop.yaml")


def symlink_outside(root: Path) -> None:
    secret = root.parent / "secret.yaml"  # outside the project: must not be read or quoted
    secret.write_text("password: hunter2\n")
    (root / "contracts" / "shared.yaml").symlink_to(secret)


CASES: dict[str, Edit] = {
    "PV001": symlink_loop,
    "PV002": rep("pyproject.toml", "[tool.pv]\n", "[tool.pv]\nmax_bytes = 300\n"),
    "PV003": write("contracts/bad.yaml", b"schema: pv/v1\nid: C-\xff\n"),
    "PV004": write("contracts/bad.yaml", b"schema: pv/v1\nid: [C-A\n"),
    "PV005": rep(MODEL, "status: proposed\n", "status: proposed\nstatus: active\n"),
    "PV006": write("contracts/bad.yaml", b"x: !!python/object/apply:os.system [id]\n"),
    "PV007": write("contracts/bad.yaml", b"a: &a [x, x]\nb: [" + b", ".join([b"*a"] * 101) + b"]\n"),
    "PV008": write("contracts/bad.yaml", b"a: " + b"[" * 70 + b"]" * 70 + b"\n"),
    "PV009": write("contracts/bad.yaml", b"# nothing yet\n"),
    "PV010": write("contracts/bad.yaml", b"a: 1\n---\nb: 2\n"),
    "PV011": write("contracts/bad.yaml", b"- a\n"),
    "PV012": write("contracts/bad.yaml", b"? {a: 1}\n: 1\n"),
    "PV013": symlink_outside,
    "PV100": rep(MODEL, "schema: pv/v1\n", ""),
    "PV101": rep(TOK, "title:", "titel:"),
    "PV102": rep(TOK, "    statement: Every emitted id is below vocab_size.\n", ""),
    "PV103": rep(MODEL, "ship_blocking: false", 'ship_blocking: "no"'),
    "PV104": rep(MODEL, "status: proposed", "status: live"),
    "PV201": rep(MODEL, "- id: INV-MODEL-001", "- id: inv-model-1"),
    "PV202": lambda root: (
        rep(ACC, "INV-ACC-001", "INV-TOK-001")(root) or rep(ACC, "[INV-ACC-001]", "[INV-TOK-001]")(root)
    ),
    "PV301": rep(TOK, "enforces: [INV-TOK-001, INV-TOK-002]", "enforces: [INV-TOK-001, INV-TOK-009]"),
    "PV302": rep(TOK, "binds_to: AC-TOK-001", "binds_to: AC-TOK-009"),
    "PV303": rep(TOK, "falsifiers: [FALSIFY-TOK-001]", "falsifiers: [FALSIFY-TOK-001, FALSIFY-TOK-009]"),
    "PV304": rep(TOK, "depends_on: [C-ACCEPTANCE, C-MODEL-FAMILY]", "depends_on: [C-ACCEPTANCE, C-MODLE]"),
    "PV305": rep(TOK, "rhs: C-MODEL-FAMILY.vocab_size", "rhs: C-MODEL-FAMILY.vocab"),
    "PV306": rep(TOK, "evidence_tokenizer.py::test_round_trip", "evidence_tokenizer.py::test_roundtrip"),
    "PV307": rep(MODEL, "depends_on: [C-ACCEPTANCE]", "depends_on: [C-ACCEPTANCE, C-TOKENIZER-BPE]"),
    "PV401": rep(TOK, "version: 1.1.0\nstatus", "version: v1.1\nstatus"),
    "PV402": rep(TOK, "version: 1.1.0\nstatus", "version: 1.2.0\nstatus"),
    "PV403": rep(
        TOK,
        "  - {version: 1.1.0, date: 2026-11-25, summary: Adds INV-TOK-002.}\n"
        "  - {version: 1.0.0, date: 2026-11-20, summary: First version.}\n",
        "  - {version: 1.0.0, date: 2026-11-20, summary: First version.}\n"
        "  - {version: 1.1.0, date: 2026-11-25, summary: Adds INV-TOK-002.}\n",
    ),
    "PV404": rep(MODEL, "version: 0.1.0,", "version: 0.2.0-rc.1,"),
    "PV405": rep(TOK, "version: 1.1.0\nstatus", "version: 1.0.0\nstatus"),
    "PV501": rep(TOK, "failure_modes:", "  - {id: INV-TOK-003, statement: Unattacked.}\nfailure_modes:"),
    "PV502": rep(MODEL, "ship_blocking: false", "ship_blocking: true"),
    "PV503": rep(TOK, "    target: trainer.tokenizer:BpeTokenizer.encode\n", ""),
    "PV504": rep(MODEL, "target: trainer.model:GPT", "target: numpy.linalg:norm"),
    "PV505": rep(MODEL, "kind: bpe-round-trip", "kind: roundtrip"),
    "PV507": rep(MODEL, "target: trainer.model:GPT", "target: trainer.model:os.system"),
    "PV508": rep(MODEL, "target: trainer.model:GPT", "target: trainer.model:GTP"),
    "PV506": rep(MODEL, "    kind: bpe-round-trip\n    target: trainer.model:GPT\n", ""),
    "PV601": rep(MODEL, "vocab_size: 640", "vocab_size: 500"),
    "PV602": rep(TOK, "rhs: C-MODEL-FAMILY.vocab_size", "rhs: C-MODEL-FAMILY.dtype"),
    "PV801": rep(TOK, "  - id: INV-TOK-001\n", "  - id: INV-TOK-001  # pv: ignore[PV501]\n"),
    "PV802": rep(TOK, "  - id: INV-TOK-001\n", "  - id: INV-TOK-001  # pv: ignore\n"),
}
FILE_LEVEL = {"PV001", "PV002", "PV013"}
# Rules emitted outside validate_paths' contract set, tested on their own below.
SEPARATE = {"PV901"}
# Dialect-specific rules (PV95x, PV97x) are registered by other modules and tested with them.


def _validate(root: Path) -> tuple[Finding, ...]:
    return validate_paths(["contracts"], config=load_config(root), use_cache=False).findings


def test_good_project_is_clean(good_tree: Path) -> None:
    report = validate_paths(["contracts"], config=load_config(good_tree), use_cache=False)
    assert report.findings == ()
    c = report.counts
    assert (c.files, c.contracts, c.invariants, c.gates, c.ship_blocking_gates) == (3, 3, 4, 2, 1)
    assert (c.falsifiers, c.executable_falsifiers, c.inert_contracts) == (4, 4, 0)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_trips(good_tree: Path, rule_id: str) -> None:
    CASES[rule_id](good_tree)
    hits = [f for f in _validate(good_tree) if f.rule_id == rule_id]
    assert hits, f"{rule_id} did not fire"
    rule = get_rule(rule_id)
    for f in hits:
        assert f.rule_name == rule.name
        assert f.location.path.startswith("contracts/")
        # Whole-file problems (unreadable, too large) have no line: 0 means unknown.
        assert f.location.line >= (0 if rule_id in FILE_LEVEL else 1)
        assert f.message and f.fix


def test_every_rule_has_a_case() -> None:
    all_rules()  # imports every rule module
    ids = {
        value.id
        for name in BUILTIN_MODULES
        for value in vars(importlib.import_module(name)).values()
        if isinstance(value, Rule)
    }
    assert len(ids) > 35
    assert ids - set(CASES) - SEPARATE == set()


def test_unknown_key_suggests(good_tree: Path) -> None:
    CASES["PV101"](good_tree)
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV101"]
    assert "did you mean 'title'" in f.message
    assert (f.location.path, f.location.line, f.location.col) == (TOK, 7, 1)


def test_missing_schema_says_add_it(good_tree: Path) -> None:
    CASES["PV100"](good_tree)
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV100"]
    assert "schema: pv/v1" in f.fix and f.location.path == MODEL


def test_duplicate_id_points_at_first(good_tree: Path) -> None:
    CASES["PV202"](good_tree)
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV202"]
    assert f.location.path == TOK and "INV-TOK-001" in f.message and f"{ACC}:" in f.message


def test_cycle_path_reported(good_tree: Path) -> None:
    CASES["PV307"](good_tree)
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV307"]
    assert "C-MODEL-FAMILY → C-TOKENIZER-BPE → C-MODEL-FAMILY" in f.message


def test_constraint_message_has_both_values_and_locations(good_tree: Path) -> None:
    CASES["PV601"](good_tree)
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV601"]
    assert "C-TOKENIZER-BPE.vocab_size = 512" in f.message and "C-MODEL-FAMILY.vocab_size = 500" in f.message
    assert f"{TOK}:16:" in f.message and f"{MODEL}:12:" in f.message
    assert f.location.path == TOK


def test_evidence_class_method_checked(good_tree: Path) -> None:
    rep(TOK, "TestIds::test_below_vocab", "TestIds::test_missing")(good_tree)
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV306"]
    assert "class TestIds has no 'test_missing'" in f.message


def test_missing_kinds_package_is_a_config_error(good_tree: Path) -> None:
    (good_tree / "kinds" / "bpe_round_trip.py").unlink()
    (good_tree / "kinds").rmdir()
    with pytest.raises(ConfigError, match=r"\[tool.pv\].kinds entry 'kinds' is neither a package"):
        _validate(good_tree)


def test_unknown_kind_suggests_the_close_name(good_tree: Path) -> None:
    tok = good_tree / "contracts" / "tokenizer.yaml"
    tok.write_text(tok.read_text().replace("kind: bpe-round-trip", "kind: bpe-round-trp", 1))
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV505"]
    assert "unknown kind 'bpe-round-trp' (did you mean 'bpe-round-trip'?); known kinds: " in f.message
    assert "constant-matches" in f.message
    tok.write_text(tok.read_text().replace("kind: bpe-round-trp", "kind: zzz", 1))
    (f,) = [f for f in _validate(good_tree) if f.rule_id == "PV505"]
    assert f.message.startswith("unknown kind 'zzz'; known kinds: bpe-round-trip, cli-routing, ")  # no hint


def test_warnings_are_warnings(good_tree: Path) -> None:
    CASES["PV506"](good_tree)
    report = validate_paths(["contracts"], config=load_config(good_tree), use_cache=False)
    assert {f.rule_id for f in report.findings} == {"PV506"}
    assert report.errors == 0 and report.warnings == 1
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1
    assert report.counts.inert_contracts == 1 and report.counts.executable_falsifiers == 3


def test_foreign_dialect_without_checker() -> None:
    doc = load_bytes(b"equations: {}\n", "k.yaml")
    (f,) = check_foreign(doc, "no-such-dialect")
    assert f.rule_id == "PV901" and f.severity is Severity.WARNING and "pv migrate k.yaml" in f.message


def test_get_rule_by_id_or_name() -> None:
    assert get_rule("pv101") is get_rule("PV101") is get_rule("Unknown-Key")
    with pytest.raises(KeyError, match="Did you mean 'unknown-key'"):
        get_rule("unknown-kye")
    with pytest.raises(KeyError, match="PV101"):
        get_rule("PV11O1")


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_docs(rule) -> None:
    assert rule.name == rule.name.lower() and " " not in rule.name
    assert rule.summary and "\n" not in rule.summary
    # Info rules may describe a fact with nothing to fix; anything that fails a run says how to fix it.
    assert rule.fix or rule.severity is Severity.INFO
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert heading in rule.explanation


@pytest.mark.parametrize(
    ("edit", "rule_id", "needle"),
    [
        (rep(MODEL, "schema: pv/v1", "schema: pv/v2"), "PV100", "expected 'pv/v1'"),
        (rep(MODEL, "version: 0.1.0,", "version: '0.1',"), "PV401", "changelog[1].version = '0.1'"),
        (rep(TOK, "binds_to: AC-TOK-001", "binds_to: ac-tok-1"), "PV201", "expected AC-AREA-NNN"),
        (rep(TOK, "lhs: C-TOKENIZER-BPE.vocab_size", "lhs: vocab_size"), "PV201", "C-ID.constant_name"),
        (rep(MODEL, "  vocab_size: 640", "  VocabSize: 640"), "PV104", "lower_snake_case"),
        (
            rep(TOK, "{test: tests/evidence_tokenizer.py::test_round_trip}", "{test: t.py}"),
            "PV104",
            "::test_name",
        ),
        (
            rep(
                MODEL,
                "  - {version: 0.1.0, date: 2026-11-20, summary: First version.}",
                "  - {version: 0.1.0}",
            ),
            "PV102",
            "changelog[1] is missing the required key 'date'",
        ),
        (
            rep(MODEL, "version: 0.2.0-rc.1\n", "version: 0.2\n"),
            "PV103",
            "version must be a string, got float 0.2",
        ),
    ],
)
def test_schema_messages(good_tree: Path, edit: Edit, rule_id: str, needle: str) -> None:
    edit(good_tree)
    messages = [f.message for f in _validate(good_tree) if f.rule_id == rule_id]
    assert any(needle in m for m in messages), messages
