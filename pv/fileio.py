"""pv's one writer for files a user names (`-o FILE`, generated modules, new contracts).

A regular file is replaced atomically: readers see the old file or the whole new one, never half,
and a failed write leaves the old file as it was. What is not a regular file is never replaced by
one: a character device (`/dev/null`, `/dev/full`, a terminal) or a FIFO is written into, as a shell
redirection would; `/dev/stdout` and other descriptor links (`/dev/fd/N`, `/proc/self/fd/N`) are
written into even when they lead to a regular file, so the caller's redirection keeps working; a
symlink to a regular file keeps being a symlink (its target is replaced); block devices, sockets and
dangling symlinks are refused with a clear error.

API: atomic_write_text(path, text, *, overwrite=True) -> Path   (UsageError on any failure)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path

from pv.errors import UsageError

_FD_LINK_ROOTS = ("/dev/", "/proc/")
_MAX_LINKS = 40
FIFO_WAIT_S = 5.0  # how long a FIFO may take to get a reader (`pv … -o fifo & cat fifo`)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _through_descriptor_link(path: Path) -> bool:
    """`path` is, or reaches through symlinks, a /dev or /proc entry (e.g. /dev/stdout)."""
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        if current.startswith(_FD_LINK_ROOTS):
            return True
        if not os.path.islink(current):
            return False
        link = os.readlink(current)
        current = os.path.normpath(os.path.join(os.path.dirname(current), link))
    return False


def _open_for_writing(dest: Path, mode: int) -> int:
    """An fd to write into `dest`. A FIFO is opened without blocking, waiting up to FIFO_WAIT_S for a
    reader to arrive (a plain open would hang forever when none ever does)."""
    flags = os.O_WRONLY | (os.O_NONBLOCK if stat.S_ISFIFO(mode) else 0)
    if stat.S_ISREG(mode):
        flags |= os.O_TRUNC
    deadline = time.monotonic() + FIFO_WAIT_S
    while True:
        try:
            return os.open(dest, flags)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise UsageError(f"{dest}: cannot open it for writing: {_why(exc)}.") from exc
            if time.monotonic() >= deadline:
                raise UsageError(
                    f"{dest}: is a FIFO with no reader (waited {FIFO_WAIT_S:g} s); start the reader first."
                ) from exc
            time.sleep(0.02)


def _write_into(dest: Path, text: str, mode: int) -> None:
    """Write into an existing device, FIFO or descriptor link instead of replacing it."""
    fd = _open_for_writing(dest, mode)
    try:
        if stat.S_ISFIFO(mode):  # opened without blocking; the writes themselves may block
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        data = text.encode("utf-8", "backslashreplace")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:
        raise UsageError(f"{dest}: cannot write: {_why(exc)}.") from exc
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """Write `text` (UTF-8) to `path` as the module doc says. overwrite=False refuses anything that
    exists, and the check and the write are one atomic step (a hard link of the finished temp file),
    so a race cannot clobber it either."""
    dest = Path(path)
    try:
        st: os.stat_result | None = os.stat(dest)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # ENAMETOOLONG, ELOOP, ENOTDIR, EACCES on a parent
        raise UsageError(f"{dest}: cannot write there: {_why(exc)}. Pick another path.") from exc
    exists = st is not None or os.path.islink(dest)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{dest}: is a directory. Give a file name.")
    if exists and not overwrite:
        raise UsageError(f"{dest}: already exists; pv will not overwrite it. Pick another path or delete it.")
    if st is None and exists:
        raise UsageError(f"{dest}: is a dangling symlink; pv will not create its target. Remove the link.")
    if st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        _write_into(dest, text, st.st_mode)
        return dest
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise UsageError(
            f"{dest}: is neither a regular file nor a character device or FIFO; pv will not write to it."
        )
    if st is not None and _through_descriptor_link(dest):
        _write_into(dest, text, st.st_mode)
        return dest
    real = Path(os.path.realpath(dest)) if os.path.islink(dest) else dest
    _replace(real, text, st, overwrite=overwrite, shown=dest)
    return dest


def _replace(real: Path, text: str, st: os.stat_result | None, *, overwrite: bool, shown: Path) -> None:
    parent = real.parent if str(real.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(
            f"{shown}: directory {parent} does not exist. Create it first, or pick another path."
        )
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{real.name[:200]}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{shown}: cannot write in {parent}: {_why(exc)}.") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o644)
        if overwrite:
            os.replace(tmp, real)
        else:
            try:
                os.link(tmp, real)
            except FileExistsError:
                raise UsageError(f"{shown}: already exists; pv will not overwrite it.") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot write: {_why(exc)}.") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
