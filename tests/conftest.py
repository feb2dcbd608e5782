"""Fixtures shared by tests/trainer and tests/faults, built once per test session (per xdist worker)
from 30 stdlib files. Imports happen inside the fixtures: tests/pv never pays for torch.

- `tiny_tokenizer_dir` → Path of a trained byte-level BPE tokenizer (vocab TINY_VOCAB = 512):
  tokenizer.json, vocab.json, merges.txt, tokenizer_meta.json. Load with `BpeTokenizer.load(path)`.
- `tiny_dataset_dir` → Path of a dataset prepared from the same 30 files with that tokenizer
  (val_fraction 0.1): manifest.json + train-00000.bin + val-00000.bin. Load with `load_dataset(path)`.
  Roughly 150k train tokens, a few thousand val tokens.
- `tiny_vocab_size` → 512, the vocab size of `tiny_tokenizer_dir` (test modules cannot import conftest).
- `tiny_dataset_copy` → a fresh per-test copy of the dataset for tests that corrupt or modify files.
- `tiny_run_dir` → Path of a finished real run on that dataset (tiny preset, 24 steps, 3 epochs of 8,
  batch 4 × 32, cpu, 2 eval batches): config.json, train.jsonl, result.json, ckpt/epoch-00{0,1,2}.*.
The session fixtures are shared: treat them as read-only (copy before editing).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY_FILES = 30
TINY_VOCAB = 512


@pytest.fixture(scope="session")
def tiny_vocab_size() -> int:
    return TINY_VOCAB


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trainer.corpus import corpus_files
    from trainer.tokenizer import train_tokenizer

    out = tmp_path_factory.mktemp("tiny") / "tokenizer"
    train_tokenizer(corpus_files("stdlib", TINY_FILES), TINY_VOCAB, out)
    return out


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer_dir: Path) -> Path:
    from trainer.data import prepare_dataset

    out = tmp_path_factory.mktemp("tiny") / "data"
    prepare_dataset("stdlib", tiny_tokenizer_dir, out, max_files=TINY_FILES, val_fraction=0.1)
    return out


@pytest.fixture
def tiny_dataset_copy(tiny_dataset_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(tiny_dataset_dir, dst)
    return dst


@pytest.fixture(scope="session")
def tiny_run_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path
) -> Path:
    from trainer import loop
    from trainer.config import TrainConfig

    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    cfg = TrainConfig(dataset=str(tiny_dataset_dir), tokenizer=str(tiny_tokenizer_dir), run_dir=str(run_dir),
                      num_steps=24, steps_per_epoch=8, batch_size=4, seq_length=32, device="cpu",
                      eval_batches=2)  # fmt: skip
    loop.run(cfg)
    return run_dir
