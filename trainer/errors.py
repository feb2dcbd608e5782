"""One exception tree for trainer. Each error carries the RunStatus the CLI exits with."""

from __future__ import annotations

import errno
import os

from trainer.status import RunStatus

# What to do about an OS error, by errno; the message names the file, this says how to fix it.
_IO_FIXES = {
    errno.ENOSPC: "the disk is full: free space or choose another location, then rerun",
    errno.EDQUOT: "the disk quota is exhausted: free space and rerun",
    errno.EACCES: "no permission: choose a location you can write to",
    errno.EPERM: "no permission: choose a location you can write to",
    errno.EROFS: "the file system is read-only: choose another location",
}


class TrainerError(Exception):
    """Base of every error trainer raises on purpose; the CLI prints it without a traceback."""

    status: RunStatus = RunStatus.DATA_ERROR

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.notes: list[str] = []  # what else happened while handling this error (shown after it)

    def __str__(self) -> str:
        base = super().__str__()
        text = f"{self.path}: {base}" if self.path else base
        return "; ".join([text, *self.notes])


class DataError(TrainerError):
    """A tokenizer, shard, manifest or checkpoint is missing, corrupt or inconsistent."""

    status = RunStatus.DATA_ERROR


class Interrupted(TrainerError):
    """Ctrl-C (SIGINT) stopped the run; result.json says so and `--resume` continues it."""

    status = RunStatus.INTERRUPTED


class DataExhausted(TrainerError):
    """The token stream ran dry and cycling was not allowed. Never replaced by placeholder values."""

    status = RunStatus.PREFLIGHT


class DeviceError(TrainerError):
    """An explicitly requested device is not available; there is no silent fallback."""

    status = RunStatus.DEVICE_ERROR


class GuardError(TrainerError):
    """A guard refused to continue. `gate` names the contract gate that the guard enforces."""

    status = RunStatus.PREFLIGHT

    def __init__(self, message: str, *, gate: str, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.gate = gate


class PreflightError(GuardError):
    status = RunStatus.PREFLIGHT


class DivergenceError(GuardError):
    status = RunStatus.DIVERGENCE


class NonFiniteError(GuardError):
    status = RunStatus.NONFINITE


def io_error(exc: OSError, what: str, path: str | os.PathLike[str]) -> DataError:
    """An OSError while reading or writing `path` as a DataError: what failed, why, and the fix."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    fix = _IO_FIXES.get(exc.errno or 0)
    return DataError(f"{what}: {reason}" + (f"; {fix}" if fix else ""), path=os.fspath(path))
