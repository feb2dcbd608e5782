"""The Kind protocol: what a falsifier-kind module provides (checked by `KindRegistry.load`).

A kind turns one contract falsifier into one pytest test. The standard test shape draws `ARGS` with
hypothesis from `strategies(**params)` and calls `check(resolve(target), *args, **params)`; a failing
`assert` inside `check` is the falsification. `check` must judge with an oracle of its own (the rule
restated), never by calling back into the code under test for the expected value.

Kind modules import no project code at import time: generation only renders text. They reach the
subject through the resolved `target` and through adapter params (dotted `module:attr` strings the kind
resolves with `pv.runtime.resolve`, so `[tool.pv].target_packages` still applies).

This module is documentation and a typing aid; it is not itself a kind (it has no NAME).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Kind(Protocol):
    NAME: str  # kebab name used in contracts (`kind: model-surface`)
    SUMMARY: str  # one line for docs, `pv validate` and errors
    PARAMS: Mapping[str, str]  # accepted params → meaning; unknown params are an error
    ARGS: tuple[str, ...]  # names hypothesis draws (keys allowed in `examples`); () = no drawn inputs

    # Optional attributes (read with getattr):
    #   REQUIRED_PARAMS: tuple[str, ...]   params a falsifier must give
    #   GROUP: str                         kinds sharing one expensive fixture (one xdist worker)
    #   EXPENSIVE: bool                    each example is costly (builds a model, makes a run): the
    #                                      generated test is marked `falsifier(id, expensive=True)` and
    #                                      pv's pytest plugin runs it without shrinking; give such
    #                                      falsifiers a small `max_examples`, and draw (or build) nothing
    #                                      the checked property does not use
    #   strategies(**params) -> dict[str, SearchStrategy]   required when ARGS is not empty
    #   render(falsifier, contract) -> str                  default: pv.kinds._render.render_test

    check: Callable[..., Any]
