"""model-surface and hf-differential: each property refutes a broken model and passes the clean one.

Broken models are this repo's model with one wiring bug (the kernels stay right), and, to show the kinds
are generic, transformers' GPT-2 (absolute positions) next to its Llama (RoPE), built from tiny configs.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pv.kinds import hf_differential, model_surface
from tests.falsifiers.conftest import search
from trainer import model as tm

SHAPE = {"n_layer": 2, "n_head": 2, "d_model": 32, "d_ff": 64}
V = 250
SURFACE = {"vocab_size": V, "max_seq_len": 32}


def clean(vocab_size, max_seq_len, **kw):
    return tm.build_model(vocab_size, max_seq_len, **{**SHAPE, **kw})


def refutes(prop, factory, max_examples=30, **params):
    with pytest.raises(AssertionError) as info:
        search(model_surface, factory, max_examples=max_examples, property=prop, **SURFACE, **params)
    return str(info.value)


def holds(prop, factory, max_examples=12, **params):
    search(model_surface, factory, max_examples=max_examples, property=prop, **SURFACE, **params)


@pytest.mark.parametrize("prop", model_surface.PROPERTIES)
def test_the_trainers_model_has_every_surface_property(prop):
    holds(prop, clean, **({"rtol": 1e-4} if prop == "relative-position" else {}))


def test_attention_without_the_mask_is_not_causal(monkeypatch):
    def leaky(vocab_size, max_seq_len):
        return clean(vocab_size, max_seq_len)

    monkeypatch.setattr(tm, "attend", lambda q, k, v: F.scaled_dot_product_attention(q, k, v))
    assert "sees the future" in refutes("causal", leaky)


def test_dropout_makes_train_and_eval_differ():
    def with_dropout(vocab_size, max_seq_len):
        m = clean(vocab_size, max_seq_len)
        m.norm = torch.nn.Sequential(m.norm, torch.nn.Dropout(0.1))
        return m

    assert "depends on the mode" in refutes("mode-consistent", with_dropout)
    holds("causal", with_dropout)  # the same dropout masks on both sides: still causal


def test_a_norm_over_the_batch_mixes_rows(monkeypatch):
    def batch_norm_model(vocab_size, max_seq_len):
        return clean(vocab_size, max_seq_len)

    def forward(self, x):
        return x * (x.pow(2).mean(dim=(0, -1), keepdim=True) + self.eps).rsqrt() * self.weight

    monkeypatch.setattr(tm.RMSNorm, "forward", forward)
    assert "leak into each other" in refutes("batch-independent", batch_norm_model)


@pytest.mark.parametrize("fix", [lambda ids, v: ids.clamp(0, v - 1), lambda ids, v: ids % v])
def test_clamped_or_wrapped_ids_are_refused(fix):
    def mapping(vocab_size, max_seq_len):
        m = clean(vocab_size, max_seq_len)
        forward = m.forward
        m.forward = lambda idx, targets=None, **kw: forward(fix(idx, vocab_size), targets, **kw)
        return m

    assert "was accepted" in refutes("rejects-oov", mapping)


def test_a_vocabulary_padded_to_64_shows_in_the_logits():
    def padded(vocab_size, max_seq_len):
        return clean(-(-vocab_size // 64) * 64, max_seq_len)

    assert "not the vocab_size 250" in refutes("causal", padded)


def test_a_summed_loss_is_far_from_ln_v():
    def summed(vocab_size, max_seq_len):
        m = clean(vocab_size, max_seq_len)
        forward = m.forward

        def forward_(idx, targets=None, **kw):
            logits, loss = forward(idx, targets, **kw)
            return logits, None if loss is None else loss * targets.numel()

        m.forward = forward_
        return m

    assert "not near-uniform" in refutes("init-loss", summed, max_examples=3)


@pytest.mark.parametrize("shift", [1, 2])
def test_labels_shifted_again_inside_the_model_are_caught(shift):
    def shifted(vocab_size, max_seq_len):
        m = clean(vocab_size, max_seq_len)
        forward = m.forward
        m.forward = lambda idx, targets=None, **kw: forward(
            idx, None if targets is None else targets.roll(-shift, dims=1), **kw
        )
        return m

    assert "misaligned" in refutes("loss-matches", shifted)


def test_an_unused_parameter_gets_no_gradient():
    def unused(vocab_size, max_seq_len):
        m = clean(vocab_size, max_seq_len)
        m.spare = torch.nn.Parameter(torch.zeros(4))
        return m

    assert "spare got no gradient" in refutes("gradients-reach", unused, max_examples=3)


def test_an_ignored_norm_gain_gets_no_gradient(monkeypatch):
    def gainless(vocab_size, max_seq_len):
        return clean(vocab_size, max_seq_len)

    monkeypatch.setattr(
        tm.RMSNorm, "forward", lambda self, x: x * (x.pow(2).mean(-1, keepdim=True) + self.eps).rsqrt()
    )
    assert "norm.weight got no gradient" in refutes("gradients-reach", gainless, max_examples=3)


def test_rope_on_q_only_is_not_relative(monkeypatch):
    def q_only(vocab_size, max_seq_len):
        return clean(vocab_size, max_seq_len)

    def forward(self, x, pos_offset=0):
        b, t, c = x.shape
        q, k, v = (z.view(b, t, self.n_head, self.head_dim).transpose(1, 2) for z in self.qkv(x).split(c, 2))
        y = tm.attend(self.rope(q, pos_offset), k, v)
        return self.proj(y.transpose(1, 2).contiguous().view(b, t, c))

    monkeypatch.setattr(tm.CausalSelfAttention, "forward", forward)
    assert "enters absolutely" in refutes("relative-position", q_only, rtol=1e-4)


def test_an_absolute_position_embedding_is_not_relative():
    def absolute(vocab_size, max_seq_len):
        m = clean(vocab_size, max_seq_len)
        table = torch.randn(max_seq_len, SHAPE["d_model"])
        forward = m.tok_emb.forward
        m._pv_offset = 0
        m.tok_emb.forward = lambda ids: forward(ids) + table[m._pv_offset : m._pv_offset + ids.shape[1]]
        model_forward = m.forward

        def forward_(idx, targets=None, *, pos_offset=0):
            m._pv_offset = pos_offset
            return model_forward(idx, targets, pos_offset=pos_offset)

        m.forward = forward_
        return m

    assert "enters absolutely" in refutes("relative-position", absolute, rtol=1e-4)


# ---------------------------------------------------------------- code no one here wrote

transformers = pytest.importorskip("transformers", reason="the HF checks need transformers (pv[dev])")


def hf_llama(vocab_size, max_seq_len):
    config = transformers.LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=max_seq_len,
        tie_word_embeddings=True,
    )
    return transformers.LlamaForCausalLM(config)


def hf_gpt2(vocab_size, max_seq_len):
    config = transformers.GPT2Config(
        vocab_size=vocab_size, n_embd=32, n_layer=2, n_head=2, n_positions=max_seq_len, bos_token_id=0,
        eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip
    return transformers.GPT2LMHeadModel(config)


HF = {"interface": "hf", "shift": "internal"}


@pytest.mark.parametrize("prop", ["causal", "rejects-oov", "loss-matches", "relative-position"])
def test_hf_llama_passes_through_the_hf_interface(prop):
    holds(prop, hf_llama, max_examples=10, **HF, **({"rtol": 1e-4} if prop == "relative-position" else {}))


def test_hf_gpt2_is_causal_but_its_positions_are_absolute():
    holds("causal", hf_gpt2, max_examples=10, **HF)
    holds("loss-matches", hf_gpt2, max_examples=10, **HF)
    assert "enters absolutely" in refutes("relative-position", hf_gpt2, rtol=1e-4, **HF)


DIFF = {
    "vocab_size": V,
    "max_seq_len": 32,
    "factory_kwargs": {**SHAPE, "rope_theta": 500.0, "norm_eps": 1e-3},
    "reference_config": "trainer.hf:llama_config",
    "reference_weights": "trainer.hf:to_hf_state_dict",
}


def test_the_trainers_model_equals_hf_llama():
    search(hf_differential, clean, max_examples=12, **DIFF)


def _eps_outside_sqrt(self, x):
    return x / (x.pow(2).mean(-1, keepdim=True).sqrt() + self.eps) * self.weight


def _swapped_swiglu(self, x):
    return self.down(F.silu(self.up(x)) * self.gate(x))


@pytest.mark.parametrize(
    ("owner", "name", "broken"),
    [
        (tm.RMSNorm, "forward", _eps_outside_sqrt),
        (tm.SwiGLU, "forward", _swapped_swiglu),
        (tm.RotaryEmbedding, "forward", lambda self, x, pos_offset=0: x),
    ],
    ids=["eps-outside-sqrt", "swiglu-swapped", "rope-dropped"],
)
def test_a_wiring_bug_differs_from_hf_llama(monkeypatch, owner, name, broken):
    def patched(vocab_size, max_seq_len, **kw):  # a factory of its own: its own cached models
        return clean(vocab_size, max_seq_len, **kw)

    monkeypatch.setattr(owner, name, broken)
    with pytest.raises(AssertionError, match="logits differ from LlamaForCausalLM"):
        search(hf_differential, patched, max_examples=30, **DIFF)
