"""kernel-property: a mathematical property of one kernel on hypothesis-drawn tensors.

Properties (param `property`):
  softmax-simplex          outputs in [0, 1], rows sum to 1, for any finite input (incl. ±1e4 logits)
  softmax-shift-invariant  softmax(x + c) == softmax(x)
  rmsnorm-unit-rms         with unit weight, every output row has RMS ≈ 1 (eps small vs. the input)
  rmsnorm-scale-invariant  rms_norm(a·x) == rms_norm(x) for a > 0
  rope-norm-preserving     apply_rope keeps every head vector's L2 norm (it is a rotation)
  rope-relative            <rope(q, m), rope(k, n)> depends only on m − n
  cross-entropy-uniform    uniform logits give exactly ln(V); loss ≥ 0 for any logits
Targets: the kernel function; for rope-* the target is apply_rope and `cache` names rope_cache.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

NAME = "kernel-property"
SUMMARY = "mathematical properties of softmax / RMSNorm / RoPE / cross-entropy on drawn tensors"
PARAMS = {
    "property": "which property (see module doc)",
    "cache": "dotted target of the RoPE cache builder (rope-* properties)",
    "atol": "absolute tolerance (default 1e-5)",
}
REQUIRED_PARAMS = ("property",)
TARGET_PARAMS = ("cache",)
ARGS = ("seed", "scale")


def strategies(property, cache=None, atol=1e-5):
    scales = (
        st.sampled_from([1e-3, 1.0, 30.0, 1e4])
        if property.startswith("softmax")
        else st.sampled_from([1e-2, 1.0, 10.0])
    )
    return {"seed": st.integers(0, 2**31 - 1), "scale": st.one_of(scales, st.floats(1e-2, 50.0))}


def _randn(seed, *shape, dtype=None):
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype or torch.float32)


def check(target, seed, scale, property, cache=None, atol=1e-5):
    __tracebackhide__ = True
    import torch

    x = _randn(seed, 3, 17) * scale
    if property == "softmax-simplex":
        y = target(x, dim=-1)
        assert torch.isfinite(y).all(), f"softmax produced non-finite values for finite input (scale {scale})"
        assert (y >= 0).all() and (y <= 1).all(), "softmax left [0, 1]"
        assert torch.allclose(y.sum(-1), torch.ones(3), atol=1e-4), f"rows sum to {y.sum(-1).tolist()}"
    elif property == "softmax-shift-invariant":
        c = float(_randn(seed + 1, 1) * 100)
        assert torch.allclose(target(x, dim=-1), target(x + c, dim=-1), atol=max(atol, 1e-5)), (
            f"softmax(x + {c}) != softmax(x)"
        )
    elif property == "rmsnorm-unit-rms":
        y = target(x, torch.ones(17), 1e-10)
        rms = y.pow(2).mean(-1).sqrt()
        if scale >= 1e-2:
            assert torch.allclose(rms, torch.ones(3), atol=1e-3), f"output RMS {rms.tolist()} != 1"
    elif property == "rmsnorm-scale-invariant":
        w = _randn(seed + 2, 17)
        a = 3.5
        assert torch.allclose(target(x * a, w, 1e-10), target(x, w, 1e-10), atol=1e-4, rtol=1e-3), (
            "rms_norm(a·x) != rms_norm(x)"
        )
    elif property.startswith("rope-"):
        from pv.runtime import resolve

        build = resolve(cache)
        d, t = 8, 6
        cos, sin = build(d, t, 10000.0)
        q = _randn(seed, 1, 2, t, d) * scale
        if property == "rope-norm-preserving":
            y = target(q, cos, sin)
            assert torch.allclose(y.norm(dim=-1), q.norm(dim=-1), rtol=1e-4, atol=1e-4 * scale), (
                "RoPE changed a head vector's norm: it is not a rotation"
            )
        elif property == "rope-relative":
            # the same q and k vector at every position: scores must depend on m − n only
            qv = _randn(seed, d).expand(1, 1, t, d).contiguous()
            kv = _randn(seed + 3, d).expand(1, 1, t, d).contiguous()
            s = (target(qv, cos, sin) @ target(kv, cos, sin).transpose(-2, -1))[0, 0]  # (T, T)
            for off in range(-(t - 1), t):
                diag = torch.diagonal(s, offset=off)
                assert torch.allclose(diag, diag[0].expand_as(diag), atol=1e-4), (
                    f"q·k at offset {off} varies with absolute position: {diag.tolist()}"
                )
        else:
            raise ValueError(f"unknown kernel property {property!r}")
    elif property == "cross-entropy-uniform":
        v = 5 + seed % 60
        tgt = torch.randint(0, v, (4, 3), generator=torch.Generator().manual_seed(seed))
        uniform = target(torch.zeros(4, 3, v) + scale, tgt)
        assert math.isclose(float(uniform), math.log(v), rel_tol=1e-5), (
            f"uniform loss {float(uniform)} != ln({v})"
        )
        loss = target(_randn(seed, 4, 3, v) * scale, tgt)
        assert torch.isfinite(loss) and float(loss) >= 0, (
            f"cross-entropy {float(loss)} is negative or non-finite"
        )
    else:
        raise ValueError(f"unknown kernel property {property!r}")
