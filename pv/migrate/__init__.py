"""`pv migrate`: convert aprender- and kernel-dialect contracts to schema v1, listing what it leaves.

API:
    to_v1(data, *, source_name="", locate=None, id_by_stem=None, known=None) -> Migration
    plan(docs) -> list[tuple[LoadedDocument, Migration]]     a set, so cross-file ids resolve
    render_yaml(migration, source, report_name) -> str / render_report(...) -> str   (pv/migrate/render.py)

Core only: returns data, never prints or writes (pv/commands/migrate.py does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from pv.dialects import detect_dialect
from pv.loader import LoadedDocument
from pv.migrate.common import Builder, JsonPath, Locate, Migration, Unmapped, kebab_id

__all__ = ["Migration", "MigrationError", "Unmapped", "plan", "stem_id", "to_v1"]


class MigrationError(ValueError):
    """The input is not in a dialect pv can migrate (already v1, or unrecognised)."""


def stem_id(stem: str) -> str:
    """A contract id from a kernel-dialect file name: softmax-kernel-v1 -> C-SOFTMAX-KERNEL."""
    return kebab_id("C", re.sub(r"[-_]v\d+$", "", stem))


def to_v1(
    data: dict,
    *,
    source_name: str = "",
    locate: Locate | None = None,
    id_by_stem: dict[str, str] | None = None,
    known: set[str] | None = None,
) -> Migration:
    """Map one document. `known`: invariant ids defined by the other files migrated alongside."""
    dialect = detect_dialect(data)
    b = Builder(locate or (lambda _p: 0))
    stem = PurePosixPath(source_name).stem if source_name else ""
    if dialect == "pv/v1":
        raise MigrationError("already schema pv/v1: nothing to migrate")
    if dialect not in _LISTS:
        raise MigrationError(
            "not a contract dialect pv recognises (aprender: contract_id; "
            "kernel: equations / proof_obligations)"
        )
    _check_lists(data, dialect)
    try:
        if dialect == "aprender":
            from pv.migrate import aprender

            out = aprender.to_v1(data, b, id_by_stem or {}, known or set())
        else:
            from pv.migrate import kernel

            out = kernel.to_v1(data, b, stem, id_by_stem or {})
    except (TypeError, AttributeError, KeyError) as exc:  # a field deeper down of an unexpected shape
        raise MigrationError(
            f"the {dialect} contract has a field of an unexpected shape ({type(exc).__name__}: {exc})"
        ) from exc
    return Migration(dialect, out, tuple(b.unmapped), tuple(b.notes))


# Fields the mappings walk as lists, per dialect: anything else there is refused by name, not crashed on.
_LISTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "aprender": (
        ("invariants",),
        ("gates",),
        ("failure_modes",),
        ("references",),
        ("metadata", "references"),
        ("metadata", "parent_contracts"),
    ),
    "kernel": (("falsification_tests",), ("proof_obligations",), ("metadata", "depends_on")),
}


def _check_lists(data: dict, dialect: str) -> None:
    for path in _LISTS[dialect]:
        value: object = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, list):
            raise MigrationError(
                f"`{'.'.join(path)}` must be a list in the {dialect} dialect, got {type(value).__name__} "
                f"{value!r:.40}"
            )


def _invariant_ids(data: dict) -> set[str]:
    items = data.get("invariants")
    return {
        x["id"]
        for x in (items if isinstance(items, list) else [])
        if isinstance(x, dict) and isinstance(x.get("id"), str)
    }


def plan(docs: Sequence[LoadedDocument]) -> list[tuple[LoadedDocument, Migration | MigrationError]]:
    """Migrate a set together, so parents and invariants named across files resolve to ids."""
    id_by_stem: dict[str, str] = {}
    known: set[str] = set()
    for d in docs:
        stem = PurePosixPath(d.display).stem
        cid = d.data.get("contract_id")
        id_by_stem[stem] = cid if isinstance(cid, str) and cid.startswith("C-") else stem_id(stem)
        known |= _invariant_ids(d.data)
    out: list[tuple[LoadedDocument, Migration | MigrationError]] = []
    for d in docs:

        def locate(path: JsonPath, d: LoadedDocument = d) -> int:
            return d.locate(path).line

        try:
            out.append(
                (d, to_v1(d.data, source_name=d.display, locate=locate, id_by_stem=id_by_stem, known=known))
            )
        except MigrationError as exc:
            out.append((d, exc))
    return out
