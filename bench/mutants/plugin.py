"""pytest plugin `-p bench.mutants.plugin`: apply the monkeypatch mutant named by PV_MUTANT at start.

Patching happens in pytest_configure, before any test module is imported, and replaces module
attributes, so the generated falsifiers (which resolve their targets at call time) and the trainer's own
callers all see the mutated object. Without PV_MUTANT the plugin does nothing.
"""

from __future__ import annotations

import os


def pytest_configure(config) -> None:
    name = os.environ.get("PV_MUTANT", "")
    if not name:
        return
    from bench.mutants.catalog import get

    mutant = get(name)
    if mutant.apply is None:
        raise RuntimeError(
            f"mutant {name} is a text patch; bench/mutants/run.py applies it to a scratch copy"
        )
    mutant.apply()
