"""Fault tests: full disks, kill -9, Ctrl-C, corrupt or edited run files, hostile flags.

They use the tiny tokenizer and dataset of tests/conftest.py; runs are a handful of tiny steps.
"""

import torch

torch.set_num_threads(1)  # one thread in-process and in every subprocess: bit-identical comparisons
