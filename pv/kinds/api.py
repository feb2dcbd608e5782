"""The Kind protocol: what a falsifier-kind module provides (checked by `KindRegistry.load`).

A kind turns one contract falsifier into one pytest test. The standard test shape draws `ARGS` with
hypothesis from `strategies(**params)` and calls `check(resolve(target), *args, **params)`; a failing
`assert` inside `check` is the falsification. `check` must judge with an oracle of its own (the rule
restated), never by calling back into the code under test for the expected value.

Kind modules import no project code at import time: generation only renders text. They reach the
subject through the resolved `target` and through adapter params that name code. Every such param
must be declared, so that `pv validate` checks it like `target:` (statically, with a file:line finding)
and the runtime checks it again:

- `TARGET_PARAMS`: params whose value is a target `module.path[:attr.path]` (a `$constant` that holds
  one included). The kind resolves the value with `pv.runtime.resolve(value)`.
- `SIBLING_PARAMS`: params whose value is an attribute of the falsifier target's module (a full
  `module:attr` also works). The kind resolves it with `pv.runtime.resolve_sibling(target, value)`.

`resolve` checks the module and every hop of the attribute chain against `[tool.pv].target_packages`
(an object defined outside them, a module outside them, a builtin or a dunder hop is refused), so a
param the kind forgot to declare is still refused at run time, only later. Write each declaration as one
top-level literal (`TARGET_PARAMS = ("builder", "counter")`): pv reads it from the source without
importing the kind, and `KindRegistry.load` refuses a kind whose runtime value differs.

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
    #   TARGET_PARAMS: tuple[str, ...]     params naming code as module.path[:attr] (resolve)
    #   SIBLING_PARAMS: tuple[str, ...]    params naming an attribute of the target's module (resolve_sibling)
    #   GROUP: str                         kinds sharing one expensive fixture (one xdist worker)
    #   EXPENSIVE: bool                    each example is costly (builds a model, makes a run): the
    #                                      generated test is marked `falsifier(id, expensive=True)` and
    #                                      pv's pytest plugin runs it without shrinking; give such
    #                                      falsifiers a small `max_examples`, and draw (or build) nothing
    #                                      the checked property does not use
    #   strategies(**params) -> dict[str, SearchStrategy]   required when ARGS is not empty
    #   render(falsifier, contract) -> str                  default: pv.kinds._render.render_test

    check: Callable[..., Any]
