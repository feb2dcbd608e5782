"""determinism: a seeded computation repeats exactly with the same seed and changes with another.

probe (param):
  call          target(seed) → value
  seeded-rngs   target = seed_everything; the value is one draw each from python, numpy and torch
  model-init    target = seed_everything(seed); the value is the state dict of the model the `model`
                factory `(vocab_size, max_seq_len, **factory_kwargs) -> torch.nn.Module` builds right
                after it (the kind seeds nothing itself: the target must)
  token-stream  target = a stream class `(tokens, batch_size, seq_length, *, seed, allow_cycle)` whose
                instances are iterators of (x, y); the value is its first 3 batches over 4000 tokens
Values compare exactly (tensors with torch.equal), never within a tolerance. Each probe runs inside
`torch.random.fork_rng()`, so the global RNG state is the same before and after.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "determinism"
SUMMARY = "same seed → identical output, different seed → different output"
PROBES = ("call", "seeded-rngs", "model-init", "token-stream")
PARAMS = {
    "probe": " | ".join(PROBES),
    "model": "model-init: adapter (vocab_size, max_seq_len, **factory_kwargs) -> torch.nn.Module (required)",
    "vocab_size": "model-init: vocab_size passed to the factory (default 300)",
    "max_seq_len": "model-init: max_seq_len passed to the factory (default 16)",
    "factory_kwargs": "model-init: extra keyword arguments of the factory, e.g. a tiny shape",
}
REQUIRED_PARAMS = ("probe",)
TARGET_PARAMS = ("model",)
ARGS = ("seed",)
EXPENSIVE = True  # model-init builds two models per seed; a shrunk seed is no more telling than another


def strategies(probe, **_):
    if probe not in PROBES:
        raise ValueError(f"unknown determinism probe {probe!r}; use one of {', '.join(PROBES)}")
    return {"seed": st.integers(0, 2**31 - 2)}


def _value(target, seed, probe, model=None, vocab_size=300, max_seq_len=16, factory_kwargs=None):
    import random

    import numpy as np
    import torch

    if probe == "call":
        return target(seed)
    if probe == "seeded-rngs":
        target(seed)
        return [random.random(), float(np.random.random()), torch.rand(3)]
    if probe == "model-init":
        if model is None:
            raise ValueError("probe model-init needs the `model` factory (vocab_size, max_seq_len, **kw)")
        from pv.runtime import resolve

        factory = resolve(model)
        target(seed)
        return factory(vocab_size, max_seq_len, **(factory_kwargs or {})).state_dict()
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


def check(target, seed, probe, model=None, vocab_size=300, max_seq_len=16, factory_kwargs=None):
    __tracebackhide__ = True
    import torch

    build = {"model": model, "vocab_size": vocab_size, "max_seq_len": max_seq_len}
    with torch.random.fork_rng():
        first, again, other = (
            _value(target, s, probe, factory_kwargs=factory_kwargs, **build) for s in (seed, seed, seed + 1)
        )
    assert equal(first, again), f"{probe}: seed {seed} gave different results on two runs"
    assert not equal(first, other), (
        f"{probe}: seeds {seed} and {seed + 1} gave identical results (seed ignored)"
    )
