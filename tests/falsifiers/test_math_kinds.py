"""kernel-property, equivalence, determinism, constant-matches: defects caught, clean targets pass."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from pv.kinds import constant_matches, determinism, equivalence, kernel_property
from tests.falsifiers.conftest import search

torch.set_num_threads(1)


def softmax_clean(x, dim=-1):
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim, keepdim=True)


def softmax_no_max(x, dim=-1):
    e = x.exp()  # overflows to inf for logits above ~88 in float32
    return e / e.sum(dim=dim, keepdim=True)


def test_softmax_without_max_subtraction_is_caught(falsified):
    search(kernel_property, softmax_clean, property="softmax-simplex")
    falsified(kernel_property, softmax_no_max, property="softmax-simplex")


def test_rmsnorm_without_sqrt_is_caught(falsified):
    def clean(x, w, eps):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def no_sqrt(x, w, eps):
        return x / (x.pow(2).mean(-1, keepdim=True) + eps) * w

    search(kernel_property, clean, property="rmsnorm-scale-invariant", max_examples=30)
    falsified(kernel_property, no_sqrt, property="rmsnorm-unit-rms")


def test_rope_wrong_pairing_is_caught(monkeypatch, falsified):
    from trainer import kernels

    def interleaved(x, cos, sin):  # pairs (0,1),(2,3)… while the cache is rotate-half
        x1, x2 = x[..., ::2], x[..., 1::2]
        rot = torch.stack([-x2, x1], dim=-1).flatten(-2)
        t = x.shape[-2]
        return x * cos[:t] + rot * sin[:t]

    search(kernel_property, kernels.apply_rope, property="rope-relative", cache="trainer.kernels:rope_cache")
    falsified(
        kernel_property, interleaved, property="rope-norm-preserving", cache="trainer.kernels:rope_cache"
    )


def test_adamw_with_l2_instead_of_decoupled_decay_is_caught(falsified):
    from trainer.kernels import adamw_update

    def l2(param, grad, m, v, step, *, lr, beta1, beta2, eps, weight_decay):
        return adamw_update(
            param,
            grad + weight_decay * param,
            m,
            v,
            step,
            lr=lr,
            beta1=beta1,
            beta2=beta2,
            eps=eps,
            weight_decay=0.0,
        )

    search(equivalence, adamw_update, reference="adamw", max_examples=20)
    falsified(equivalence, l2, reference="adamw")


def test_cross_entropy_without_mean_is_caught(falsified):
    import torch.nn.functional as F

    search(
        equivalence,
        lambda lg, t: F.cross_entropy(lg.view(-1, lg.shape[-1]), t.view(-1)),
        reference="cross-entropy",
    )
    falsified(
        equivalence,
        lambda lg, t: F.cross_entropy(lg.view(-1, lg.shape[-1]), t.view(-1), reduction="sum"),
        reference="cross-entropy",
    )


def test_determinism_catches_unseeded_and_seed_ignoring(falsified):
    def seeded(seed):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

    def numpy_forgotten(seed):
        random.seed(seed)
        torch.manual_seed(seed)

    search(determinism, seeded, probe="seeded-rngs", max_examples=10)
    falsified(determinism, numpy_forgotten, probe="seeded-rngs")
    falsified(determinism, lambda seed: torch.rand(2), probe="call")
    falsified(determinism, lambda seed: 42, probe="call")


def test_determinism_builds_the_declared_model(monkeypatch, falsified):
    """model-init builds through the `model` factory the contract names, right after the seeding."""
    import pv.runtime

    def factory(vocab_size, max_seq_len, width=4):
        return torch.nn.Sequential(torch.nn.Embedding(vocab_size, width), torch.nn.Linear(width, vocab_size))

    def fixed_init(vocab_size, max_seq_len, width=4):  # ignores the global RNG: the seed cannot matter
        model = factory(vocab_size, max_seq_len, width)
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(0.5)
        return model

    built = []

    def spy(vocab_size, max_seq_len, width=4):
        built.append((vocab_size, max_seq_len, width))
        return factory(vocab_size, max_seq_len, width)

    models = {"local:factory": spy, "local:fixed": fixed_init}
    monkeypatch.setattr(pv.runtime, "resolve", lambda target: models[target])
    shape = {"vocab_size": 11, "max_seq_len": 4, "factory_kwargs": {"width": 3}}
    search(determinism, torch.manual_seed, probe="model-init", model="local:factory", max_examples=3, **shape)
    assert built and set(built) == {(11, 4, 3)}, built
    falsified(determinism, torch.manual_seed, probe="model-init", model="local:fixed", **shape)
    falsified(determinism, lambda seed: None, probe="model-init", model="local:factory", **shape)
    with pytest.raises(ValueError, match="needs the `model` factory"):
        determinism.check(torch.manual_seed, 0, probe="model-init")


def test_constant_matches_catches_drift():
    table = {"from-scratch": {"lr": 3e-3}, "tokens": ("<|endoftext|>",)}
    constant_matches.check(table, expected=3e-3, path="from-scratch.lr")
    constant_matches.check(table, expected="<|endoftext|>", path="tokens.0")
    with pytest.raises(AssertionError, match=r"contract pins 0\.003"):
        constant_matches.check({"from-scratch": {"lr": 3e-4}}, expected=3e-3, path="from-scratch.lr")
    with pytest.raises(AssertionError, match="no key"):
        constant_matches.check(table, expected=1, path="finetune.lr")
    with pytest.raises(AssertionError):
        constant_matches.check(lambda mode: 9.9, expected=10.0, call={"mode": "finetune"})
    with pytest.raises(AssertionError, match="not a number"):
        constant_matches.check("2.0", expected=2.0)
