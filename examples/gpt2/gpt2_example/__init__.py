"""A user's project built on HF transformers' GPT-2: the model builder the contracts attack."""
