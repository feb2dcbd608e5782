"""Semver versions and bump sizes: the arithmetic under pv diff's policy."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


class Bump(enum.IntEnum):
    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""

    @classmethod
    def parse(cls, text: Any) -> Version | None:
        m = SEMVER.match(str(text)) if isinstance(text, str) else None
        if not m:
            return None
        return cls(int(m[1]), int(m[2]), int(m[3]), m[4] or "")

    def bumped(self, bump: Bump) -> Version:
        if bump is Bump.MAJOR:
            return Version(self.major + 1, 0, 0)
        if bump is Bump.MINOR:
            return Version(self.major, self.minor + 1, 0)
        if bump is Bump.PATCH:
            return Version(self.major, self.minor, self.patch + 1)
        return self

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")


def actual_bump(old: Version, new: Version) -> Bump | None:
    """The bump made from `old` to `new`; None when `new` is not later than `old`.

    Under 0.x (semver item 4, cargo's convention) a minor step may carry breaking changes, so
    0.3.0 → 0.4.0 counts as major and 0.3.0 → 0.3.1 as minor.
    """
    if (new.major, new.minor, new.patch) == (old.major, old.minor, old.patch):
        # Same numbers: only a pre-release → release step moves forward (1.1.0-rc.1 → 1.1.0).
        return Bump.PATCH if old.pre and not new.pre else (Bump.NONE if new == old else None)
    if (new.major, new.minor, new.patch) < (old.major, old.minor, old.patch):
        return None
    if new.major != old.major:
        return Bump.MAJOR
    if new.minor != old.minor:
        return Bump.MAJOR if old.major == 0 else Bump.MINOR
    return Bump.MINOR if old.major == 0 else Bump.PATCH
