"""What a new user runs into: bad paths, torn or edited run files, stale results, private artifacts.

Each case must end in one `error: PATH: …` line (or a failed qa check) and a non-zero exit, never a
traceback, and must leave nothing half-written. No test here trains for more than a few tiny steps.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from trainer import checkpoint, loop
from trainer.cli import main
from trainer.config import TrainConfig
from trainer.errors import DataError
from trainer.model import Transformer, model_config
from trainer.qa import qa_run
from trainer.real import make_optimizer
from trainer.runlog import read_log, truncate_log

torch.set_num_threads(1)


def invoke(*argv: str):
    return CliRunner().invoke(main, list(argv))


def pretrain_argv(tok: Path, data: Path, run_dir: Path, *extra: str) -> list[str]:
    return ["pretrain", "--dataset", str(data), "--tokenizer", str(tok), "--run-dir", str(run_dir),
            "--num-steps", "4", "--steps-per-epoch", "2", "--batch-size", "2", "--seq-length", "16",
            "--device", "cpu", "--eval-batches", "1", *extra]  # fmt: skip


def clean_exit(res, code: int, *needles: str) -> None:
    assert res.exit_code == code, (res.exit_code, res.stderr, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.stderr and res.stderr.startswith("error: ")
    for needle in needles:
        assert needle in res.stderr


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(3):
        (root / f"m{i}.py").write_text("".join(f"def f{i}_{j}(x):\n    return x * {j}\n" for j in range(80)))
    return root


# ------------------------------------------------------------------------------- output paths


@pytest.mark.parametrize("command", ["tokenizer", "data"])
def test_output_under_a_file_is_a_clean_error(command: str, corpus: Path, tiny_tokenizer_dir: Path) -> None:
    blocker = corpus.parent / "blocker"
    blocker.write_text("not a folder")
    out = blocker / "sub"
    if command == "tokenizer":
        argv = ["tokenizer", "train", "--corpus", str(corpus), "--vocab-size", "300", "--out", str(out)]
    else:
        argv = ["data", "prepare", "--corpus", str(corpus), "--tokenizer", str(tiny_tokenizer_dir),
                "--out", str(out)]  # fmt: skip
    clean_exit(invoke(*argv), 8, str(out), "is a file")
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in corpus.parent.iterdir()) == ["blocker", "corpus"]  # no staging left


@pytest.mark.parametrize("vocab_size", [10**22, 2**32, 2**24 + 1])
def test_vocab_size_beyond_what_the_native_trainer_takes_is_refused(
    corpus: Path, tmp_path: Path, vocab_size: int
) -> None:
    res = invoke("tokenizer", "train", "--corpus", str(corpus), "--vocab-size", str(vocab_size), "--out",
                 str(tmp_path / "tok"))  # fmt: skip
    clean_exit(res, 8, "too large", "16777216")
    assert not (tmp_path / "tok").exists()


def test_published_tokenizer_and_dataset_follow_the_umask(corpus: Path, tmp_path: Path) -> None:
    # mkdtemp/mkstemp create 0700/0600: published as is, a shared dataset is unreadable to teammates.
    old = os.umask(0o022)
    try:
        tok, data = tmp_path / "tok", tmp_path / "data"
        assert invoke("tokenizer", "train", "--corpus", str(corpus), "--vocab-size", "300", "--out",
                      str(tok)).exit_code == 0  # fmt: skip
        assert invoke("data", "prepare", "--corpus", str(corpus), "--tokenizer", str(tok), "--out",
                      str(data)).exit_code == 0  # fmt: skip
    finally:
        os.umask(old)
    for d in (tok, data):
        assert stat.S_IMODE(d.stat().st_mode) == 0o755, d
        for f in d.iterdir():
            assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def test_checkpoint_files_follow_the_umask(tmp_path: Path) -> None:
    model = Transformer(model_config("tiny", 300, 16))
    opt = make_optimizer(model, 1e-3, 0.1, torch.device("cpu"))
    old = os.umask(0o022)
    try:
        checkpoint.save_checkpoint(tmp_path, 0, model, opt, {})
    finally:
        os.umask(old)
    for path in checkpoint.ckpt_paths(tmp_path, 0):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# ---------------------------------------------------------------------------------- pretrain


def test_run_dir_that_is_a_file_exits_8(tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path) -> None:
    victim = tmp_path / "run"
    victim.write_text("my notes")
    clean_exit(invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, victim)), 8, str(victim))
    assert victim.read_text() == "my notes"
    under = victim / "sub"
    clean_exit(invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, under)), 8, str(under))


def test_a_refused_run_does_not_print_the_previous_result(
    tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "train.jsonl").write_text("")
    old = {"status": "OK", "exit_code": 0, "reason": "an earlier run"}
    (run_dir / "result.json").write_text(json.dumps(old))
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir, "--json"))
    clean_exit(res, 7, "--resume")
    assert res.stdout == ""  # not the earlier run's {"status": "OK"} with exit 7
    assert "earlier run" not in res.stderr


def test_batch_shape_larger_than_the_data_names_the_dataset(
    tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    argv = pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path / "run", "--seq-length", "10000000")
    clean_exit(invoke(*argv), 8, f"error: {tiny_dataset_dir}: ", "fewer than one batch")
    assert not (tmp_path / "run").exists()


def test_invalid_value_in_config_json_names_the_file(tmp_path: Path) -> None:
    cfg = TrainConfig(dataset="d", tokenizer="t", run_dir=str(tmp_path))
    doc = dict(cfg.to_dict(), batch_size=0)
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"config\.json: .*batch_size must be >= 1") as exc:
        TrainConfig.load(tmp_path / "config.json")
    assert exc.value.status.exit_code == 8


# ------------------------------------------------------------------------------ run log / qa


def test_resume_drops_a_torn_last_line_but_not_a_corrupt_middle(tmp_path: Path) -> None:
    log = tmp_path / "train.jsonl"
    whole = [{"step": 1, "train_loss": 5.0}, {"step": 2, "train_loss": 4.0}]
    body = "".join(json.dumps(r) + "\n" for r in whole)
    log.write_bytes(body.encode() + b'{"step": 3, "train_lo')  # killed mid-write
    with pytest.raises(DataError, match="line 3"):
        read_log(log)  # qa stays strict
    assert truncate_log(log, last_step=2, last_epoch=0) == 0
    assert read_log(log) == whole
    log.write_bytes(b'{"step": 1}\n{"st\n{"step": 2}\n')
    with pytest.raises(DataError, match="line 2"):
        truncate_log(log, last_step=2, last_epoch=0)


def test_non_utf8_log_is_a_data_error_naming_the_line(tmp_path: Path) -> None:
    log = tmp_path / "train.jsonl"
    log.write_bytes(b'{"step": 1}\n\xff\xfe\n')
    with pytest.raises(DataError, match=r"train\.jsonl: line 2"):
        read_log(log)


@pytest.fixture
def synthetic_run(tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path) -> Path:
    cfg = TrainConfig(dataset=str(tiny_dataset_dir), tokenizer=str(tiny_tokenizer_dir),
                      run_dir=str(tmp_path / "run"), synthetic=True, num_steps=6, steps_per_epoch=3,
                      batch_size=2, seq_length=16)  # fmt: skip
    loop.run(cfg)
    assert qa_run(cfg.run_dir).ok
    return Path(cfg.run_dir)


def test_qa_of_a_torn_log_fails_log_present_naming_the_line(synthetic_run: Path) -> None:
    log = synthetic_run / "train.jsonl"
    log.write_bytes(log.read_bytes()[:-20])
    res = invoke("qa", str(synthetic_run))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "FAIL log-present: " in res.stdout and "not valid JSON" in res.stdout
    assert res.stderr.startswith("qa failed: log-present")


def test_qa_of_edited_values_fails_checks_instead_of_crashing(synthetic_run: Path) -> None:
    log = synthetic_run / "train.jsonl"
    recs = read_log(log)
    epoch = next(r for r in recs if r.get("event") == "epoch")
    epoch["val_loss"] = "low"
    log.write_text("".join(json.dumps(r) + "\n" for r in recs))
    (synthetic_run / "result.json").write_text("[1, 2]")
    res = invoke("qa", str(synthetic_run))
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit | None)
    assert "FAIL result: " in res.stdout and "FAIL non-divergence" in res.stdout


@pytest.mark.parametrize(
    "flag",
    [("--weight-decay", "-1"), ("--weight-decay", "nan"), ("--lr", "1e300"), ("--seed", str(2**64))],
)
def test_values_torch_cannot_take_are_usage_errors(
    tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path, flag: tuple[str, str]
) -> None:
    # Before: a negative/NaN decay trained (NaN → exit 6 after a step), lr 1e300 and a seed beyond
    # 64 bits crashed inside torch with a traceback.
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path / "run", *flag))
    assert res.exit_code == 2 and "invalid config" in res.stderr, (res.exit_code, res.stderr)
    assert not (tmp_path / "run").exists()


def test_resume_without_config_json_is_refused_not_run_with_new_flags(
    tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "ckpt").mkdir(parents=True)
    (run_dir / "train.jsonl").write_text('{"step": 1}\n')
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir, "--resume", "--lr", "0.01"))
    clean_exit(res, 8, str(run_dir / "config.json"))
    assert sorted(p.name for p in run_dir.iterdir()) == ["ckpt", "train.jsonl"]  # nothing written
