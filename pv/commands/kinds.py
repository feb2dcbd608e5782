"""`pv kinds`: list every falsifier kind this project can use (built-in, project, entry point)."""

from __future__ import annotations

import json

import click

from pv.commands._common import emit


def render_kinds(refs, fmt: str) -> str:
    if fmt == "json":
        rows = [
            {"name": r.name, "origin": r.origin, "module": r.module, "path": str(r.path) if r.path else None}
            for r in refs
        ]
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    wname = max((len(r.name) for r in refs), default=4)
    worigin = max((len(r.origin) for r in refs), default=6)
    lines = [f"{'KIND':<{wname}}  {'ORIGIN':<{worigin}}  MODULE"]
    lines += [f"{r.name:<{wname}}  {r.origin:<{worigin}}  {r.module}" for r in refs]
    by_origin: dict[str, int] = {}
    for r in refs:
        by_origin[r.origin] = by_origin.get(r.origin, 0) + 1
    counts = ", ".join(f"{n} {o}" for o, n in sorted(by_origin.items()))
    lines.append(f"{len(refs)} kinds ({counts}) · docs/falsifiers.md documents each")
    return "\n".join(lines) + "\n"


@click.command("kinds")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
def kinds(fmt: str, output: str | None) -> None:
    """List the falsifier kinds contracts can name: pv's built-ins, [tool.pv].kinds, entry points."""
    from pv.config import load_config
    from pv.generate import kind_registry

    emit(render_kinds(kind_registry(load_config()).refs(), fmt), output)
