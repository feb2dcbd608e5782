"""hf-differential: the model's logits equal those of a reference written by no one here — a
transformers causal LM built from a config of the same shape (no download), holding the same weights.

One comparison pins every architectural detail at once: positional encoding (frequency table, pairing,
which of q/k/v it touches), normalisation (eps inside the root, the gain), MLP wiring, attention scale
and masking, tied embeddings.

Target: a factory `(vocab_size, max_seq_len, **factory_kwargs) -> torch.nn.Module`, as for model-surface
(the model is called through `interface` / `logits`). Adapters (dotted `module:attr`), fed the model's
own config object (`getattr(model, config_attr)`), never the kind's guesses:
  reference_config(config) -> transformers.PretrainedConfig of the same shape
  reference_weights(state_dict, config) -> dict of the reference's parameter names → tensors
The reference class is `transformers.<reference>` (default LlamaForCausalLM), built with
`reference(config)` and loaded strictly: a weight the mapping leaves out or invents fails the check.
Drawn: `ids` (B × T) and `weights`, one of three re-drawn weight sets (cached): N(0, 0.3) everywhere;
the 0.02 init scale; and N(0, 0.3) with token embeddings scaled to 1e-3, so activations are far below
sqrt(eps) and where eps sits in the norm shows. Norm gains are drawn around 1 in every set.
"""

from __future__ import annotations

from hypothesis import strategies as st

from pv.kinds._surface import on_one_thread

NAME = "hf-differential"
SUMMARY = "logits equal a transformers reference model of the same shape holding the same weights"
PARAMS = {
    "vocab_size": "V passed to the factory",
    "max_seq_len": "context passed to the factory (default 32)",
    "factory_kwargs": "extra keyword arguments of the factory (default none)",
    "interface": "tuple (default) | hf: how the model under test is called (see pv.kinds._surface)",
    "logits": "adapter (model, ids) -> (B, T, V) logits, overrides the interface",
    "reference": "transformers class name of the reference (default LlamaForCausalLM)",
    "reference_config": "adapter (config) -> the reference's config (required)",
    "reference_weights": "adapter (state_dict, config) -> the reference's state dict (required)",
    "config_attr": "attribute of the model holding its config (default config)",
    "atol": "absolute tolerance on logits (default 1e-5)",
    "rtol": "tolerance relative to max |reference logits| (default 1e-5)",
}
REQUIRED_PARAMS = ("vocab_size", "reference_config", "reference_weights")
TARGET_PARAMS = ("logits", "reference_config", "reference_weights")
ARGS = ("ids", "weights")
EXPENSIVE = True  # imports transformers, builds a reference per weight set, runs two models per example
_WEIGHT_SETS = {0: (0.3, 1.0), 1: (0.02, 1.0), 2: (0.3, 1e-3)}  # (std, token-embedding scale)


def strategies(vocab_size, max_seq_len=32, **_):
    token = st.integers(0, vocab_size - 1)

    @st.composite
    def ids(draw):
        b, t = draw(st.integers(1, 2)), draw(st.integers(1, min(12, max_seq_len)))
        return [draw(st.lists(token, min_size=t, max_size=t)) for _ in range(b)]

    return {"ids": ids(), "weights": st.sampled_from(sorted(_WEIGHT_SETS))}


_PAIRS: dict[tuple, tuple] = {}


def _pair(target, weights, vocab_size, max_seq_len, factory_kwargs, reference, config_attr, rconf, rweights):
    import torch

    from pv.kinds import _surface as S

    key = (
        target,
        weights,
        vocab_size,
        max_seq_len,
        repr(sorted((factory_kwargs or {}).items())),
        reference,
    )
    if key in _PAIRS:
        return _PAIRS[key]
    std, emb_scale = _WEIGHT_SETS[weights]
    model = S.build(target, vocab_size, max_seq_len, factory_kwargs, std, seed=100 + weights)
    if emb_scale != 1.0:
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.Embedding):
                    m.weight.mul_(emb_scale)
    import transformers

    cls = getattr(transformers, reference, None) if reference.isidentifier() else None
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ValueError(f"reference {reference!r} is not a transformers model class (e.g. LlamaForCausalLM)")
    config = getattr(model, config_attr)
    ref = cls(rconf(config)).float()
    mapped = rweights(model.state_dict(), config)
    tied = bool(getattr(ref.config, "tie_word_embeddings", False))
    missing, unexpected = ref.load_state_dict(mapped, strict=False)
    missing = [k for k in missing if not (tied and k == "lm_head.weight")]
    assert not missing and not unexpected, (
        f"the weight mapping does not fit {reference}: missing {missing[:4]}, unexpected {unexpected[:4]}"
    )
    if tied:
        ref.tie_weights()
    _PAIRS[key] = (model, ref.eval())
    return _PAIRS[key]


def _check(
    target,
    ids,
    weights,
    vocab_size,
    reference_config,
    reference_weights,
    max_seq_len=32,
    factory_kwargs=None,
    interface="tuple",
    logits=None,
    reference="LlamaForCausalLM",
    config_attr="config",
    atol=1e-5,
    rtol=1e-5,
):
    __tracebackhide__ = True
    import torch

    from pv.kinds import _surface as S
    from pv.runtime import resolve

    model, ref = _pair(
        target,
        weights,
        vocab_size,
        max_seq_len,
        factory_kwargs,
        reference,
        config_attr,
        resolve(reference_config),
        resolve(reference_weights),
    )
    f = S.surface(model, interface, logits)
    x = S.ids_tensor(ids)
    b, t = x.shape
    with S.mode(model, False), torch.no_grad():
        ours = S.checked_logits(f.logits(x), b, t, vocab_size)
        theirs = S.checked_logits(ref(input_ids=x).logits, b, t, vocab_size, what="reference logits")
    assert S.within(ours, theirs, atol, rtol), (
        f"logits differ from {reference} by up to {S.gap(ours, theirs):.3g} (reference scale "
        f"{float(theirs.abs().max()):.3g}, weight set {weights}, ids {x.tolist()}); first differing position "
        f"{_first_gap(ours, theirs, atol, rtol)}: positional encoding, norm, MLP, attention or tying differ"
    )


def _first_gap(a, b, atol, rtol) -> int:
    bound = atol + rtol * float(b.abs().max())
    per_position = (a - b).abs().amax(dim=(0, 2))
    return int((per_position > bound).nonzero()[0]) if bool((per_position > bound).any()) else -1


check = on_one_thread(_check)
