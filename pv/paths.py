"""Contract paths from what a user types: files, directories (recursive *.yaml / *.yml) and globs.

One expansion for every command that takes contract PATHS (validate, generate, gate, trace, hunt), so
they agree on what `contracts/`, `'contracts/**/*.yaml'` or a missing path means.

API (stable):
    expand_patterns(patterns) -> list[Path]   # de-duplicated by real path, in order; UsageError on no match
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from pv.errors import UsageError

YAML_SUFFIXES = (".yaml", ".yml")


def _has_magic(p: str) -> bool:
    return any(c in p for c in "*?[")


def _walk(directory: str) -> list[tuple[str, str]]:
    """(path, realpath) of every *.yaml/*.yml below directory, sorted, hidden directories skipped.

    The realpath of a plain file is its directory's realpath plus its name, so only directories
    and symlinked files pay for os.path.realpath (one lstat per path component)."""
    out: list[tuple[str, str]] = []
    stack = [directory]
    while stack:
        dirpath = stack.pop()
        try:
            with os.scandir(dirpath) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # unreadable directory: os.walk skipped these too
        real_dir = os.path.realpath(dirpath)
        subdirs = []
        for e in entries:
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                # Symlinked directories are not entered: a symlink loop must not recurse forever.
                if not e.name.startswith(".") and not e.is_symlink():
                    subdirs.append(e.path)
            elif e.name.endswith(YAML_SUFFIXES):
                real = os.path.realpath(e.path) if e.is_symlink() else os.path.join(real_dir, e.name)
                out.append((e.path, real))
        # Files of a directory first, then its subdirectories depth-first in name order (as os.walk).
        stack.extend(reversed(subdirs))
    return out


def expand_patterns(patterns: Sequence[str]) -> list[Path]:
    """Files, directories (recursively *.yaml/*.yml) and globs (with **), de-duplicated, in order."""
    if not patterns:
        raise UsageError("no contract paths given; pass files, directories or globs (e.g. contracts/)")
    seen: set[str] = set()
    out: list[Path] = []
    for pattern in patterns:
        found: list[tuple[str, str]] = []
        if _has_magic(pattern):
            for m in sorted(glob.glob(pattern, recursive=True)):
                if os.path.isdir(m):
                    found.extend(_walk(m))
                elif m.endswith(YAML_SUFFIXES):
                    found.append((m, os.path.realpath(m)))
        elif os.path.isdir(pattern):
            found = _walk(pattern)
        elif os.path.lexists(pattern):
            # Named explicitly: load it whatever it is, and report what is wrong.
            found = [(pattern, os.path.realpath(pattern))]
        else:
            raise UsageError(f"{pattern}: no such file or directory")
        if not found:
            raise UsageError(f"{pattern}: matched no contract files (*.yaml, *.yml)")
        for f, key in found:
            if key not in seen:
                seen.add(key)
                out.append(Path(os.path.normpath(f)))
    return out
