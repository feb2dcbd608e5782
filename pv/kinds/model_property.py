"""model-property: structural facts of a model, checked on a freshly built one.

The model is built once per process for each configuration, one of two ways:
  factory  (default) the target is `(vocab_size, max_seq_len, **factory_kwargs) -> torch.nn.Module`,
           the convention model-surface uses (an HF causal LM from a tiny config, a trainer's builder);
  builder  with `builder` `(preset, vocab_size, max_seq_len) -> config`, the target is the model class
           and the model is `target(builder(preset, vocab_size, max_seq_len))`.

property (param):
  tied-embeddings  the output head and the token embedding are one tensor, and parameters() yields it
                   once. `embedding` / `head` are attribute paths into the model (`transformer.wte`,
                   `lm_head`); by default the embedding is the nn.Embedding with vocab_size rows and the
                   head the last nn.Linear with vocab_size outputs.
  untied-embeddings  the opposite, for a model whose contract pins separate matrices.
  param-band       lo ≤ parameters ≤ hi, counted here over unique tensors (a tied matrix once); with
                   `counter` `(model) -> int` the project's own count must agree.
  rejects-oov      a token id ≥ vocab_size (or < 0) passed as `model(ids)` raises instead of being clamped
                   or wrapped (model-surface's rejects-oov does the same through declared adapters).
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "model-property"
SUMMARY = "tied / untied embeddings, parameter band, out-of-vocab ids raise: facts of a freshly built model"
PROPERTIES = ("tied-embeddings", "untied-embeddings", "param-band", "rejects-oov")
PARAMS = {
    "property": " | ".join(PROPERTIES),
    "vocab_size": "vocabulary for the built model (default 512)",
    "max_seq_len": "context for the built model (default 16)",
    "factory_kwargs": "factory: extra keyword arguments, e.g. a tiny shape",
    "preset": "builder: the preset passed to it (default tiny)",
    "builder": "adapter (preset, vocab_size, max_seq_len) -> config; the target is then the model class",
    "counter": "adapter (model) -> int: the project's parameter count, which must equal pv's",
    "lo": "param-band: lowest allowed parameter count",
    "hi": "param-band: highest allowed parameter count",
    "embedding": "tied/untied: attribute path of the token embedding (default: found by shape)",
    "head": "tied/untied: attribute path of the output head (default: found by shape)",
}
REQUIRED_PARAMS = ("property",)
TARGET_PARAMS = ("builder", "counter")
ARGS = ("offset",)
EXPENSIVE = True  # every example builds a model: no shrinking


def strategies(property, **_):
    if property not in PROPERTIES:
        raise ValueError(f"unknown model property {property!r}; use one of {', '.join(PROPERTIES)}")
    # Only rejects-oov uses the offset; the others see one value, so hypothesis runs them once.
    return {"offset": st.integers(0, 10**6) if property == "rejects-oov" else st.just(0)}


_MODELS: dict[tuple, object] = {}


def built(target, builder, preset, vocab_size, max_seq_len, factory_kwargs):
    """One model per configuration: the checks only read it, so examples share it."""
    import torch

    key = (target, builder, preset, vocab_size, max_seq_len, repr(sorted((factory_kwargs or {}).items())))
    if key not in _MODELS:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            if builder is not None:
                from pv.runtime import resolve

                model = target(resolve(builder)(preset, vocab_size, max_seq_len))
            else:
                model = target(vocab_size, max_seq_len, **(factory_kwargs or {}))
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"the model is a {type(model).__name__}, not a torch.nn.Module")
        _MODELS[key] = model
    return _MODELS[key]


def _at(model, path: str):
    obj = model
    for part in path.split("."):
        if not hasattr(obj, part):
            raise AssertionError(f"the model has no {path!r} ({type(obj).__name__} lacks {part!r})")
        obj = getattr(obj, part)
    return obj


def embedding_and_head(model, vocab_size: int, embedding=None, head=None):
    import torch

    if embedding is not None:
        emb = _at(model, embedding)
    else:
        found = [
            m for m in model.modules() if isinstance(m, torch.nn.Embedding) and m.num_embeddings == vocab_size
        ]
        assert found, f"no nn.Embedding with {vocab_size} rows (the vocabulary never reached the model?)"
        emb = found[0]
    if head is not None:
        out = _at(model, head)
    else:
        linear = torch.nn.Linear
        found = [m for m in model.modules() if isinstance(m, linear) and m.out_features == vocab_size]
        assert found, f"no nn.Linear with {vocab_size} outputs (the output head)"
        out = found[-1]
    return emb, out


def unique_count(model) -> int:
    """Parameters over unique storages, so a tied matrix counts once."""
    seen, total = set(), 0
    for p in model.parameters():
        if p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            total += p.numel()
    return total


def check(
    target,
    offset,
    property,
    vocab_size=512,
    max_seq_len=16,
    factory_kwargs=None,
    preset="tiny",
    builder=None,
    counter=None,
    lo=None,
    hi=None,
    embedding=None,
    head=None,
):
    __tracebackhide__ = True
    import torch

    model = built(target, builder, preset, vocab_size, max_seq_len, factory_kwargs)
    if property in ("tied-embeddings", "untied-embeddings"):
        emb, out = embedding_and_head(model, vocab_size, embedding, head)
        shared = out.weight is emb.weight or out.weight.data_ptr() == emb.weight.data_ptr()
        if property == "tied-embeddings":
            assert shared, "output head and token embedding are separate tensors (not tied)"
            params = list(model.parameters())
            assert len({p.data_ptr() for p in params}) == len(params), (
                "a tensor is yielded twice by parameters() (an optimizer would step it twice)"
            )
        else:
            assert not shared, "output head and token embedding are one tensor (tied; the contract says not)"
    elif property == "param-band":
        if lo is None or hi is None:
            raise ValueError("property param-band needs lo and hi")
        own = unique_count(model)
        if counter is not None:
            from pv.runtime import resolve

            n = resolve(counter)(model)
            assert n == own, f"the project's counter says {n:,}, unique parameters number {own:,}"
        assert lo <= own <= hi, (
            f"the model at vocab {vocab_size} has {own:,} parameters, outside [{lo:,}, {hi:,}]"
        )
    elif property == "rejects-oov":
        bad = vocab_size + offset if offset % 2 == 0 else -(1 + offset)
        idx = torch.tensor([[1, 2, bad]])
        try:
            with torch.no_grad():
                model(idx)
        except (ValueError, IndexError, RuntimeError):
            return
        raise AssertionError(
            f"token id {bad} with vocab_size {vocab_size} was accepted (clamped or wrapped?)"
        )
    else:
        raise ValueError(f"unknown model property {property!r}")
