"""Helpers the subcommands share: atomic file output and writing a rendered report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from pv.errors import UsageError


def atomic_write_text(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """Write `text` to `path` so readers see the old file or the whole new one, never half.

    overwrite=False refuses an existing file, and the check and the write are one atomic step
    (a hard link of the finished temp file), so a race cannot clobber it either.
    """
    dest = Path(path)
    parent = dest.parent if str(dest.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{dest}: directory {parent} does not exist. Create it first, or pick another path.")
    if dest.is_dir():
        raise UsageError(f"{dest}: is a directory. Give a file name.")
    if not overwrite and (dest.exists() or dest.is_symlink()):
        raise UsageError(f"{dest}: already exists; pv will not overwrite it. Pick another path or delete it.")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{dest.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{dest}: cannot write in {parent}: {exc.strerror or exc}.") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)
            except FileExistsError:
                raise UsageError(f"{dest}: already exists; pv will not overwrite it.") from None
            finally:
                os.unlink(tmp)
    except OSError as exc:
        raise UsageError(f"{dest}: cannot write: {exc.strerror or exc}.") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def emit(text: str, output: str | None) -> None:
    """Print to stdout, or write atomically to `output` when given."""
    if output:
        atomic_write_text(output, text)
    elif text:
        click.echo(text, nl=False)
