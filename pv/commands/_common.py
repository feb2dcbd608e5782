"""Helpers the subcommands share: file output (pv.fileio) and writing a rendered report."""

from __future__ import annotations

import click

from pv.fileio import atomic_write_text

__all__ = ["atomic_write_text", "emit"]


def emit(text: str, output: str | None) -> None:
    """Print to stdout, or write to `output` when given (atomically for a regular file)."""
    if output:
        atomic_write_text(output, text)
    elif text:
        click.echo(text, nl=False)
