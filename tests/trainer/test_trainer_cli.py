"""The click CLI: exit statuses, messages a user can act on, nothing half-written, --json, python -m."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from trainer.cli import main
from trainer.tokenizer import train_tokenizer

torch.set_num_threads(1)


@pytest.fixture
def invoke(tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path):
    def run(*extra: str, tok: Path | None = None, data: Path | None = None, run_dir: Path | None = None):
        argv = ["pretrain", "--dataset", str(data or tiny_dataset_dir),
                "--tokenizer", str(tok or tiny_tokenizer_dir), "--run-dir", str(run_dir or tmp_path / "run"),
                "--num-steps", "8", "--steps-per-epoch", "4", "--batch-size", "4", "--seq-length", "32",
                "--device", "cpu", "--eval-batches", "2", *extra]  # fmt: skip
        return CliRunner().invoke(main, argv)

    return run


def test_tokenizer_of_512_with_vocab_size_500_is_refused_naming_both(invoke, tmp_path: Path) -> None:
    res = invoke("--vocab-size", "500")
    assert res.exit_code == 7
    assert "512" in res.stderr and "500" in res.stderr and "GATE-MODEL-VOCAB" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_real_run_prints_result_json(invoke, tmp_path: Path) -> None:
    res = invoke("--json")
    assert res.exit_code in (0, 3), res.stderr
    result = json.loads(res.stdout)
    assert result == json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["drive"] == "real" and result["steps"] == 8 and result["exit_code"] == res.exit_code
    assert "epoch 1 (step 8/8)" in res.stderr  # plain progress lines when stderr is not a tty


def test_synthetic_flag_routes_to_the_synthetic_drive(invoke, tmp_path: Path) -> None:
    res = invoke("--synthetic", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["drive"] == "synthetic"
    records = (tmp_path / "run" / "train.jsonl").read_text().splitlines()
    assert records and all(json.loads(r)["drive"] == "synthetic" for r in records)


def test_budget_refusal_exit_7(invoke) -> None:
    res = invoke("--num-steps", "100000")
    assert res.exit_code == 7 and "GATE-TRAIN-BUDGET" in res.stderr and "--allow-shard-cycle" in res.stderr


def test_divergence_exit_5(invoke) -> None:
    # Scripted from-scratch epoch-0 val ≈ 1.8·9 > 2·ln(512): the epoch-0 cap fires.
    res = invoke("--synthetic", "--target-val-loss", "9")
    assert res.exit_code == 5 and "GATE-TRAIN-005" in res.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_explicit_cuda_without_cuda_exit_9(invoke, tmp_path: Path) -> None:
    res = invoke("--device", "cuda")
    assert res.exit_code == 9 and "CUDA is not available" in res.stderr
    assert not (tmp_path / "run").exists()


def test_missing_vocab_json_exit_8(invoke, tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    tok = tmp_path / "tok"
    shutil.copytree(tiny_tokenizer_dir, tok)
    # vocab.json is part of the declared format: its absence fails even with tokenizer.json present.
    (tok / "vocab.json").unlink()
    res = invoke(tok=tok)
    assert res.exit_code == 8 and "vocab.json" in res.stderr and "Traceback" not in res.stderr


def test_truncated_shard_exit_8(invoke, tiny_dataset_copy: Path) -> None:
    shard = tiny_dataset_copy / "train-00000.bin"
    shard.write_bytes(shard.read_bytes()[:-7])
    res = invoke(data=tiny_dataset_copy)
    assert res.exit_code == 8 and "train-00000.bin" in res.stderr


def test_manifest_tokenizer_mismatch_exit_8(invoke, tmp_path: Path) -> None:
    other = tmp_path / "other-tok"
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("".join(f"def f{i}(x): return x + {i}\n" for i in range(300)))
    train_tokenizer([corpus / "a.txt"], 280, other)
    res = invoke(tok=other)
    assert res.exit_code == 8 and "manifest.json" in res.stderr


def test_missing_dataset_dir_exit_8(invoke, tmp_path: Path) -> None:
    res = invoke(data=tmp_path / "nowhere")
    assert res.exit_code == 8 and "nowhere" in res.stderr


def test_resume_after_truncated_checkpoint_exit_8(invoke, tmp_path: Path) -> None:
    assert invoke().exit_code in (0, 3)
    victim = tmp_path / "run" / "ckpt" / "epoch-001.safetensors"
    victim.write_bytes(victim.read_bytes()[:100])
    res = invoke("--resume")
    assert res.exit_code == 8 and "epoch-001.safetensors" in res.stderr


def test_existing_run_dir_needs_resume(invoke) -> None:
    assert invoke().exit_code in (0, 3)
    res = invoke()
    assert res.exit_code == 7 and "--resume" in res.stderr


def test_bad_flag_values_are_usage_errors(invoke) -> None:
    assert invoke("--num-steps", "0").exit_code == 2
    assert invoke("--lr", "-1").exit_code == 2
    assert invoke("--mode", "sideways").exit_code == 2


def test_python_dash_m_trainer() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "trainer", "--help"], capture_output=True, text=True, check=True
    )
    for cmd in ("pretrain", "qa", "tokenizer", "data"):
        assert cmd in out.stdout
