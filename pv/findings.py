"""Records every pv check produces: locations, findings and the report with its denominators.

Frozen dataclasses so reporters (pure `render(report) -> str`) can never mutate a verdict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Location:
    """A position in a file; line and col are 1-based (0 = unknown, e.g. an unreadable file)."""

    path: str
    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Finding:
    rule_id: str  # stable id, e.g. "PV101"
    rule_name: str  # kebab name, e.g. "unknown-key"
    severity: Severity
    message: str  # states the problem, shows the value
    location: Location
    fix: str = ""  # imperative hint: how to make it go away
    contract_id: str = ""  # contract the finding belongs to, when known

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.line, loc.col, self.rule_id, self.message)


@dataclass(frozen=True)
class Counts:
    """Denominators every verdict states."""

    files: int = 0
    contracts: int = 0
    invariants: int = 0
    gates: int = 0
    ship_blocking_gates: int = 0
    falsifiers: int = 0
    executable_falsifiers: int = 0
    inert_contracts: int = 0


@dataclass(frozen=True)
class Suppressed:
    """A finding that is not reported, and why: never dropped, always counted (pv.suppression)."""

    finding: Finding
    by: str  # "config" (select / ignore / per-file-ignores) or "inline" (a `# pv: ignore[...]` comment)
    reason: str  # e.g. "ignore PV5", "per-file-ignores 'legacy/*': PV306", "`# pv: ignore[PV501]` on line 9"


@dataclass(frozen=True)
class Report:
    """The outcome of `pv validate` (and friends): findings plus what was looked at."""

    findings: tuple[Finding, ...]
    counts: Counts
    files: tuple[str, ...] = ()
    cached_files: int = 0
    extra: dict = field(default_factory=dict, compare=False)
    suppressed: tuple[Suppressed, ...] = ()
    # `pv validate --changed`: the files reported on (empty: all), and the findings elsewhere not shown.
    focus: tuple[str, ...] = ()
    not_shown: tuple[Finding, ...] = ()

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    def exit_code(self, strict: bool = False) -> int:
        if self.errors or (strict and self.warnings):
            return 1
        return 0
