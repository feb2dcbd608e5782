"""Inputs that used to crash or silently corrupt: tokenizer files that disagree, a tokenizer replaced
under its datasets, vocabulary sizes no allocator can hold, a model that cannot fit in memory.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from faultkit import clean_exit, invoke, pretrain_argv

from trainer.errors import DataError
from trainer.model import Transformer, model_config
from trainer.tokenizer import BpeTokenizer

# ── tokenizer files cross-checked ─────────────────────────────────────────────────────────────────────


@pytest.fixture
def tok_copy(tiny_tokenizer_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "tok"
    shutil.copytree(tiny_tokenizer_dir, dst)
    return dst


def _swap_two_ids(path: Path) -> None:
    vocab = json.loads(path.read_text(encoding="utf-8"))
    a, b = sorted(vocab)[300:302]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    path.write_text(json.dumps(vocab), encoding="utf-8")


def _drop_last_merge(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")


def _other_tokenizers_vocab(path: Path, other: Path) -> None:
    shutil.copy(other / "vocab.json", path)


@pytest.mark.parametrize(
    ("name", "damage", "needle"),
    [
        ("vocab.json", _swap_two_ids, "vocab.json does not match the vocabulary in tokenizer.json"),
        ("merges.txt", _drop_last_merge, r"\(253 merges\) does not match the 254 merges in tokenizer.json"),
    ],
)
def test_vocab_and_merges_must_match_tokenizer_json(tok_copy: Path, name: str, damage, needle: str) -> None:
    BpeTokenizer.load(tok_copy)  # the intact copy loads
    damage(tok_copy / name)
    with pytest.raises(DataError, match=needle) as err:
        BpeTokenizer.load(tok_copy)
    assert err.value.path == str(tok_copy / name)


def test_mismatched_tokenizer_files_stop_data_prepare(tok_copy: Path, tmp_path: Path) -> None:
    _swap_two_ids(tok_copy / "vocab.json")
    res = invoke("data", "prepare", "--corpus", "stdlib", "--tokenizer", str(tok_copy), "--max-files", "3",
                 "--out", str(tmp_path / "data"))  # fmt: skip
    clean_exit(res, 8, str(tok_copy / "vocab.json"), "does not match")
    assert not (tmp_path / "data").exists()


def test_training_over_an_existing_tokenizer_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "tok"
    argv = ["tokenizer", "train", "--corpus", "stdlib", "--max-files", "3", "--out", str(out)]
    assert invoke(*argv, "--vocab-size", "300").exit_code == 0
    first = (out / "tokenizer.json").read_bytes()
    clean_exit(invoke(*argv, "--vocab-size", "310"), 8, str(out), "already holds a tokenizer", "--force")
    assert (out / "tokenizer.json").read_bytes() == first  # untouched
    assert invoke(*argv, "--vocab-size", "310", "--force").exit_code == 0
    assert BpeTokenizer.load(out).vocab_size == 310


@pytest.mark.parametrize("vocab_size", [str(2**32), str(2**32 - 1), str(10**30)])
def test_tokenizer_vocab_the_native_trainer_cannot_take_is_refused_first(vocab_size: str, tmp_path) -> None:
    """2**32 - 1 passed the old uint32 bound and aborted the process inside the Rust trainer."""
    res = invoke("tokenizer", "train", "--corpus", "stdlib", "--max-files", "3", "--vocab-size", vocab_size,
                 "--out", str(tmp_path / "tok"))  # fmt: skip
    clean_exit(res, 8, "too large", "2**24")
    assert not (tmp_path / "tok").exists()


# ── model vocabulary and memory ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("vocab_size", [str(10**12), str(10**30), str(2**24 + 1)])
def test_pretrain_vocab_beyond_the_cap_is_a_usage_error(
    vocab_size: str, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    """10**12 reached the allocator (traceback), 10**30 overflowed in torch (traceback)."""
    argv = pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path / "run", "--vocab-size", vocab_size)
    res = invoke(*argv)
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr and "16777216" in res.stderr
    assert not (tmp_path / "run").exists()


def test_parameter_count_is_the_built_models() -> None:
    for preset in ("tiny", "small"):
        cfg = model_config(preset, 777, 64)
        assert cfg.parameter_count == sum(p.numel() for p in Transformer(cfg).parameters())


def test_a_model_too_big_for_memory_exits_9_before_allocating(
    monkeypatch: pytest.MonkeyPatch, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    from trainer import real

    monkeypatch.setattr(real, "available_memory", lambda device: 2**30)  # 1 GiB free
    argv = pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path / "run", "--vocab-size", str(2**24))
    clean_exit(
        invoke(*argv),
        9,
        "GATE-TRAIN-DEVICE",
        "2,148,336,768 parameters",
        "32.0 GiB",
        "1.0 GiB available",
        "--vocab-size",
    )
    assert not (tmp_path / "run").exists()


def test_out_of_memory_in_a_step_is_a_device_error(
    monkeypatch: pytest.MonkeyPatch, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    def no_memory(self, idx, targets=None):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(Transformer, "forward", no_memory)
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path / "run"))
    clean_exit(res, 9, "out of memory on cpu in training step 1", "--batch-size")
    assert json.loads((tmp_path / "run" / "result.json").read_text())["status"] == "DEVICE_ERROR"
