"""Run-directory writers: atomic file writes and the append-only train.jsonl log.

Everything a run leaves behind goes through here, so "nothing half-written" holds in one place: whole
files are written to a temp file in the same directory and renamed over the target (os.replace is
atomic on POSIX and Windows); the log is appended one complete line at a time.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from trainer.errors import DataError, io_error

TRAIN_LOG = "train.jsonl"
CONFIG_FILE = "config.json"
RESULT_FILE = "result.json"
# Every temp file our writers create is `.{target}.{8 random chars}.trainer.tmp` beside its target, so
# one left by a kill can be recognised as ours (and only ours) and removed by the next run.
TEMP_SUFFIX = ".trainer.tmp"
_TEMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + "$")


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publishable(tmp: str | Path) -> None:
    """mkstemp creates 0600; give the published file the mode a plain open() would have."""
    os.chmod(tmp, 0o666 & ~current_umask())


def is_our_temp(name: str) -> bool:
    """True for a file name our atomic writers give their temp files (see TEMP_SUFFIX)."""
    return bool(_TEMP_RE.match(name))


def remove_stale_temps(directory: Path) -> list[Path]:
    """Delete temp files our writers left in `directory` (a kill between write and rename).

    Only names matching our pattern are touched, never anything else. Returns what was removed.
    """
    removed = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed  # absent or unreadable: nothing of ours to clean
    for entry in entries:
        if is_our_temp(entry.name) and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
            except OSError as exc:
                raise io_error(exc, "cannot remove a stale temp file", entry) from exc
            removed.append(entry)
    return removed


def _mkstemp(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Temp file + fsync + rename. A disk or permission error is a DataError naming `path`."""
    try:
        fd, tmp = _mkstemp(path)
    except OSError as exc:
        raise io_error(exc, "cannot write", path) from exc
    try:
        publishable(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise io_error(exc, "cannot write", path) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def dumps(record: dict[str, Any]) -> str:
    """Strict JSON: a NaN/Inf reaching a log is a bug (guards run first), so refuse to write it."""
    return json.dumps(record, sort_keys=True, allow_nan=False)


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def temp_path(path: Path) -> Path:
    """A fresh temp name beside `path`, for writers (safetensors) that insist on a filename."""
    try:
        fd, tmp = _mkstemp(path)
        os.close(fd)
        publishable(tmp)
    except OSError as exc:
        raise io_error(exc, "cannot write", path) from exc
    return Path(tmp)


class RunLog:
    """Append-only JSONL; each record is one line, flushed so a killed run leaves whole lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise io_error(exc, "cannot open the run log", path) from exc

    def append(self, record: dict[str, Any]) -> None:
        try:
            self._fh.write(dumps(record) + "\n")
            self._fh.flush()
        except OSError as exc:
            raise io_error(exc, "cannot append to the run log", self.path) from exc

    def close(self) -> None:
        # A failed flush was reported by append(); a second report here would hide the first.
        with contextlib.suppress(OSError):
            self._fh.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_log(path: Path, *, torn_tail_ok: bool = False) -> list[dict[str, Any]]:
    """Parse train.jsonl; a malformed line is a DataError naming file and line.

    `torn_tail_ok`: a last line without its newline that does not parse is dropped. RunLog writes each
    record and its newline together, so such a line is a write the run died in, never a whole record.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read run log: {exc.strerror}", path=str(path)) from exc
    lines = data.split(b"\n")
    torn = lines.pop() if lines else b""  # b"" when the file ends with a newline (or is empty)
    records = []
    for lineno, raw in enumerate([*lines, torn] if torn else lines, start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if torn_tail_ok and torn and lineno == len(lines) + 1:
                break
            what = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
            raise DataError(f"line {lineno}: not valid JSON ({what})", path=str(path)) from exc
        if not isinstance(rec, dict):
            raise DataError(f"line {lineno}: a record must be a JSON object", path=str(path))
        records.append(rec)
    return records


def truncate_log(path: Path, *, last_step: int, last_epoch: int) -> int:
    """On resume: keep only what the checkpoint covers (steps <= last_step, epochs <= last_epoch).

    A killed run may have logged steps after its last checkpoint; those steps are re-run, so keeping
    them would double-count. Returns the number of records dropped. Rewritten atomically.
    """
    if not path.exists():
        return 0
    records = read_log(path, torn_tail_ok=True)
    kept = [
        r
        for r in records
        if (r.get("event") == "epoch" and r.get("epoch", math.inf) <= last_epoch)
        or (r.get("event") is None and r.get("step", math.inf) <= last_step)
        or (r.get("event") not in (None, "epoch") and r.get("step", math.inf) <= last_step)
    ]
    atomic_write_text(path, "".join(dumps(r) + "\n" for r in kept))
    return len(records) - len(kept)
