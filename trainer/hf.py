"""Our Transformer as HF transformers' `LlamaForCausalLM`: the config and the weight names.

The architectures are the same model: pre-norm RMSNorm blocks, rotate-half RoPE (dimension i pairs with
i + head_dim/2, as HF Llama's `rotate_half`), SDPA causal attention with 1/sqrt(head_dim) scaling, a
SwiGLU MLP, no biases, tied embeddings. The only structural difference is that we keep q, k and v in one
fused (3C, C) matrix, which HF splits into three (C, C) ones (rows [0, C) are q, [C, 2C) k, [2C, 3C) v:
the order `CausalSelfAttention.forward` splits them in). tests/trainer/test_hf.py checks the logits.

transformers is imported inside the functions: it is an optional dependency (`pip install 'pv[hf]'`).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

import torch

from trainer.errors import DataError
from trainer.model import ModelConfig

if TYPE_CHECKING:
    from transformers import LlamaConfig, LlamaForCausalLM

HF_MISSING = "HF export needs the transformers package: pip install 'pv[hf]' (transformers>=5)"

# Our per-block parameter names -> HF Llama's, inside `model.layers.{i}.`; qkv is handled on its own.
_BLOCK_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn.proj.weight": "self_attn.o_proj.weight",
    "mlp_norm.weight": "post_attention_layernorm.weight",
    "mlp.gate.weight": "mlp.gate_proj.weight",
    "mlp.up.weight": "mlp.up_proj.weight",
    "mlp.down.weight": "mlp.down_proj.weight",
}


def import_transformers() -> ModuleType:
    try:
        import transformers
    except ImportError as exc:
        raise DataError(HF_MISSING) from exc
    return transformers


def llama_config(config: ModelConfig, **special_ids: int | None) -> LlamaConfig:
    """The LlamaConfig of the same shape. `special_ids`: bos/eos/pad_token_id for generation defaults."""
    transformers = import_transformers()
    head_dim = config.d_model // config.n_head
    return transformers.LlamaConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.d_model,
        intermediate_size=config.d_ff,
        num_hidden_layers=config.n_layer,
        num_attention_heads=config.n_head,
        num_key_value_heads=config.n_head,  # plain multi-head attention, no grouped kv
        head_dim=head_dim,
        hidden_act="silu",
        max_position_embeddings=config.max_seq_len,
        rms_norm_eps=config.norm_eps,
        rope_theta=config.rope_theta,  # transformers 5 moves it into rope_parameters
        attention_bias=False,
        mlp_bias=False,
        attention_dropout=0.0,
        tie_word_embeddings=True,
        **{k: v for k, v in special_ids.items() if v is not None},
    )


def to_hf_state_dict(state: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """Our state_dict (from `Transformer.state_dict()` or a checkpoint file) -> LlamaForCausalLM's.

    A checkpoint file stores the tied embedding once, under either name; both are accepted.
    The result includes `lm_head.weight` as the same tensor as `model.embed_tokens.weight`.
    """
    c = config.d_model
    emb = state.get("tok_emb.weight", state.get("lm_head.weight"))
    if emb is None:
        raise DataError("state dict has neither tok_emb.weight nor lm_head.weight")
    out: dict[str, torch.Tensor] = {"model.embed_tokens.weight": emb, "lm_head.weight": emb}
    out["model.norm.weight"] = state["norm.weight"]
    for i in range(config.n_layer):
        ours, theirs = f"blocks.{i}.", f"model.layers.{i}."
        q, k, v = state[ours + "attn.qkv.weight"].split(c, dim=0)  # (3C, C) -> 3 × (C, C)
        out[theirs + "self_attn.q_proj.weight"] = q.contiguous()
        out[theirs + "self_attn.k_proj.weight"] = k.contiguous()
        out[theirs + "self_attn.v_proj.weight"] = v.contiguous()
        for src, dst in _BLOCK_NAMES.items():
            out[theirs + dst] = state[ours + src]
    known = {"tok_emb.weight", "lm_head.weight", "norm.weight"} | {
        f"blocks.{i}.{name}" for i in range(config.n_layer) for name in [*_BLOCK_NAMES, "attn.qkv.weight"]
    }
    extra = sorted(set(state) - known)
    if extra:  # a weight we would silently drop means the mapping is out of date with the model
        raise DataError(f"state dict has weights the HF mapping does not know: {extra[:5]}")
    return out


def to_hf_model(
    state: dict[str, torch.Tensor], config: ModelConfig, **special_ids: int | None
) -> LlamaForCausalLM:
    """A LlamaForCausalLM (float32, eval mode) holding our weights; every HF weight is loaded (strict)."""
    transformers = import_transformers()
    model = transformers.LlamaForCausalLM(llama_config(config, **special_ids))
    hf_state = to_hf_state_dict(state, config)
    missing, unexpected = model.load_state_dict(hf_state, strict=False)
    # Non-persistent buffers (rotary inv_freq) never appear; anything else missing is a mapping bug.
    if missing or unexpected:
        raise RuntimeError(f"HF mapping mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.tie_weights()
    return model.eval()
