"""One exception tree for trainer. Each error carries the RunStatus the CLI exits with."""

from __future__ import annotations

from trainer.status import RunStatus


class TrainerError(Exception):
    """Base of every error trainer raises on purpose; the CLI prints it without a traceback."""

    status: RunStatus = RunStatus.DATA_ERROR

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        base = super().__str__()
        return f"{self.path}: {base}" if self.path else base


class DataError(TrainerError):
    """A tokenizer, shard, manifest or checkpoint is missing, corrupt or inconsistent."""

    status = RunStatus.DATA_ERROR


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
