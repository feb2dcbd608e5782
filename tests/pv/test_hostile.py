"""Hostile input: every class gives one clean finding naming the file — no traceback, hang or
unbounded memory. Speed is not timed here (bench/ does that); budgets keep each case small."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pv import loader
from pv.loader import LoadedDocument, LoadFailure, load_document


def _fails(path: Path, rule_name: str, **kw: object) -> LoadFailure:
    result = load_document(path, **kw)
    assert isinstance(result, LoadFailure), f"expected {rule_name}, loaded {result}"
    f = result.finding
    assert f.rule_name == rule_name, f
    assert f.location.path == str(path)
    assert f.message
    return result


def _write(tmp_path: Path, data: bytes, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _billion_laughs(levels: int = 9) -> bytes:
    out = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for i in range(1, levels):
        name = chr(ord("a") + i)
        out += f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n".encode()
        prev = name
    return out


@pytest.fixture(params=["libyaml", "ruamel"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PV_YAML_BACKEND", request.param)
    return request.param


def test_billion_laughs_refused(tmp_path: Path, backend: str) -> None:
    _fails(_write(tmp_path, _billion_laughs()), "alias-limit")


def test_few_aliases_huge_expansion_refused(tmp_path: Path, backend: str) -> None:
    # Under the alias count limit, but each alias drags a 12k-node list along.
    src = b"a: &a [" + b",".join([b"x"] * 12_000) + b"]\nb: [" + b",".join([b"*a"] * 25) + b"]\n"
    _fails(_write(tmp_path, src), "alias-limit")


def test_too_many_aliases_refused(tmp_path: Path, backend: str) -> None:
    src = b"a: &a x\nb: [" + b",".join([b"*a"] * (loader.MAX_ALIASES + 1)) + b"]\n"
    _fails(_write(tmp_path, src), "alias-limit")


def test_recursive_alias_refused(tmp_path: Path, backend: str) -> None:
    _fails(_write(tmp_path, b"a: &a [1, *a]\n"), "alias-limit")


@pytest.mark.parametrize(
    "src",
    [
        b"id: !!python/object/apply:os.system [echo pwned]\n",
        b"x: !!python/name:os.system\n",
        b"x: !!python/object:collections.OrderedDict {}\n",
        b"x: !custom 1\n",
        b"x: !!binary aGVsbG8=\n",
        b"x: !!set {a, b}\n",
        b"x: !!int abc\n",
    ],
)
def test_tags_refused(tmp_path: Path, backend: str, src: bytes) -> None:
    _fails(_write(tmp_path, src), "unsupported-tag")


def test_python_tag_never_executes(tmp_path: Path, backend: str) -> None:
    marker = tmp_path / "pwned"
    src = f"x: !!python/object/apply:os.system ['touch {marker}']\n".encode()
    _fails(_write(tmp_path, src), "unsupported-tag")
    assert not marker.exists()


@pytest.mark.parametrize(
    "src", [b"a: " + b"[" * 5000 + b"]" * 5000, b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 100))]
)
def test_deep_nesting_refused(tmp_path: Path, backend: str, src: bytes) -> None:
    _fails(_write(tmp_path, src), "nesting-too-deep")


def test_unclosed_deep_nesting_refused(tmp_path: Path, backend: str) -> None:
    _fails(_write(tmp_path, b"[" * 200_000), "nesting-too-deep")


def test_invalid_utf8_reports_line(tmp_path: Path) -> None:
    f = _fails(_write(tmp_path, b"id: C-A\nsummary: caf\xe9\n"), "invalid-encoding").finding
    assert (f.location.line, f.location.col) == (2, 13)
    assert "byte offset 20" in f.message


def test_utf16_is_not_utf8(tmp_path: Path) -> None:
    _fails(_write(tmp_path, "id: C-A\n".encode("utf-16")), "invalid-encoding")


def test_nul_byte(tmp_path: Path) -> None:
    f = _fails(_write(tmp_path, b"id: C-A\nx: a\x00b\n"), "invalid-encoding").finding
    assert f.location.line == 2


def test_control_character(tmp_path: Path, backend: str) -> None:
    f = _fails(_write(tmp_path, b"id: C-A\nx: a\x07b\n"), "yaml-syntax").finding
    assert f.location.line == 2


def test_huge_file_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _write(tmp_path, b"a: 1\n" * 1000)

    def never(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"opened {args[0]} although it is over the cap")

    monkeypatch.setattr(loader, "open", never, raising=False)
    _fails(p, "file-too-large", max_bytes=1000)


def test_huge_sparse_file_default_cap(tmp_path: Path) -> None:
    p = tmp_path / "sparse.yaml"
    with open(p, "wb") as fh:
        fh.truncate(3 * 1024 * 1024)  # 3 MiB of holes: costs nothing on disk
    _fails(p, "file-too-large")


def test_too_many_nodes_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "NODE_BUDGET", 1000)
    _fails(_write(tmp_path, b"k: [" + b"1," * 2000 + b"1]\n"), "alias-limit")


def test_non_mapping_root(tmp_path: Path, backend: str) -> None:
    for src in (b"- a\n- b\n", b"just a string\n", b"42\n"):
        _fails(_write(tmp_path, src), "root-not-mapping")


@pytest.mark.parametrize("src", [b"", b"# only a comment\n", b"---\n", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty(tmp_path: Path, backend: str, src: bytes) -> None:
    _fails(_write(tmp_path, src), "empty-document")


def test_multi_document(tmp_path: Path, backend: str) -> None:
    f = _fails(_write(tmp_path, b"id: C-A\n---\nid: C-B\n"), "multiple-documents").finding
    assert f.location.line == 2


def test_complex_key(tmp_path: Path, backend: str) -> None:
    _fails(_write(tmp_path, b"? [a, b]\n: 1\n"), "non-scalar-key")


def test_symlink_loop(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.symlink_to(b)
    b.symlink_to(a)
    _fails(a, "file-unreadable")


def test_dangling_symlink(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.symlink_to(tmp_path / "nowhere.yaml")
    assert "dangling" in _fails(a, "file-unreadable").finding.message


def test_directory(tmp_path: Path) -> None:
    d = tmp_path / "dir.yaml"
    d.mkdir()
    _fails(d, "file-unreadable")


def test_fifo_does_not_block(tmp_path: Path) -> None:
    p = tmp_path / "pipe.yaml"
    os.mkfifo(p)
    _fails(p, "file-unreadable")


def test_missing(tmp_path: Path) -> None:
    assert "does not exist" in _fails(tmp_path / "missing.yaml", "file-unreadable").finding.message


def test_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _write(tmp_path, b"id: C-A\n")
    p.chmod(0)  # no effect as root, hence the patched open below

    def deny(*args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied", str(args[0]))

    monkeypatch.setattr(loader, "open", deny, raising=False)
    assert "Permission denied" in _fails(p, "file-unreadable").finding.message


def test_well_formed_file_still_loads(tmp_path: Path, backend: str) -> None:
    assert isinstance(load_document(_write(tmp_path, b"a: &x 1\nb: *x\n")), LoadedDocument)
