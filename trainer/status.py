"""Run outcomes and their exit statuses: one table, documented in docs/trainer-design.md and README."""

from __future__ import annotations

import enum


class RunStatus(enum.Enum):
    OK = ("OK", 0)
    NOT_CONVERGED = ("NOT_CONVERGED", 3)
    EARLY_STOP = ("EARLY_STOP", 4)
    DIVERGENCE = ("DIVERGENCE", 5)
    NONFINITE = ("NONFINITE", 6)
    PREFLIGHT = ("PREFLIGHT", 7)
    DATA_ERROR = ("DATA_ERROR", 8)
    DEVICE_ERROR = ("DEVICE_ERROR", 9)
    INTERRUPTED = ("INTERRUPTED", 130)  # 128 + SIGINT, what a shell reports for Ctrl-C

    def __init__(self, label: str, exit_code: int) -> None:
        self.label = label
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.label
