"""The model: shapes, tied weights, no biases, vocab enforcement, causality, presets, init."""

from __future__ import annotations

import math

import pytest
import torch

from trainer import kernels, model
from trainer.model import PRESETS, ModelConfig, Transformer, count_parameters, model_config

torch.set_num_threads(1)


def _tiny(vocab_size: int = 64, **overrides: int) -> Transformer:
    torch.manual_seed(0)
    cfg = {"n_layer": 2, "n_head": 2, "d_model": 16, "d_ff": 32, "max_seq_len": 12, **overrides}
    return Transformer(ModelConfig(vocab_size=vocab_size, **cfg))


def test_forward_shapes_and_loss_is_kernel_cross_entropy() -> None:
    m = _tiny()
    idx = torch.randint(0, 64, (3, 10))
    tgt = torch.randint(0, 64, (3, 10))
    logits, loss = m(idx, tgt)
    assert logits.shape == (3, 10, 64)
    assert loss is not None and torch.allclose(loss, kernels.cross_entropy(logits, tgt))
    assert m(idx)[1] is None


def test_initial_loss_is_near_log_vocab() -> None:
    # std-0.02 init gives near-uniform predictions: a much larger loss would mean a broken init.
    m = _tiny(vocab_size=256)
    _, loss = m(torch.randint(0, 256, (4, 12)), torch.randint(0, 256, (4, 12)))
    assert abs(loss.item() - math.log(256)) < 0.2


def test_embeddings_are_tied_and_counted_once() -> None:
    m = _tiny()
    assert m.lm_head.weight is m.tok_emb.weight
    unique = {id(p): p.numel() for p in m.parameters()}
    assert count_parameters(m) == sum(unique.values())
    untied_total = sum(p.numel() for _, p in m.named_parameters(remove_duplicate=False))
    assert untied_total - count_parameters(m) == 64 * 16


def test_no_biases_anywhere() -> None:
    m = _tiny()
    for mod in m.modules():
        if isinstance(mod, torch.nn.Linear):
            assert mod.bias is None
    assert not [n for n, _ in m.named_parameters() if "bias" in n]


@pytest.mark.parametrize("bad", [64, 65, 10_000, -1])
def test_out_of_range_ids_raise_naming_both_numbers(bad: int) -> None:
    m = _tiny(vocab_size=64)
    idx = torch.zeros(1, 4, dtype=torch.long)
    idx[0, 2] = bad
    with pytest.raises(ValueError, match=rf"token id {bad}\b.*vocab_size=64"):
        m(idx)
    with pytest.raises(ValueError, match="target ids"):
        m(torch.zeros(1, 4, dtype=torch.long), idx)


def test_non_integer_ids_raise() -> None:
    with pytest.raises(ValueError, match="int64 or int32"):
        _tiny()(torch.zeros(1, 3))


def test_last_valid_id_is_accepted() -> None:
    m = _tiny(vocab_size=64)
    logits, _ = m(torch.full((1, 3), 63))
    assert torch.isfinite(logits).all()


def test_model_is_causal() -> None:
    m = _tiny().eval()
    idx = torch.randint(0, 64, (1, 8))
    changed = idx.clone()
    changed[0, 5:] = (changed[0, 5:] + 1) % 64
    with torch.no_grad():
        a, _ = m(idx)
        b, _ = m(changed)
    assert torch.allclose(a[0, :5], b[0, :5], atol=1e-6)
    assert not torch.allclose(a[0, 5:], b[0, 5:])


def test_sdpa_attention_equals_softmax_reference() -> None:
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 4, 11, 8, generator=g) for _ in range(3))
    assert torch.allclose(model.attend(q, k, v), kernels.attention_reference(q, k, v), atol=1e-5)


def test_rope_makes_the_model_position_aware() -> None:
    # Attention without positions is permutation-invariant over the prefix: (a, b, c) and (b, a, c)
    # would give the same logits at c. RoPE must tell them apart.
    m = _tiny().eval()
    with torch.no_grad():
        ab, _ = m(torch.tensor([[3, 9, 20]]))
        ba, _ = m(torch.tensor([[9, 3, 20]]))
    assert not torch.allclose(ab[0, 2], ba[0, 2], atol=1e-4)


