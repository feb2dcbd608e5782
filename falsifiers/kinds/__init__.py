"""The falsifier-kind registry: one module per kind, kebab kind name ↔ snake module name.

A kind module defines
    NAME: str                       # the kebab name contracts use in `kind:`
    SUMMARY: str                    # one line for docs and `pv generate` errors
    PARAMS: dict[str, str]          # accepted params → what they mean (unknown params are an error)
    ARGS: tuple[str, ...]           # names hypothesis draws (keys allowed in `examples`); () = no inputs
    render(falsifier, contract) -> str   # the pytest source of one test (see `_render.render_test`)
and the runtime checks its rendered test calls. Kind modules never import project code at import
time: generation only renders text, it never imports `trainer`.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

REQUIRED = ("NAME", "SUMMARY", "PARAMS", "ARGS", "render")


class UnknownKindError(LookupError):
    pass


def module_name(kind: str) -> str:
    return kind.replace("-", "_")


def available() -> list[str]:
    """Every kind name in this package, sorted (modules starting with `_` are helpers)."""
    return sorted(
        m.name.replace("_", "-") for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")
    )


def get_kind(kind: str) -> ModuleType:
    if kind not in available():
        raise UnknownKindError(f"unknown falsifier kind {kind!r}; known kinds: {', '.join(available())}")
    mod = importlib.import_module(f"{__name__}.{module_name(kind)}")
    missing = [name for name in REQUIRED if not hasattr(mod, name)]
    if missing or kind != mod.NAME:
        raise UnknownKindError(
            f"kind module {mod.__name__} is malformed (missing {missing} or NAME mismatch)"
        )
    return mod
