"""model-surface: a causal LM attacked only through what every pretraining stack exposes —
`ids → logits`, `ids, targets → loss`, positions — so the kind applies to code no one here wrote.

Target: a factory `(vocab_size, max_seq_len, **factory_kwargs) -> torch.nn.Module`, the code path that
builds the model a run trains. Calls go through `interface` or the `logits` / `loss` / `logits_at`
adapters (signatures in `pv.kinds._surface`). Drawn inputs: `ids` (B × T token ids in [0, V)) and `probe`
(the position, offset or bad id a property needs; a constant when the property uses none).

Properties (param `property`), each judged by the rule restated here:
  causal             changing token j never changes the logits at positions < j, in train and in eval mode
  batch-independent  a row's logits are the same alone as inside the batch (eval)
  rejects-oov        an id ≥ V or < 0 raises at the model's entry (the same ids in range do not)
  init-loss          the freshly built model scores uniform tokens (seeded by `probe`) near ln V:
                     |loss − ln V| ≤ init_loss_tol
  loss-matches       the model's loss equals a float64 cross-entropy recomputed from its own logits with the
                     declared `shift` (pre-shifted targets, or labels = ids scored against ids[t + 1])
  gradients-reach    one backward of the loss on distinct tokens (seeded by `probe`) gives every
                     trainable tensor a finite, nonzero gradient
  relative-position  the same ids at positions k.. give the logits they give at 0.. (positions enter only
                     relatively, e.g. RoPE on q and k). A model with no positional encoding at all passes
                     too (a causal stack is offset-invariant by itself): hf-differential catches that.
  mode-consistent    eval logits equal train logits (a model without dropout; masking must not depend on
                     the mode)
Every check also requires logits of shape (B, T, vocab_size): a vocabulary that never reached the model
(hard-coded, padded) fails here.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from pv.kinds._surface import on_one_thread

NAME = "model-surface"
SUMMARY = "causal LM via ids → logits / loss: causality, batch independence, OOV, ln V, CE, grads, positions"
PROPERTIES = (
    "causal",
    "batch-independent",
    "rejects-oov",
    "init-loss",
    "loss-matches",
    "gradients-reach",
    "relative-position",
    "mode-consistent",
)
PARAMS = {
    "property": " | ".join(PROPERTIES),
    "vocab_size": "V passed to the factory; logits must have V columns",
    "max_seq_len": "context passed to the factory (default 32)",
    "factory_kwargs": "extra keyword arguments of the factory, e.g. a tiny shape (default none)",
    "interface": "tuple (default) | hf: how the model is called (see pv.kinds._surface)",
    "logits": "adapter (model, ids) -> (B, T, V) logits, overrides the interface",
    "loss": "adapter (model, ids, targets) -> scalar mean loss, overrides the interface",
    "logits_at": "adapter (model, ids, offset) -> logits with ids[:, 0] at position offset",
    "shift": "pre-shifted (default: targets[t] labels logits[t]) | internal (labels = ids, scored at t+1)",
    "reinit_std": "weights re-drawn N(0, std), gains 1 + N(0, std): O(1) gaps (default 0.3; 0: as built)",
    "init_loss_tol": "init-loss: allowed |loss − ln V| in nats (default 0.05)",
    "atol": "absolute tolerance on logits (default 1e-6)",
    "rtol": "tolerance relative to max |logits| (default 1e-5; relative-position 1e-4 is typical)",
}
REQUIRED_PARAMS = ("property", "vocab_size")
TARGET_PARAMS = ("logits", "loss", "logits_at")
ARGS = ("ids", "probe")
# Each example runs the model 2-4 times; shrinking a failure would run it hundreds of times more.
EXPENSIVE = True
_MAX_T = 12


def strategies(property, vocab_size, max_seq_len=32, **_):
    if property not in PROPERTIES:
        raise ValueError(f"unknown model-surface property {property!r}; use one of {', '.join(PROPERTIES)}")
    longest = min(_MAX_T, max_seq_len // 2 if property == "relative-position" else max_seq_len)
    shortest = 3 if property == "relative-position" else 2
    rows = 2 if property == "batch-independent" else 1
    token = st.integers(0, vocab_size - 1)

    @st.composite
    def ids(draw):
        b = draw(st.integers(rows, rows + 1))
        t = draw(st.integers(shortest, longest))
        return [draw(st.lists(token, min_size=t, max_size=t)) for _ in range(b)]

    if property in ("init-loss", "gradients-reach"):
        # init-loss is an expectation over uniform tokens, and gradients-reach needs distinct tokens (over
        # identical values attention weights get no gradient): both use seeded ids, not drawn ones.
        return {"ids": st.just([[0, 0]]), "probe": st.integers(0, 2**31 - 1)}
    uses_probe = property in ("causal", "rejects-oov", "relative-position")
    return {"ids": ids(), "probe": st.integers(0, 10**6) if uses_probe else st.just(0)}


def _check(
    target,
    ids,
    probe,
    property,
    vocab_size,
    max_seq_len=32,
    factory_kwargs=None,
    interface="tuple",
    logits=None,
    loss=None,
    logits_at=None,
    shift="pre-shifted",
    reinit_std=0.3,
    init_loss_tol=0.05,
    atol=1e-6,
    rtol=1e-5,
):
    __tracebackhide__ = True
    import torch

    from pv.kinds import _surface as S

    if shift not in ("pre-shifted", "internal"):
        raise ValueError(f"unknown shift {shift!r}; use pre-shifted or internal")
    std = 0.0 if property == "init-loss" else reinit_std
    model = S.build(target, vocab_size, max_seq_len, factory_kwargs, std)
    f = S.surface(model, interface, logits, loss, logits_at)
    x = S.ids_tensor(ids)
    b, t = x.shape
    v = vocab_size

    def out(ids_, train=False, k=None):
        with S.mode(model, train), torch.no_grad():
            raw = f.logits(ids_) if k is None else f.logits_at(ids_, k)
        return S.checked_logits(raw, ids_.shape[0], ids_.shape[1], v)

    if property == "causal":
        j = 1 + probe % (t - 1)
        y = x.clone()
        y[:, j] = (x[:, j] + 1 + probe % (v - 1)) % v  # a different token at j in every row
        for train in (True, False):
            a, c = out(x, train), out(y, train)
            assert S.within(a[:, :j], c[:, :j], atol, rtol), (
                f"{'train' if train else 'eval'} mode: changing the token at position {j} changed the "
                f"logits at positions < {j} by up to {S.gap(a[:, :j], c[:, :j]):.3g} "
                f"(scale {float(a.abs().max()):.3g}): the model sees the future"
            )
            assert S.gap(a[:, j], c[:, j]) > 0, f"the token at position {j} does not affect its own logits"
    elif property == "batch-independent":
        whole = out(x)
        for r in range(b):
            alone = out(x[r : r + 1])[0]
            assert S.within(whole[r], alone, atol, rtol), (
                f"row {r}'s logits differ by {S.gap(whole[r], alone):.3g} between the batch of {b} and "
                "alone: rows leak into each other (a norm or attention over the batch?)"
            )
    elif property == "rejects-oov":
        out(x)  # in-range ids must work, so a refusal below is about the bad id
        bad = v + probe // 2 if probe % 2 == 0 else -1 - probe // 2
        y = x.clone()
        y[probe % b, probe % t] = bad
        try:
            out(y)
        except AssertionError:
            raise
        except Exception:
            return
        raise AssertionError(
            f"token id {bad} (vocab_size {v}) was accepted: the model clamps, wraps or pads the vocabulary"
        )
    elif property == "init-loss":
        g = torch.Generator().manual_seed(probe)  # 8 × max_seq_len uniform tokens, seeded by the probe
        uniform = torch.randint(0, v, (8, min(max_seq_len, 64) + 1), generator=g)
        inputs, targets = _pair(uniform if shift == "pre-shifted" else uniform[:, :-1], shift)
        out(inputs)  # the vocabulary check every property makes
        with S.mode(model, False), torch.no_grad():
            value = float(f.loss(inputs, targets))
        assert abs(value - math.log(v)) <= init_loss_tol, (
            f"loss at init is {value:.4f}, ln V = {math.log(v):.4f} (V = {v}); allowed gap {init_loss_tol}: "
            "the fresh model is not near-uniform (logit scale, init or a loss that is not a mean?)"
        )
    elif property == "loss-matches":
        inputs, targets = _pair(x, shift)
        with S.mode(model, False), torch.no_grad():
            got = float(f.loss(inputs, targets))
        z = out(inputs)
        want = _cross_entropy(z, x, shift)
        assert math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6), (
            f"the model's loss is {got:.6f}; the cross-entropy of its own logits with shift {shift!r} is "
            f"{want:.6f} (ids {x.tolist()}): labels and logits are misaligned, or the loss is not the mean "
            "token NLL"
        )
    elif property == "gradients-reach":
        g = torch.Generator().manual_seed(probe)  # 2 rows of min(V, 9) distinct tokens
        rows = [torch.randperm(v, generator=g)[: min(v, 9, max_seq_len + 1)] for _ in range(2)]
        inputs, targets = _pair(torch.stack(rows), shift)
        out(inputs)
        model.zero_grad(set_to_none=True)
        with S.mode(model, True):
            f.loss(inputs, targets).backward()
        try:
            for name, p in model.named_parameters():
                if not p.requires_grad:
                    continue
                assert p.grad is not None, f"{name} got no gradient: it is not used, or used detached"
                assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
                assert bool((p.grad != 0).any()), f"{name}'s gradient is all zeros"
        finally:
            model.zero_grad(set_to_none=True)
    elif property == "relative-position":
        k = 1 + probe % (max_seq_len - t)
        at0, atk = out(x, k=0), out(x, k=k)
        assert S.within(at0, atk, atol, rtol), (
            f"the same ids at positions {k}..{k + t - 1} give logits {S.gap(at0, atk):.3g} away from "
            f"those at 0..{t - 1} (scale {float(at0.abs().max()):.3g}): position enters absolutely "
            "(RoPE on q only, on v, or an absolute embedding?)"
        )
    elif property == "mode-consistent":
        ev, tr = out(x, False), out(x, True)
        assert S.within(ev, tr, atol, rtol), (
            f"eval and train logits differ by {S.gap(ev, tr):.3g}: the forward depends on the mode "
            "(masking or normalisation switched by model.training, or dropout where the contract has none)"
        )
    else:
        raise ValueError(f"unknown model-surface property {property!r}")


def _pair(x, shift):
    """(inputs, targets) as the model is called: pre-shifted targets are the next tokens (a data
    pipeline's y); an internally shifting model gets labels = ids."""
    if shift == "internal":
        return x, x
    return x[:, :-1], x[:, 1:]


def _cross_entropy(logits, ids, shift) -> float:
    """Mean token NLL in float64: log-softmax written out (max-shifted), labels aligned by `shift`."""
    if shift == "internal":
        z, labels = logits[:, :-1], ids[:, 1:]  # logits[t] predicts ids[t + 1]
    else:
        z, labels = logits, ids[:, 1:]  # called with inputs ids[:, :-1], targets ids[:, 1:]
    z = z.reshape(-1, z.shape[-1]).double()
    top = z.max(dim=-1, keepdim=True).values
    log_probs = z - top - (z - top).exp().sum(dim=-1, keepdim=True).log()
    return float(-log_probs.gather(1, labels.reshape(-1, 1)).mean())


check = on_one_thread(_check)
