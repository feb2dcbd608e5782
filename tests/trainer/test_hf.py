"""trainer/hf.py: our Transformer and HF's LlamaForCausalLM are the same function of the same weights.

Built from configs only (no hub). Weights are re-drawn at a large scale so the logits are O(1): at the
model's 0.02 init they are so small that an atol check would pass for almost any mapping.
"""

from __future__ import annotations

import pytest
import torch

from trainer import hf
from trainer.errors import DataError
from trainer.model import ModelConfig, Transformer

transformers = pytest.importorskip("transformers", reason="the HF mapping needs transformers (pv[dev])")

# float32, eval mode. Logits here reach |7|; observed max differences are 5e-6–1e-5 (rounding of two
# summation orders), so |diff| <= ATOL + RTOL·|ours| with both 1e-5. A mapping bug is off by O(1).
ATOL = RTOL = 1e-5


@pytest.fixture(scope="module")
def ours() -> Transformer:
    torch.manual_seed(0)
    cfg = ModelConfig(
        vocab_size=97, n_layer=2, n_head=4, d_model=32, d_ff=48, max_seq_len=24, rope_theta=500.0
    )
    model = Transformer(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.3 * torch.randn_like(p))  # a norm weight of all ones would hide a swap
            else:
                p.normal_(0.0, 0.3)
    return model.eval()


def _ids() -> torch.Tensor:
    return torch.randint(0, 97, (3, 24), generator=torch.Generator().manual_seed(1))


def test_llama_config_has_our_shape(ours: Transformer) -> None:
    c = hf.llama_config(ours.config, bos_token_id=1, eos_token_id=2, pad_token_id=None)
    assert (c.vocab_size, c.hidden_size, c.intermediate_size) == (97, 32, 48)
    assert (c.num_hidden_layers, c.num_attention_heads, c.num_key_value_heads, c.head_dim) == (2, 4, 4, 8)
    assert c.max_position_embeddings == 24 and c.rms_norm_eps == ours.config.norm_eps
    assert c.tie_word_embeddings and not c.attention_bias and not c.mlp_bias
    theta = getattr(c, "rope_parameters", None) or {"rope_theta": c.rope_theta}
    assert theta["rope_theta"] == 500.0
    assert (c.bos_token_id, c.eos_token_id, c.pad_token_id) == (1, 2, None)


def test_hf_llama_logits_equal_ours(ours: Transformer) -> None:
    theirs = hf.to_hf_model(ours.state_dict(), ours.config)
    ids = _ids()
    with torch.no_grad():
        expected, _ = ours(ids)
        got = theirs(input_ids=ids).logits
    assert expected.abs().mean() > 0.5  # the comparison below is not between near-zero tensors
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=RTOL)
    assert theirs.lm_head.weight.data_ptr() == theirs.model.embed_tokens.weight.data_ptr()  # still tied


def test_checkpoint_style_state_dict_with_one_embedding_name(ours: Transformer) -> None:
    state = {k: v for k, v in ours.state_dict().items() if k != "tok_emb.weight"}  # as save_model keeps it
    theirs = hf.to_hf_model(state, ours.config)
    with torch.no_grad():
        torch.testing.assert_close(theirs(input_ids=_ids()).logits, ours(_ids())[0], atol=ATOL, rtol=RTOL)


def test_a_wrong_qkv_split_is_caught(ours: Transformer) -> None:
    # The logits check must be able to fail: swapping k and v (one plausible mapping bug) breaks it.
    hf_state = hf.to_hf_state_dict(ours.state_dict(), ours.config)
    for i in range(ours.config.n_layer):
        k, v = f"model.layers.{i}.self_attn.k_proj.weight", f"model.layers.{i}.self_attn.v_proj.weight"
        hf_state[k], hf_state[v] = hf_state[v], hf_state[k]
    theirs = transformers.LlamaForCausalLM(hf.llama_config(ours.config))
    theirs.load_state_dict(hf_state)
    with torch.no_grad():
        diff = (theirs.eval()(input_ids=_ids()).logits - ours(_ids())[0]).abs().max()
    assert diff > 100 * ATOL


def test_unknown_weight_is_refused(ours: Transformer) -> None:
    state = dict(ours.state_dict())
    state["blocks.0.attn.qkv.bias"] = torch.zeros(96)
    with pytest.raises(DataError, match=r"qkv\.bias"):
        hf.to_hf_state_dict(state, ours.config)
