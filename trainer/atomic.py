"""Atomic publication of output directories: readers see the old artifact or the new one, never half.

An artifact directory (a tokenizer, a dataset) is built in a hidden staging folder next to its
destination and renamed into place. An existing destination is replaced only when it is empty or holds
the same kind of artifact (recognised by its marker file); anything else is refused, so a typo in
`--out` cannot wipe an unrelated folder. A kind that others depend on (a tokenizer: datasets record
its fingerprint) is not replaced at all unless the caller says `force`.
A disk or permission error while building or publishing is a DataError naming the file, and the
staging folder is removed: nothing half-written is left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from trainer.errors import DataError, io_error
from trainer.runlog import atomic_write_text, current_umask


def check_replaceable(out_dir: Path, marker: str, kind: str, replace: str | None = None) -> None:
    """Raise DataError unless out_dir is absent, empty, or a previous `kind` (has `marker`).

    `replace`: when set, a previous `kind` is refused too, with this text saying why and how to force it.
    """
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise DataError(
            f"exists and is not a directory; choose another output path for the {kind}", path=str(out_dir)
        )
    if not any(out_dir.iterdir()):
        return
    if not (out_dir / marker).is_file():
        raise DataError(
            f"exists, is not empty and holds no {marker}, so it is not a previous {kind}; "
            f"refusing to overwrite it — choose an empty or new output directory",
            path=str(out_dir),
        )
    if replace is not None:
        raise DataError(f"already holds a {kind}; {replace}", path=str(out_dir))


def check_output(out_dir: Path, marker: str, kind: str, replace: str | None = None) -> None:
    """Before the expensive work: out_dir is replaceable, its nearest existing ancestor a writable folder."""
    out_dir = Path(out_dir)
    check_replaceable(out_dir, marker, kind, replace)
    parent = out_dir.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DataError(
            f"{parent} is a file, so the {kind} cannot be created under it; choose another output path",
            path=str(out_dir),
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"no permission to create the {kind} in {parent}", path=str(out_dir))


@contextlib.contextmanager
def staged_dir(out_dir: Path, marker: str, kind: str, replace: str | None = None) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces out_dir, on any error it is removed."""
    out_dir = Path(out_dir)
    check_output(out_dir, marker, kind, replace)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.staging-", dir=out_dir.parent))
    except OSError as exc:
        raise DataError(f"cannot create the {kind} here: {exc}", path=str(out_dir)) from exc
    try:
        # mkdtemp makes 0700: give the published folder the mode a plain mkdir would (umask applies).
        os.chmod(staging, 0o777 & ~current_umask())
        try:
            yield staging
        except OSError as exc:  # a full disk while writing the artifact: name the file, not a traceback
            where = _published_name(exc.filename, staging, out_dir)
            raise io_error(exc, f"cannot write the {kind}", where) from exc
        except DataError as exc:  # from a writer inside staging: name the file where it was headed
            if exc.path is not None:
                exc.path = str(_published_name(exc.path, staging, out_dir))
            raise
        if not (staging / marker).is_file():
            raise RuntimeError(f"staged {kind} lacks its marker {marker}")  # a bug, not a user error
        try:
            _publish(staging, out_dir, marker, kind, replace)
        except OSError as exc:
            raise io_error(exc, f"cannot publish the {kind}", out_dir) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _published_name(filename: str | bytes | None, staging: Path, out_dir: Path) -> Path:
    """The file an error is about, named where it would have been published (staging is removed)."""
    if not filename:
        return out_dir
    failed = Path(os.fsdecode(filename))
    return out_dir / failed.relative_to(staging) if failed.is_relative_to(staging) else failed


def _publish(staging: Path, out_dir: Path, marker: str, kind: str, replace: str | None) -> None:
    check_replaceable(out_dir, marker, kind, replace)  # again: the folder may have changed while we built
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.replace(out_dir, old / "previous")  # two renames; the window without out_dir is tiny
    os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same directory + os.replace (the run files' writer, same mode)."""
    atomic_write_text(Path(path), text)
