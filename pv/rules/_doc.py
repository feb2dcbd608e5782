"""Shared helpers for rule modules: the ruff-style doc template and JSON-path formatting."""

from __future__ import annotations


def doc(what: str, why: str, example: str, instead: str) -> str:
    return (
        f"## What it does\n{what}\n\n## Why is this bad?\n{why}\n\n"
        f"## Example\n```yaml\n{example}\n```\n\n## Use instead\n```yaml\n{instead}\n```\n"
    )


def fmt_path(path: tuple) -> str:
    """('gates', 0, 'id') -> 'gates[0].id'; () -> 'the contract'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the contract"
