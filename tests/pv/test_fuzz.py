"""Hypothesis fuzz of the loader and validator: no input may raise, and the fast schema path
never calls an invalid document valid."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pv.config import PvConfig
from pv.findings import Report
from pv.loader import LoadedDocument, LoadFailure, load_bytes
from pv.rules.schema import fast_valid, validator
from pv.validate import validate_documents

GOOD = Path(__file__).parent / "fixtures" / "good"
SOURCES = {p.name: p.read_bytes() for p in sorted((GOOD / "contracts").glob("*.yaml"))}
BASE = {name: load_bytes(src, name).data for name, src in SOURCES.items()}
CONFIG = PvConfig(root=GOOD, target_packages=("trainer",), kinds_package="kinds")

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=8,
)
# Values that look like the real thing: ids, refs, versions, operators.
plausible = st.sampled_from(
    ["INV-TOK-001", "INV-X-1", "C-MODEL-FAMILY", "C-MODEL-FAMILY.vocab_size", "C-NOPE.x", "AC-TOK-001",
     "FALSIFY-TOK-001", "1.0.0", "2.0.0", "0.0.1-rc.1", "<=", ">", "==", "round-trip", "nope",
     "trainer.x:Y", "numpy:z", "tests/evidence_tokenizer.py::test_round_trip", "a.py::b", ""]
)  # fmt: skip


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, object]:
    docs = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(sorted(docs)))
        paths = [p for p in _paths(docs[name]) if p]
        path = draw(st.sampled_from(paths))
        parent = docs[name]
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        op = draw(st.sampled_from(["delete", "retype", "plausible", "copy"]))
        if op == "delete":
            del parent[key]
        elif op == "retype":
            parent[key] = draw(json_values)
        elif op == "plausible":
            parent[key] = draw(plausible)
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))  # duplicates an item (and its ids)
        else:
            parent[f"{key}_copy" if isinstance(key, str) else key] = copy.deepcopy(parent[key])
    return docs


def _check(report: Report) -> None:
    assert isinstance(report, Report)
    for f in report.findings:
        assert f.location.path and f.message and f.rule_id.startswith("PV")


@given(mutated())
def test_mutated_contracts_never_crash(docs: dict[str, object]) -> None:
    loaded = []
    for name, data in docs.items():
        # JSON is YAML 1.2: round-trip through the real loader so positions exist.
        loaded.append(load_bytes(json.dumps(data, indent=1).encode(), f"contracts/{name}"))
    _check(validate_documents(loaded, config=CONFIG))


@given(mutated())
def test_fast_schema_path_is_conservative(docs: dict[str, object]) -> None:
    for data in docs.values():
        if fast_valid()(data):
            assert validator().is_valid(data), data


@given(st.sampled_from(sorted(SOURCES)), st.data())
def test_text_mutations_never_crash(name: str, data: st.DataObject) -> None:
    lines = SOURCES[name].split(b"\n")
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "junk"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = b"  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        else:
            lines[i] = data.draw(st.binary(max_size=20))
        if not lines:
            lines = [b""]
    result = load_bytes(b"\n".join(lines), f"contracts/{name}")
    assert isinstance(result, LoadedDocument | LoadFailure)
    _check(validate_documents([result], config=CONFIG))


@given(st.text(alphabet=st.sampled_from(list("ab:- []{}&*!?|>'\"#%@`,.\n\t0123 ")), max_size=60))
def test_random_yaml_text_never_crashes(text: str) -> None:
    result = load_bytes(text.encode(), "r.yaml")
    if isinstance(result, LoadFailure):
        assert result.finding.location.path == "r.yaml"
    else:
        json.dumps(result.data)  # plain JSON-compatible data
        _check(validate_documents([result], config=CONFIG))


@given(st.binary(max_size=80))
def test_random_bytes_never_crash(data: bytes) -> None:
    assert isinstance(load_bytes(data, "b.yaml"), LoadedDocument | LoadFailure)
