"""The model surface shared by `model-surface` and `hf-differential`: a causal LM seen only through
`ids → logits`, `ids, targets → loss` and `ids at positions offset.. → logits`.

The subject is a factory `factory(vocab_size, max_seq_len, **factory_kwargs) -> torch.nn.Module`
(the code under test builds the model; the kinds never construct one themselves). How the model is
called is an `interface` convention, or per-call adapters given as dotted `module:attr` targets:

  logits(model, ids) -> (B, T, V) tensor
  loss(model, ids, targets) -> scalar tensor (the mean over scored tokens)
  logits_at(model, ids, offset) -> (B, T, V) tensor with ids[:, 0] at position `offset`

Conventions: `tuple` — `model(ids)` returns logits or a tuple starting with them, `model(ids, targets)`
returns `(logits, loss)`, `model(ids, pos_offset=k)` shifts positions (this repo's trainer, nanoGPT-style
code); `hf` — `model(input_ids=ids).logits`, `model(input_ids=ids, labels=targets).loss`,
`position_ids=arange(k, k + T)` (transformers' causal LMs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INTERFACES = ("tuple", "hf")


@dataclass(frozen=True)
class Surface:
    model: Any  # torch.nn.Module
    logits: Callable[[Any], Any]  # ids -> (B, T, V)
    loss: Callable[[Any, Any], Any]  # ids, targets -> scalar
    logits_at: Callable[[Any, int], Any]  # ids, offset -> (B, T, V)


def _first(out):
    return out[0] if isinstance(out, tuple | list) else out


def _conventions(interface: str) -> tuple[Callable, Callable, Callable]:
    import torch

    if interface == "tuple":
        return (
            lambda m, ids: _first(m(ids)),
            lambda m, ids, targets: m(ids, targets)[1],
            lambda m, ids, k: _first(m(ids, pos_offset=k)),
        )
    if interface == "hf":

        def positions(ids, k):
            return torch.arange(k, k + ids.shape[1]).unsqueeze(0).expand(ids.shape[0], -1)

        return (
            lambda m, ids: m(input_ids=ids).logits,
            lambda m, ids, targets: m(input_ids=ids, labels=targets).loss,
            lambda m, ids, k: m(input_ids=ids, position_ids=positions(ids, k)).logits,
        )
    raise ValueError(f"unknown interface {interface!r}; use one of {', '.join(INTERFACES)}")


def reinit(model, std: float, seed: int) -> None:
    """Re-draw every weight N(0, std) and every 1-D tensor that starts at 1 (norm gains) as 1 + N(0, std):
    at the usual 0.02 init the logits are so small that a tolerance check would pass almost any wiring,
    and gains of exactly 1 would hide a gain that is never applied."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32).to(p.dtype) * std
            is_gain = p.dim() == 1 and bool((p == 1).all())
            p.copy_(1 + noise if is_gain else noise)


_MODELS: dict[tuple, Any] = {}


def build(
    target, vocab_size: int, max_seq_len: int, factory_kwargs: dict | None, reinit_std: float, seed: int = 0
):
    """The factory's model, built once per process for each (factory, shape, re-init) and reused."""
    import torch

    key = (
        target,  # the object itself: an id could be reused once a factory is freed
        vocab_size,
        max_seq_len,
        repr(sorted((factory_kwargs or {}).items())),
        reinit_std,
        seed,
    )
    if key not in _MODELS:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = target(vocab_size, max_seq_len, **(factory_kwargs or {}))
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"the factory returned {type(model).__name__}, not a torch.nn.Module")
        model = model.float()
        if reinit_std:
            reinit(model, reinit_std, seed)
        _MODELS[key] = model
    return _MODELS[key]


def surface(
    model,
    interface: str = "tuple",
    logits: str | None = None,
    loss: str | None = None,
    logits_at: str | None = None,
) -> Surface:
    from pv.runtime import resolve

    conv = _conventions(interface)
    fns = [resolve(a) if a else c for a, c in zip((logits, loss, logits_at), conv, strict=True)]
    return Surface(
        model,
        lambda ids: fns[0](model, ids),
        lambda ids, targets: fns[1](model, ids, targets),
        lambda ids, k: fns[2](model, ids, k),
    )


@contextlib.contextmanager
def one_thread():
    """Run tiny-model checks on one intra-op thread: on a busy 2-core machine thread hand-offs cost
    more than the math (measured 5-18x slower), and one thread keeps reductions in a fixed order."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def on_one_thread(check_body: Callable[..., Any]) -> Callable[..., Any]:
    """A kind's `check`: `check_body` run inside `one_thread()`."""

    def check(target, *args, **params):
        __tracebackhide__ = True
        with one_thread():
            return check_body(target, *args, **params)

    check.__doc__ = f"`{check_body.__name__}` on one torch thread (see pv.kinds._surface.one_thread)."
    return check


@contextlib.contextmanager
def mode(model, train: bool, rng_seed: int = 0):
    """Train or eval mode with the torch RNG reset on entry (any dropout masks repeat between calls)."""
    import torch

    was = model.training
    model.train(train)
    with torch.random.fork_rng():
        torch.manual_seed(rng_seed)
        try:
            yield
        finally:
            model.train(was)


def ids_tensor(ids):
    import torch

    return torch.tensor(ids, dtype=torch.long)


def checked_logits(logits, batch: int, length: int, vocab_size: int, what: str = "logits"):
    shape = tuple(logits.shape)
    assert shape == (batch, length, vocab_size), (
        f"{what} have shape {shape}, expected (B, T, V) = {(batch, length, vocab_size)}: "
        + (
            f"the model's vocabulary is {shape[-1]}, not the vocab_size {vocab_size} it was built with"
            if len(shape) == 3 and shape[:2] == (batch, length)
            else "the adapter or the model returns something else"
        )
    )
    return logits.detach().double()


def gap(a, b) -> float:
    return float((a - b).abs().max())


def within(a, b, atol: float, rtol: float) -> bool:
    """max |a − b| ≤ atol + rtol · max |b|: tolerance relative to the logits' scale, not per element."""
    return gap(a, b) <= atol + rtol * float(b.abs().max())
