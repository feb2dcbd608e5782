"""tinytrain: a small pretraining step of a user's own — an HF tokenizers BPE trained in memory, HF
transformers' GPT-2 from a tiny config, AdamW with warmup + cosine, a JSONL log, an argparse CLI."""