def test_residual_projections_use_scaled_init() -> None:
    torch.manual_seed(0)
    m = Transformer(ModelConfig(vocab_size=512, n_layer=8, n_head=4, d_model=128, d_ff=384, max_seq_len=8))
    proj_std = torch.cat([b.attn.proj.weight.flatten() for b in m.blocks]).std().item()
    qkv_std = torch.cat([b.attn.qkv.weight.flatten() for b in m.blocks]).std().item()
    assert qkv_std == pytest.approx(0.02, rel=0.05)
    assert proj_std == pytest.approx(0.02 / math.sqrt(16), rel=0.05)


def test_sequence_longer_than_max_seq_len_raises() -> None:
    with pytest.raises(ValueError, match="max_seq_len"):
        _tiny()(torch.zeros(1, 13, dtype=torch.long))


def test_config_has_no_vocab_default_and_validates() -> None:
    with pytest.raises(TypeError):
        ModelConfig(n_layer=1, n_head=1, d_model=8, d_ff=8, max_seq_len=8)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(vocab_size=8, n_layer=1, n_head=3, d_model=8, d_ff=8, max_seq_len=8)
    with pytest.raises(ValueError, match="vocab_size"):
        ModelConfig(vocab_size=0, n_layer=1, n_head=1, d_model=8, d_ff=8, max_seq_len=8)


def test_model_config_takes_vocab_from_caller_and_rejects_unknown_preset() -> None:
    cfg = model_config("tiny", vocab_size=777, max_seq_len=64)
    assert (cfg.vocab_size, cfg.max_seq_len) == (777, 64)
    with pytest.raises(ValueError, match="unknown model preset 'huge'"):
        model_config("huge", 100, 8)


@pytest.mark.parametrize(
    ("preset", "low", "high"), [("tiny", 0.9e6, 1.3e6), ("small", 8e6, 12e6), ("124m", 80e6, 95e6)]
)
def test_preset_sizes_at_vocab_2048(preset: str, low: float, high: float) -> None:
    with torch.device("meta"):  # shapes only: no memory, no init cost
        m = Transformer(model_config(preset, vocab_size=2048, max_seq_len=128))
    assert low <= count_parameters(m) <= high


def test_124m_preset_has_gpt2_small_shape() -> None:
    assert PRESETS["124m"] == {"n_layer": 12, "n_head": 12, "d_model": 768, "d_ff": 2048}
    with torch.device("meta"):
        m = Transformer(model_config("124m", vocab_size=50257, max_seq_len=1024))
    assert 120e6 <= count_parameters(m) <= 128e6


def test_one_optimizer_step_lowers_loss_on_a_fixed_batch() -> None:
    m = _tiny()
    idx, tgt = torch.randint(0, 64, (4, 12)), torch.randint(0, 64, (4, 12))
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        _, loss = m(idx, tgt)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_rms_norm_module_equals_the_kernel_bit_for_bit(dtype: torch.dtype) -> None:
    # The module calls the fused F.rms_norm; kernels.rms_norm stays the oracle it must equal exactly.
    norm = model.RMSNorm(24, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(torch.randn(24, generator=torch.Generator().manual_seed(3)))
    x = (3 * torch.randn(5, 7, 24, generator=torch.Generator().manual_seed(4))).to(dtype)
    got = norm(x)
    assert got.dtype == dtype
    assert torch.equal(got, kernels.rms_norm(x, norm.weight, 1e-5))


def test_loss_and_its_gradient_equal_the_kernel_cross_entropy() -> None:
    m = _tiny()
    idx, tgt = torch.randint(0, 64, (3, 10)), torch.randint(0, 64, (3, 10))
    logits, loss = m(idx, tgt)
    (fused,) = torch.autograd.grad(loss, logits, retain_graph=True)
    (oracle,) = torch.autograd.grad(kernels.cross_entropy(logits, tgt), logits)
    assert torch.allclose(loss, kernels.cross_entropy(logits, tgt), atol=1e-6)
    assert torch.allclose(fused, oracle, atol=1e-8)
