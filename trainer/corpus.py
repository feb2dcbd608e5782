"""Which text files make up a corpus, in a deterministic order.

`"stdlib"` is the running Python's standard library (`*.py`, site-packages excluded); any other value
must be a directory, whose text files (anything that decodes as UTF-8 and has no NUL byte) are used.
Files that are empty, unreadable or not UTF-8 are skipped, never half-read. Order is the sorted
relative POSIX path, so the same tree gives the same list on every machine.
"""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from trainer.errors import DataError

STDLIB = "stdlib"
_SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__"}


@dataclass(frozen=True)
class Corpus:
    """A resolved corpus: where it lives and how to name it in a manifest."""

    name: str  # "stdlib" or the directory as given
    root: Path


def resolve_corpus(corpus: str) -> Corpus:
    if corpus == STDLIB:
        return Corpus(STDLIB, Path(sysconfig.get_paths()["stdlib"]))
    root = Path(corpus)
    if not root.is_dir():
        raise DataError(
            f"unknown corpus {corpus!r}: it is neither {STDLIB!r} nor an existing directory; "
            f"pass --corpus stdlib or a folder of text files",
            path=corpus,
        )
    return Corpus(str(corpus), root)


def _candidates(root: Path, stdlib: bool) -> list[Path]:
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        # Hidden folders (.git, .venv) and installed packages are not part of the corpus.
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or (stdlib and not name.endswith(".py")):
                continue
            path = Path(dirpath) / name
            if path.is_file():
                found.append((path.relative_to(root).as_posix(), path))
    found.sort()
    return [p for _, p in found]


def is_text_file(path: Path) -> bool:
    """Non-empty, readable, valid UTF-8 without NUL bytes (NUL marks binary files)."""
    try:
        data = path.read_bytes()
        data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return bool(data) and b"\x00" not in data


def _spread(candidates: list[Path], max_files: int) -> list[Path]:
    """`max_files` text files spread evenly over the sorted list (not the first N of one package).

    Slot i starts at index i·n/max_files and walks forward to the next text file not yet taken; so the
    pick depends only on the tree, and validation reads about max_files files, not all n.
    """
    n = len(candidates)
    chosen: list[int] = []
    for slot in range(max_files):
        j = max(slot * n // max_files, chosen[-1] + 1 if chosen else 0)
        while j < n and not is_text_file(candidates[j]):
            j += 1
        if j == n:
            break
        chosen.append(j)
    if len(chosen) < max_files:  # ran off the end: take the earliest files not yet taken
        taken = set(chosen)
        extra = (j for j in range(n) if j not in taken and is_text_file(candidates[j]))
        chosen.extend(j for _, j in zip(range(max_files - len(chosen)), extra, strict=False))
    return [candidates[j] for j in sorted(chosen)]


def corpus_files(corpus: str, max_files: int | None = None) -> list[Path]:
    """The corpus's text files, sorted by relative path; with max_files, an even spread of at most N."""
    if max_files is not None and max_files < 1:
        raise DataError(f"max_files must be at least 1, got {max_files}")
    resolved = resolve_corpus(corpus)
    candidates = _candidates(resolved.root, stdlib=resolved.name == STDLIB)
    if max_files is None or max_files >= len(candidates):
        files = [p for p in candidates if is_text_file(p)]
    else:
        files = _spread(candidates, max_files)
    if not files:
        raise DataError(
            f"corpus has no readable UTF-8 text files ({len(candidates)} files looked at); "
            f"point --corpus at a folder with text files",
            path=str(resolved.root),
        )
    return files


def relative_name(path: Path, corpus: str) -> str:
    """The document's stable name inside its corpus (the key for the train/val split)."""
    return path.relative_to(resolve_corpus(corpus).root).as_posix()
