"""Trainer tests share the tiny tokenizer and dataset fixtures of tests/conftest.py."""

import torch

torch.set_num_threads(1)  # 2 shared cores on the CI box: intra-op threads only contend
