"""pv.loader and pv.config: plain YAML 1.2 data, positions, both parser backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from pv.config import PvConfig, load_config
from pv.errors import ConfigError
from pv.loader import LoadedDocument, LoadFailure, load_bytes, load_document

GOOD = Path(__file__).parent / "fixtures" / "good"


@pytest.fixture(params=["libyaml", "ruamel"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PV_YAML_BACKEND", request.param)
    return request.param


def _ok(src: bytes) -> LoadedDocument:
    doc = load_bytes(src, "x.yaml")
    assert isinstance(doc, LoadedDocument), getattr(doc, "finding", None)
    return doc


def test_good_fixture_loads_to_plain_data(backend: str) -> None:
    doc = load_document(GOOD / "contracts" / "tokenizer.yaml")
    assert isinstance(doc, LoadedDocument)
    assert doc.data["id"] == "C-TOKENIZER-BPE"
    assert doc.data["changelog"][0] == {
        "version": "1.1.0",
        "date": "2026-11-25",
        "summary": "Adds INV-TOK-002.",
    }
    assert doc.data["falsifiers"][0]["examples"] == [{"text": "e\u0301"}]
    assert len(doc.source_sha256) == 64


def test_yaml_12_core_scalars(backend: str) -> None:
    doc = _ok(
        b"a: yes\nb: no\nc: on\nd: 0o17\ne: 0x1F\nf: 010\ng: 1.5e3\nh: .inf\ni: ~\nj: null\n"
        b"k: true\nl: 2026-11-25\nm: 2026-11-25T10:00:00Z\nn: '123'\no: !!str 5\np: 1:20\nq: !!float 3\n"
    )
    assert doc.data == {
        "a": "yes", "b": "no", "c": "on", "d": 15, "e": 31, "f": 10, "g": 1500.0, "h": float("inf"),
        "i": None, "j": None, "k": True, "l": "2026-11-25", "m": "2026-11-25T10:00:00Z", "n": "123",
        "o": "5", "p": "1:20", "q": 3.0,
    }  # fmt: skip


def test_non_string_keys_stay_as_written(backend: str) -> None:
    assert _ok(b"1: a\ntrue: b\nnull: c\n").data == {"1": "a", "true": "b", "null": "c"}


def test_locate_points_at_keys_and_items(backend: str) -> None:
    doc = _ok(b"a: 1\nlist:\n  - x: 1\n    y: [p, q]\n  - z\n")
    assert (doc.locate(("a",)).line, doc.locate(("a",)).col) == (1, 1)
    assert (doc.locate(("list", 0, "y")).line, doc.locate(("list", 0, "y")).col) == (4, 5)
    assert (doc.locate(("list", 0, "y", 1)).line, doc.locate(("list", 0, "y", 1)).col) == (4, 12)
    assert doc.locate(("list", 1)).line == 5
    # Missing nodes fall back to the nearest existing parent; the root is 1:1.
    assert doc.locate(("list", 0, "nope", 3)).line == 3
    assert (doc.locate(()).line, doc.locate(("zzz",)).col) == (1, 1)
    assert doc.locate(("a",)).path == "x.yaml"


def test_aliases_are_copied_not_shared(backend: str) -> None:
    doc = _ok(b"a: &x {k: [1]}\nb: *x\n")
    assert doc.data["a"] == doc.data["b"]
    assert doc.data["a"] is not doc.data["b"]


def test_duplicate_key_reported_at_second(backend: str) -> None:
    fail = load_bytes(b"id: C-A\nversion: 1.0.0\nid: C-B\n", "dup.yaml")
    assert isinstance(fail, LoadFailure)
    f = fail.finding
    assert (f.rule_name, f.location.path, f.location.line) == ("duplicate-key", "dup.yaml", 3)
    assert "'id'" in f.message and "line 1" in f.message


def test_syntax_error_has_position(backend: str) -> None:
    fail = load_bytes(b"a: 1\nb: [1, 2\n", "bad.yaml")
    assert isinstance(fail, LoadFailure)
    assert fail.finding.rule_name == "yaml-syntax"
    assert fail.finding.location.line >= 2


def test_config_reads_tool_pv(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pv]\ncontracts = ["c"]\ntarget_packages = ["pkg"]\nkinds_package = "a.b"\nmax_bytes = 10\n'
    )
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    cfg = load_config(sub)
    assert cfg.root == tmp_path.resolve()
    assert cfg.contracts == ("c",) and cfg.target_packages == ("pkg",) and cfg.max_bytes == 10
    assert cfg.kind_entries == ("a.b",)
    assert cfg.tests_root == "." and cfg.generated_dir == "falsifiers/generated"


def test_config_defaults_without_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert load_config(tmp_path) == PvConfig(root=tmp_path.resolve(), pyproject=tmp_path / "pyproject.toml")


@pytest.mark.parametrize(
    "text",
    ["[tool.pv\n", "[tool.pv]\ncontracts = 3\n", "[tool.pv]\nkinds_package = ''\n", "[tool.pv]\nbogus = 1\n",
     "[tool.pv]\nmax_bytes = -1\n"],
)  # fmt: skip
def test_config_errors(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"pyproject\.toml"):
        load_config(tmp_path)


def test_aliased_scalar_as_key_stays_a_string(backend: str) -> None:
    assert _ok(b"a: &x 1\n*x : 2\nb: *x\n").data == {"a": 1, "1": 2, "b": 1}
