"""Records and helpers shared by the dialect mappings of `pv migrate`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

JsonPath = tuple[str | int, ...]
Locate = Callable[[JsonPath], int]  # source json path -> 1-based line (0 unknown)

CONTRACT_ID = re.compile(r"\AC-[A-Z0-9]+(-[A-Z0-9]+)*\Z")
PATTERNS = {
    "INV": re.compile(r"\AINV-[A-Z0-9]+(-[A-Z0-9]+)*\Z"),
    "GATE": re.compile(r"\AGATE-[A-Z0-9]+(-[A-Z0-9]+)*\Z"),
    "FALSIFY": re.compile(r"\AFALSIFY-[A-Z0-9]+(-[A-Z0-9]+)*\Z"),
    "FM": re.compile(r"\AFM-[A-Z0-9]+(-[A-Z0-9]+)*\Z"),
    "AC": re.compile(r"\AAC-[A-Z0-9]+(-[A-Z0-9]+)*\Z"),
}
CONSTANT_NAME = re.compile(r"\A[a-z][a-z0-9_]*\Z")
SEMVER = re.compile(r"\A(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\Z")
MAX_CONSTANT_CHARS = 200  # longer strings are prose, not a pinned value


@dataclass(frozen=True)
class Unmapped:
    """A source field the v1 file does not carry; `value` is kept so the report is lossless."""

    path: str  # dotted source path, e.g. "gates[2].discharge_status"
    line: int
    reason: str
    value: object = None


@dataclass(frozen=True)
class Migration:
    dialect: str
    data: dict  # schema-v1 shaped, keys in canonical order
    unmapped: tuple[Unmapped, ...] = ()
    notes: tuple[str, ...] = ()  # decisions the user should review


@dataclass
class Builder:
    """Collects the output and everything left behind while a mapping runs."""

    locate: Locate
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def leave(self, path: JsonPath, reason: str, value: object = None) -> None:
        self.unmapped.append(Unmapped(dotted(path), self.locate(path), reason, value))

    def note(self, text: str) -> None:
        self.notes.append(text)


def dotted(path: JsonPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def prose(text: object) -> str:
    """Folded YAML prose as one line: the v1 file states it once, without hard wraps."""
    return " ".join(str(text).split())


def kebab_id(prefix: str, raw: str) -> str:
    """`softmax-kernel` -> `C-SOFTMAX-KERNEL`: upper, non-alphanumerics become single dashes."""
    body = re.sub(r"[^A-Z0-9]+", "-", raw.upper()).strip("-")
    return f"{prefix}-{body}" if body else ""


def fit_id(kind: str, raw: object) -> str | None:
    """The id as is when it satisfies the v1 pattern, else a repaired spelling, else None."""
    if not isinstance(raw, str):
        return None
    pattern = PATTERNS[kind]
    if pattern.match(raw):
        return raw
    fixed = kebab_id(kind, re.sub(rf"^{kind}-", "", raw.upper()))
    return fixed if pattern.match(fixed) else None


def constant_name(parts: list[str]) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", "_".join(parts).lower()).strip("_")
    return name if CONSTANT_NAME.match(name) else f"c_{name}"


def flatten_constants(blocks: list[tuple[JsonPath, object]], b: Builder) -> dict:
    """Scalar leaves of parameter blocks become constants: the leaf name when unique, else the path.

    Lists, nulls and prose are not values a constraint can compare; they go to the report.
    """
    leaves: list[tuple[JsonPath, object]] = []
    stack = list(reversed(blocks))
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(reversed([((*path, k), v) for k, v in node.items()]))
        elif isinstance(node, bool | int | float) or (
            isinstance(node, str) and "\n" not in node.strip() and len(node) <= MAX_CONSTANT_CHARS
        ):
            leaves.append((path, node))
        elif node is None:
            b.leave(path, "null value: nothing to pin", node)
        elif isinstance(node, list):
            b.leave(path, "a list: v1 constants are scalars", node)
        else:
            b.leave(path, "prose, not a pinned value", node)
    counts: dict[str, int] = {}
    for path, _ in leaves:
        counts[str(path[-1])] = counts.get(str(path[-1]), 0) + 1
    out: dict = {}
    for path, value in leaves:
        leaf = str(path[-1])
        name = constant_name([leaf] if counts[leaf] == 1 else [str(p) for p in path])
        if name in out:
            b.leave(path, f"constant name {name} already taken", value)
            continue
        out[name] = value
    return out
