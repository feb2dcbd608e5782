"""Properties of the kernels the model uses, each checked against its definition or torch's own op."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from trainer import kernels

torch.set_num_threads(1)


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


@given(seed=st.integers(0, 2**16), scale=st.floats(0.1, 500.0), shift=st.floats(-1e4, 1e4))
def test_softmax_sums_to_one_and_is_shift_invariant(seed: int, scale: float, shift: float) -> None:
    x = _rand(3, 17, seed=seed) * scale
    p = kernels.softmax(x)
    assert torch.isfinite(p).all()
    assert torch.allclose(p.sum(-1), torch.ones(3, dtype=x.dtype))
    assert torch.allclose(kernels.softmax(x + shift), p, atol=1e-12)
    assert torch.allclose(p, torch.softmax(x, dim=-1), atol=1e-12)


def test_softmax_survives_huge_logits() -> None:
    # Without max-subtraction exp(1000) overflows to inf and the result is NaN.
    p = kernels.softmax(torch.tensor([1000.0, 1000.0, -1000.0]))
    assert torch.allclose(p, torch.tensor([0.5, 0.5, 0.0]))


def test_softmax_other_dim() -> None:
    x = _rand(4, 5)
    assert torch.allclose(kernels.softmax(x, dim=0), torch.softmax(x, dim=0))


@given(seed=st.integers(0, 2**16), scale=st.floats(1e-2, 1e3))
def test_rms_norm_is_scale_invariant_and_unit_rms(seed: int, scale: float) -> None:
    x = _rand(2, 5, 32, seed=seed)
    w = torch.ones(32, dtype=x.dtype)
    y = kernels.rms_norm(x, w, eps=0.0)
    assert torch.allclose(kernels.rms_norm(x * scale, w, eps=0.0), y, atol=1e-10)
    assert torch.allclose(y.pow(2).mean(-1), torch.ones(2, 5, dtype=x.dtype))


def test_rms_norm_matches_torch_and_applies_weight() -> None:
    x, w = _rand(3, 16).float(), _rand(16, seed=1).float()
    expected = F.rms_norm(x, (16,), w, eps=1e-5)
    assert torch.allclose(kernels.rms_norm(x, w, 1e-5), expected, atol=1e-6)


def test_rope_preserves_norm() -> None:
    cos, sin = kernels.rope_cache(16, 32, 10000.0)
    x = _rand(2, 3, 32, 16).float()
    y = kernels.apply_rope(x, cos, sin)
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5)
    # Position 0 is the identity rotation.
    assert torch.allclose(y[..., 0, :], x[..., 0, :])


@given(m=st.integers(0, 40), n=st.integers(0, 40), offset=st.integers(0, 20))
def test_rope_dot_product_depends_only_on_relative_position(m: int, n: int, offset: int) -> None:
    cos, sin = kernels.rope_cache(8, 64, 10000.0)
    cos, sin = cos.double(), sin.double()
    q, k = _rand(1, 1, 1, 8, seed=1), _rand(1, 1, 1, 8, seed=2)

    def at(x: torch.Tensor, pos: int) -> torch.Tensor:
        # Place x at `pos` in a sequence and read back its rotated vector.
        seq = torch.zeros(1, 1, pos + 1, 8, dtype=x.dtype)
        seq[..., pos, :] = x[..., 0, :]
        return kernels.apply_rope(seq, cos, sin)[..., pos, :]

    base = (at(q, m) * at(k, n)).sum()
    moved = (at(q, m + offset) * at(k, n + offset)).sum()
    assert math.isclose(base.item(), moved.item(), rel_tol=1e-5, abs_tol=1e-5)  # float32 tables


def test_rope_layout_is_rotate_half_with_documented_frequencies() -> None:
    # head_dim 4: pairs (0, 2) and (1, 3) rotate by m·1 and m·theta^(-1/2) counter-clockwise.
    theta, m = 100.0, 3
    cos, sin = kernels.rope_cache(4, m + 1, theta)
    x = torch.zeros(1, 1, m + 1, 4, dtype=torch.float32)
    x[..., m, :] = torch.tensor([1.0, 1.0, 0.0, 0.0])
    y = kernels.apply_rope(x, cos, sin)[0, 0, m]
    a0, a1 = m * 1.0, m * theta ** (-0.5)
    expected = torch.tensor([math.cos(a0), math.cos(a1), math.sin(a0), math.sin(a1)])
    assert torch.allclose(y, expected, atol=1e-6)


def test_rope_rejects_odd_head_dim_and_overlong_input() -> None:
    with pytest.raises(ValueError, match="even"):
        kernels.rope_cache(7, 4)
    cos, sin = kernels.rope_cache(8, 4)
    with pytest.raises(ValueError, match="exceeds"):
        kernels.apply_rope(torch.zeros(1, 1, 5, 8), cos, sin)


def test_attention_reference_matches_sdpa_causal() -> None:
    q, k, v = (_rand(2, 3, 9, 8, seed=s).float() for s in range(3))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(kernels.attention_reference(q, k, v), expected, atol=1e-5)


def test_attention_reference_is_causal() -> None:
    q, k, v = (_rand(1, 1, 6, 4, seed=s) for s in range(3))
    out = kernels.attention_reference(q, k, v)
    k2, v2 = k.clone(), v.clone()
    k2[..., 4:, :] += 5.0
    v2[..., 4:, :] -= 3.0
    # Changing the future leaves the past untouched.
    assert torch.allclose(kernels.attention_reference(q, k2, v2)[..., :4, :], out[..., :4, :])


@given(seed=st.integers(0, 2**16), scale=st.floats(0.1, 100.0))
def test_cross_entropy_matches_torch(seed: int, scale: float) -> None:
    logits = _rand(2, 7, 11, seed=seed) * scale
    g = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, 11, (2, 7), generator=g)
    expected = F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1))
    assert torch.allclose(kernels.cross_entropy(logits, targets).double(), expected, rtol=1e-5)


def test_cross_entropy_of_uniform_logits_is_log_vocab() -> None:
    loss = kernels.cross_entropy(torch.zeros(4, 50), torch.zeros(4, dtype=torch.long))
    assert loss.item() == pytest.approx(math.log(50), rel=1e-6)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adamw_update_equals_torch_adamw(weight_decay: float) -> None:
    hp = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": weight_decay}
    p0 = _rand(5, 4)
    param = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW(
        [param], lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"], weight_decay=weight_decay
    )
    ref, m, v = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0)
    for step in range(1, 4):  # several steps, so the bias correction's dependence on step is exercised
        grad = _rand(5, 4, seed=10 + step)
        param.grad = grad.clone()
        opt.step()
        ref, m, v = kernels.adamw_update(ref, grad, m, v, step, **hp)
        state = opt.state[param]
        assert torch.allclose(ref, param.detach(), atol=1e-12)
        assert torch.allclose(m, state["exp_avg"], atol=1e-12)
        assert torch.allclose(v, state["exp_avg_sq"], atol=1e-12)


def test_adamw_update_does_not_mutate_inputs_and_rejects_step_zero() -> None:
    p, g, m, v = (
        _rand(3),
        _rand(3, seed=1),
        torch.zeros(3, dtype=torch.float64),
        torch.zeros(3, dtype=torch.float64),
    )
    copies = [t.clone() for t in (p, g, m, v)]
    kernels.adamw_update(p, g, m, v, 1, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1)
    assert all(torch.equal(a, b) for a, b in zip((p, g, m, v), copies, strict=True))
    with pytest.raises(ValueError, match="step"):
        kernels.adamw_update(p, g, m, v, 0, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.0)
