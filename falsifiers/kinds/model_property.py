"""model-property: structural facts of the model family, checked on freshly built models.

property (param):
  tied-embeddings  the output head and the token embedding are one tensor (target: the model class)
  param-band       preset `preset` at `vocab_size` has lo ≤ count_parameters ≤ hi (target: the model class)
  rejects-oov      a token id ≥ vocab_size (or < 0) raises instead of being clamped or wrapped
`builder` (default trainer.model:model_config) makes the config; `counter` (default
trainer.model:count_parameters) counts.
"""

from __future__ import annotations

import functools
import sys

from hypothesis import strategies as st

NAME = "model-property"
SUMMARY = "tied embeddings / preset parameter band / out-of-vocab ids raise"
PARAMS = {
    "property": "tied-embeddings | param-band | rejects-oov",
    "preset": "model preset (default tiny)",
    "vocab_size": "vocabulary for the built model (default 512)",
    "lo": "param-band: lowest allowed parameter count",
    "hi": "param-band: highest allowed parameter count",
    "builder": "dotted target of preset → config (default trainer.model:model_config)",
    "counter": "dotted target of the parameter counter (default trainer.model:count_parameters)",
}
REQUIRED_PARAMS = ("property",)
TARGET_PARAMS = ("builder", "counter")
ARGS = ("offset",)
EXPENSIVE = True  # every example builds a model: no shrinking


def strategies(property, **_):
    # Only rejects-oov uses the offset; the others see one value, so hypothesis runs them once.
    return {"offset": st.integers(0, 10**6) if property == "rejects-oov" else st.just(0)}


@functools.cache
def _built(target, builder, preset, vocab_size):
    """One model per (class, builder, preset, vocab): the checks only read it, so examples share it."""
    import torch

    from falsifiers.runtime import resolve

    torch.manual_seed(0)
    return target(resolve(builder)(preset, vocab_size, 16))


def check(
    target,
    offset,
    property,
    preset="tiny",
    vocab_size=512,
    lo=None,
    hi=None,
    builder="trainer.model:model_config",
    counter="trainer.model:count_parameters",
):
    __tracebackhide__ = True
    import torch

    from falsifiers.runtime import resolve

    model = _built(target, builder, preset, vocab_size)
    if property == "tied-embeddings":
        out = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == vocab_size]
        emb = [m for m in model.modules() if isinstance(m, torch.nn.Embedding)]
        assert out and emb, "no (V, C) output head or token embedding found"
        assert out[-1].weight is emb[0].weight, (
            "output head and token embedding are separate tensors (not tied)"
        )
        unique = {p.data_ptr() for p in model.parameters()}
        assert len(unique) == len(list(model.parameters())), "a tensor is counted twice by parameters()"
    elif property == "param-band":
        n = resolve(counter)(model)
        # independent count: unique storages, so a tied matrix counts once
        seen, own = set(), 0
        for p in model.parameters():
            if p.data_ptr() not in seen:
                seen.add(p.data_ptr())
                own += p.numel()
        assert n == own, f"count_parameters says {n}, unique parameters number {own}"
        assert lo <= n <= hi, f"{preset} at vocab {vocab_size} has {n:,} parameters, outside [{lo:,}, {hi:,}]"
    elif property == "rejects-oov":
        bad = vocab_size + offset if offset % 2 == 0 else -(1 + offset)
        idx = torch.tensor([[1, 2, bad]])
        try:
            model(idx)
        except (ValueError, IndexError, RuntimeError):
            return
        raise AssertionError(
            f"token id {bad} with vocab_size {vocab_size} was accepted (clamped or wrapped?)"
        )
    else:
        raise ValueError(f"unknown model property {property!r}")


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
