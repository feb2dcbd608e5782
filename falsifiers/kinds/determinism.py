"""determinism: a seeded computation repeats exactly with the same seed and changes with another.

probe (param):
  call          target(seed) → value
  seeded-rngs   target = seed_everything; the value is one draw each from python, numpy and torch
  model-init    target = seed_everything; the value is the state dict of a fresh `model` preset
  token-stream  target = TokenStream class; the value is the first batches over a fixed token array
Values compare exactly (tensors with torch.equal), never within a tolerance.
"""

from __future__ import annotations

import sys

from hypothesis import strategies as st

NAME = "determinism"
SUMMARY = "same seed → identical output, different seed → different output"
PARAMS = {
    "probe": "call | seeded-rngs | model-init | token-stream",
    "model": "for model-init: dotted target of the model builder preset (default tiny via trainer.model)",
}
REQUIRED_PARAMS = ("probe",)
ARGS = ("seed",)
EXPENSIVE = True  # model-init builds two models per seed; a shrunk seed is no more telling than another


def strategies(probe, model=None):
    return {"seed": st.integers(0, 2**31 - 2)}


def _value(target, seed, probe):
    import random

    import numpy as np
    import torch

    if probe == "call":
        return target(seed)
    if probe == "seeded-rngs":
        target(seed)
        return [random.random(), float(np.random.random()), torch.rand(3)]
    if probe == "model-init":
        from falsifiers.runtime import resolve

        target(seed)
        cfg = resolve("trainer.model:model_config")("tiny", 300, 16)
        return resolve("trainer.model:Transformer")(cfg).state_dict()
    if probe == "token-stream":
        stream = target(torch.arange(4000), 4, 16, seed=seed, allow_cycle=True)
        return [next(stream)[0] for _ in range(3)]
    raise ValueError(f"unknown determinism probe {probe!r}")


def equal(a, b) -> bool:
    import torch

    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(equal, a, b))
    return a == b


def check(target, seed, probe, model=None):
    __tracebackhide__ = True
    import torch

    with torch.random.fork_rng():
        first, again, other = (_value(target, s, probe) for s in (seed, seed, seed + 1))
    assert equal(first, again), f"{probe}: seed {seed} gave different results on two runs"
    assert not equal(first, other), (
        f"{probe}: seeds {seed} and {seed + 1} gave identical results (seed ignored)"
    )


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
