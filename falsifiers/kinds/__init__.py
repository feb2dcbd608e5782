"""This repository's own falsifier kinds: the ones about our trainer (its run layout, its streams, its
DDP ranks). They load through the same path as any project's kinds: `[tool.pv].kinds` in
pyproject.toml lists this package, and `pv.kinds.KindRegistry` finds every module here that declares
a NAME, next to pv's built-in kinds. Modules starting with `_` are helpers.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from pv.kinds import KindRegistry, UnknownKindError  # noqa: F401  (re-exported)

_ROOT = Path(__file__).resolve().parents[2]


def _registry() -> KindRegistry:
    from pv.config import load_config

    return KindRegistry.for_config(load_config(_ROOT))


def available() -> list[str]:
    """Every kind this repository's contracts can use (built-ins and ours), sorted."""
    return _registry().names()


def get_kind(kind: str) -> ModuleType:
    return _registry().load(kind)
