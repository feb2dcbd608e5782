"""`pv trace [PATHS] [--format markdown|html] [-o FILE]`: the AC → gate → invariant → falsifier → test chain.

Exit 0 when traced (dangling / inert pieces are marked, not fatal), 1 with --strict when any exist
(or the contracts define no invariant at all), 2 for usage errors or when no contract could be read.
"""

from __future__ import annotations

import os

import click

from pv.commands._common import emit


@click.command("trace")
@click.argument("paths", nargs=-1, metavar="[PATHS]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "html"]),
    default="markdown",
    show_default=True,
    help="markdown: tables; html: one self-contained page with the graph.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
@click.option(
    "--strict", is_flag=True, help="Exit 1 when anything is dangling or inert, or there is no invariant."
)
@click.pass_context
def trace(ctx: click.Context, paths: tuple[str, ...], fmt: str, output: str | None, strict: bool) -> None:
    """Trace every acceptance criterion to the tests that back it.

    PATHS are contract files, folders or quoted globs; without PATHS, [tool.pv].contracts. Marks
    dangling references (and ACs, invariants, falsifiers nothing hangs off) and inert invariants
    (attacked only by prose falsifiers).
    """
    from pv.config import load_config
    from pv.trace import load_trace
    from pv.trace_render import render_html, render_markdown, summary_line

    config = load_config()
    patterns = list(paths) or [os.path.relpath(config.path(p)) for p in config.contracts]
    result = load_trace(patterns, config)
    text = render_html(result) if fmt == "html" else render_markdown(result)
    emit(text, output)
    if output:
        click.echo(f"{summary_line(result)} → {output}", err=True)
    ctx.exit(1 if strict and (result.problems or not result.counts.get("invariant")) else 0)
