"""A user's project built on HF transformers' Llama: the model the contracts attack."""
