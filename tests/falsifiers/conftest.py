"""Shared helpers for the kind tests: run a kind's own hypothesis search against a local target."""

from __future__ import annotations

import pytest
from hypothesis import Phase, given, settings


def search(kind, target, max_examples=150, **params):
    """Run kind.check over kind.strategies(**params); raise whatever the search finds (no examples pinned)."""

    # No shrinking: the question is only whether the kind's search finds a counterexample at all.
    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
    )
    @given(**kind.strategies(**params))
    def probe(**drawn):
        kind.check(target, *[drawn[a] for a in kind.ARGS], **params)

    probe()


@pytest.fixture
def falsified():
    """`falsified(kind, target, **params)`: assert the kind's search refutes the target."""

    def run(kind, target, **params):
        __tracebackhide__ = True
        with pytest.raises(AssertionError):
            search(kind, target, **params)

    return run
