"""equivalence: the target agrees with an independent reference within tolerance on drawn inputs.

References (param `reference`), all written here in float64 or taken from torch itself:
  softmax        exp(x)/sum exp(x) in float64
  cross-entropy  torch.nn.functional.cross_entropy
  rms-norm       x / sqrt(mean(x²) + eps) · w in float64
  causal-attention  softmax(QKᵀ/√d + causal mask) V in float64 (target: the model's fused call)
  adamw          torch.optim.AdamW, several steps (target: a functional AdamW step)
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "equivalence"
SUMMARY = "target vs an independent reference implementation within atol/rtol"
PARAMS = {
    "reference": "softmax | cross-entropy | rms-norm | causal-attention | adamw",
    "atol": "absolute tolerance (default 1e-5)",
    "rtol": "relative tolerance (default 1e-4)",
}
REQUIRED_PARAMS = ("reference",)
ARGS = ("seed",)


def strategies(reference, atol=1e-5, rtol=1e-4):
    return {"seed": st.integers(0, 2**31 - 1)}


def _reference_and_target(target, reference, seed):
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    if reference == "softmax":
        x = torch.randn(4, 11, generator=g) * 5
        e = x.double().exp()
        return target(x, dim=-1), (e / e.sum(-1, keepdim=True)).float()
    if reference == "cross-entropy":
        logits = torch.randn(2, 5, 13, generator=g) * 3
        tgt = torch.randint(0, 13, (2, 5), generator=g)
        return target(logits, tgt), F.cross_entropy(logits.view(-1, 13), tgt.view(-1))
    if reference == "rms-norm":
        x, w = torch.randn(3, 16, generator=g) * 4, torch.randn(16, generator=g)
        xd = x.double()
        ref = xd / (xd.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt() * w.double()
        return target(x, w, 1e-5), ref.float()
    if reference == "causal-attention":
        q, k, v = (torch.randn(1, 2, 7, 8, generator=g) for _ in range(3))
        s = (q.double() @ k.double().transpose(-2, -1)) / 8**0.5
        s = s.masked_fill(torch.ones(7, 7, dtype=torch.bool).triu(1), float("-inf"))
        return target(q, k, v), (s.softmax(-1) @ v.double()).float()
    if reference == "adamw":
        hp = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1}
        p0 = torch.randn(6, generator=g)
        grads = [torch.randn(6, generator=g) for _ in range(3)]
        ref = torch.nn.Parameter(p0.clone())
        opt = torch.optim.AdamW(
            [ref],
            lr=hp["lr"],
            betas=(hp["beta1"], hp["beta2"]),
            eps=hp["eps"],
            weight_decay=hp["weight_decay"],
        )
        p, m, v = p0.clone(), torch.zeros(6), torch.zeros(6)
        for step, grad in enumerate(grads, start=1):
            ref.grad = grad.clone()
            opt.step()
            p, m, v = target(p, grad, m, v, step, **hp)
        return p, ref.detach()
    raise ValueError(f"unknown equivalence reference {reference!r}")


def check(target, seed, reference, atol=1e-5, rtol=1e-4):
    __tracebackhide__ = True
    import torch

    got, want = _reference_and_target(target, reference, seed)
    assert got.shape == want.shape, f"shape {tuple(got.shape)} != reference {tuple(want.shape)}"
    err = (got.float() - want.float()).abs().max().item()
    assert torch.allclose(got.float(), want.float(), atol=atol, rtol=rtol), (
        f"{reference}: max |target − reference| = {err:.3g} exceeds atol {atol} / rtol {rtol} (seed {seed})"
    )
