"""The defect catalog stays in step with the code, and a few cheap mutants really change behaviour.

The full benchmark (`make mutants`: pv gate per mutant) is slow and lives in bench/; here each mutant
is applied in-process and undone, and the falsifier kind that should kill it is called directly.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest

from bench.mutants.catalog import MUTANTS, resolves
from pv.kinds import loss_guard


def test_catalog_is_well_formed() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)) and len(names) >= 20
    for m in MUTANTS:
        assert (m.apply is None) != (not m.text_patch), f"{m.name}: exactly one of apply / text_patch"
        missing = [t for t in m.targets if not resolves(t)]
        assert not missing, f"{m.name} names targets that no longer exist: {missing}"
    for m in (m for m in MUTANTS if m.text_patch):
        for file, old, _new in m.text_patch:
            text = (Path(__file__).parents[2] / file).read_text(encoding="utf-8")
            assert text.count(old) == 1, f"{m.name}: the text it patches in {file} changed"


@pytest.fixture()
def undo(monkeypatch):
    """Snapshot the attributes a mutant touches so the test leaves the trainer as it found it."""

    def snapshot(mutant):
        for target in mutant.targets:
            module, _, attr = target.partition(":")
            owner = importlib.import_module(module)
            parts = attr.split(".")
            for part in parts[:-1]:
                owner = getattr(owner, part)
            monkeypatch.setattr(owner, parts[-1], getattr(owner, parts[-1]))

    return snapshot


def _mutant(name):
    return next(m for m in MUTANTS if m.name == name)


def _apply(name, undo):
    m = _mutant(name)
    undo(m)
    m.apply()


def test_divergence_ge_is_killed_by_the_loss_guard_at_exactly_double(undo) -> None:
    guards = importlib.import_module("trainer.guards")
    trace = [5.0, 10.0]  # exactly double: allowed by the contract
    loss_guard.check(guards.check_epoch, trace, rule="epoch")  # clean code passes
    _apply("divergence-ge", undo)
    with pytest.raises(AssertionError):
        loss_guard.check(guards.check_epoch, trace, rule="epoch")


def test_always_converged_changes_the_verdict(undo) -> None:
    guards = importlib.import_module("trainer.guards")
    status = importlib.import_module("trainer.status")
    assert guards.final_status([9.0], 3.0, True) is status.RunStatus.NOT_CONVERGED
    _apply("always-converged", undo)
    assert guards.final_status([9.0], 3.0, True) is status.RunStatus.OK


def test_constant_drift_moves_the_divergence_boundary(undo) -> None:
    guards = importlib.import_module("trainer.guards")
    _apply("constant-drift", undo)
    assert guards.DIVERGENCE_FACTOR == 3.0
    guards.check_epoch(1, 2.5, 1.0, "from-scratch", 2048)  # 2.5 > 2·1.0 should diverge; the mutant lets it
    assert not math.isclose(guards.DIVERGENCE_FACTOR, 2.0)
