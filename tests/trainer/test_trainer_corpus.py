"""Corpus file selection: deterministic, text-only, spread sampling, clear errors."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from trainer.corpus import corpus_files, relative_name, resolve_corpus
from trainer.errors import DataError


def _tree(root: Path) -> Path:
    files = {
        "b.py": "print('b')\n",
        "a.txt": "alpha\n",
        "sub/c.md": "# c\n",
        "sub/deep/d.py": "d = 1\n",
        "empty.py": "",
        "latin1.txt": b"caf\xe9",
        "binary.bin": b"\x00\x01\x02",
        ".hidden/h.txt": "hidden\n",
        ".dotfile": "dot\n",
        "site-packages/pkg.py": "pkg\n",
    }
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    return root


def test_directory_corpus_keeps_text_files_sorted_by_relative_path(tmp_path: Path) -> None:
    root = _tree(tmp_path / "c")
    names = [relative_name(p, str(root)) for p in corpus_files(str(root))]
    assert names == ["a.txt", "b.py", "sub/c.md", "sub/deep/d.py"]


def test_max_files_spreads_over_the_tree_and_is_deterministic(tmp_path: Path) -> None:
    root = tmp_path / "c"
    for i in range(20):
        (root / f"pkg{i // 5}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{i // 5}" / f"m{i % 5}.py").write_text(f"x = {i}\n")
    picked = [relative_name(p, str(root)) for p in corpus_files(str(root), 4)]
    assert picked == ["pkg0/m0.py", "pkg1/m0.py", "pkg2/m0.py", "pkg3/m0.py"]  # one per package
    assert corpus_files(str(root), 4) == corpus_files(str(root), 4)


def test_max_files_skips_invalid_files_without_losing_count(tmp_path: Path) -> None:
    root = _tree(tmp_path / "c")
    assert len(corpus_files(str(root), 3)) == 3
    assert len(corpus_files(str(root), 4)) == 4
    assert len(corpus_files(str(root), 100)) == 4  # all there is


def test_stdlib_corpus(tmp_path: Path) -> None:
    files = corpus_files("stdlib", 25)
    root = Path(sysconfig.get_paths()["stdlib"])
    assert len(files) == 25 == len(set(files))
    names = [p.relative_to(root).as_posix() for p in files]
    assert names == sorted(names)
    assert all(n.endswith(".py") and "site-packages" not in n for n in names)
    assert len({n.split("/")[0] for n in names}) > 5  # spread, not the first 25 of one folder
    assert resolve_corpus("stdlib").root == root


@pytest.mark.parametrize("bad", ["stdlibb", "/definitely/not/here"])
def test_unknown_corpus_is_a_data_error(bad: str) -> None:
    with pytest.raises(DataError, match="neither 'stdlib' nor an existing directory"):
        corpus_files(bad)


def test_corpus_without_text_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x00\xff")
    with pytest.raises(DataError, match=r"no readable UTF-8 text files \(1 files looked at\)"):
        corpus_files(str(tmp_path))


def test_max_files_must_be_positive() -> None:
    with pytest.raises(DataError, match="at least 1"):
        corpus_files("stdlib", 0)
