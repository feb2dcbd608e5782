"""qa: passes a clean run; fails edited val losses, placeholder fingerprints and tampered checkpoints."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from trainer import loop
from trainer.checkpoint import CHECKSUM_FIELD, ckpt_paths, metadata_checksum
from trainer.cli import main
from trainer.config import TrainConfig
from trainer.errors import DataError
from trainer.qa import qa_run
from trainer.runlog import atomic_write_text, dumps, read_log

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def clean_run(tiny_run_dir: Path) -> Path:
    return tiny_run_dir  # the shared real run (conftest): 24 steps, 3 epochs, read-only here


@pytest.fixture
def run_copy(clean_run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(clean_run, dst)
    return dst


def edit_last_epoch(run_dir: Path, *, record: bool = True, metadata: bool = True, **changes) -> None:
    path = run_dir / "train.jsonl"
    recs = read_log(path)
    last = max(i for i, r in enumerate(recs) if r.get("event") == "epoch")
    epoch = recs[last]["epoch"]
    if record:
        recs[last].update(changes)
        atomic_write_text(path, "".join(dumps(r) + "\n" for r in recs))
    if metadata:
        meta_path = ckpt_paths(run_dir, epoch)[2]
        meta = json.loads(meta_path.read_text())
        meta.update(changes)
        meta[CHECKSUM_FIELD] = metadata_checksum(meta)  # a consistent forgery: other checks must catch it
        meta_path.write_text(json.dumps(meta))


def failed(run_dir: Path) -> set[str]:
    return {c.name for c in qa_run(run_dir).failed}


def test_clean_run_passes_every_check(clean_run: Path) -> None:
    report = qa_run(clean_run)
    assert report.ok, [c for c in report.checks if not c.ok]
    assert report.summary() == "11/11 checks passed"


def test_doubled_val_loss_fails_non_divergence(run_copy: Path) -> None:
    recs = [r for r in read_log(run_copy / "train.jsonl") if r.get("event") == "epoch"]
    bad = 2.0 * recs[-2]["val_loss"] * 1.01  # more than twice the previous epoch
    edit_last_epoch(run_copy, val_loss=bad, val_ppl=math.exp(bad))
    assert "non-divergence" in failed(run_copy)


def test_val_loss_edited_in_the_log_only_is_caught(run_copy: Path) -> None:
    recs = [r for r in read_log(run_copy / "train.jsonl") if r.get("event") == "epoch"]
    edit_last_epoch(run_copy, metadata=False, val_loss=2 * recs[-1]["val_loss"])
    assert {"ppl-consistency", "epoch-artifacts"} <= failed(run_copy)


def test_placeholder_fingerprint_fails(run_copy: Path) -> None:
    edit_last_epoch(run_copy, train_loss=1.0, train_ppl=math.e, grad_norm_max=1.0, wall_seconds=0.0001)
    assert "placeholder-fingerprint" in failed(run_copy)


def test_tampered_optimizer_file_fails_sha(run_copy: Path) -> None:
    optim = ckpt_paths(run_copy, 1)[1]
    data = bytearray(optim.read_bytes())
    data[-1] ^= 0xFF
    optim.write_bytes(bytes(data))
    assert failed(run_copy) == {"checkpoint-sha"}


def test_edited_metadata_fails_its_checksum(run_copy: Path) -> None:
    meta_path = ckpt_paths(run_copy, 0)[2]
    meta = json.loads(meta_path.read_text())
    meta["tokens_seen"] += 1  # log and files untouched: only the metadata's own checksum can tell
    meta_path.write_text(json.dumps(meta))
    report = qa_run(run_copy)
    sha = next(c for c in report.failed if c.name == "checkpoint-sha")
    assert "epoch-000.metadata.json does not match its metadata_sha256" in sha.detail


def test_nonfinite_value_fails(run_copy: Path) -> None:
    path = run_copy / "train.jsonl"
    lines = path.read_text().splitlines()
    rec = json.loads(lines[3])
    rec["grad_norm"] = math.inf
    lines[3] = json.dumps(rec)
    path.write_text("\n".join(lines) + "\n")
    assert "finite" in failed(run_copy)


def test_relabelled_drive_and_missing_steps_fail(run_copy: Path) -> None:
    path = run_copy / "train.jsonl"
    recs = read_log(path)
    del recs[5]  # a step record vanished
    recs[0]["drive"] = "synthetic"
    atomic_write_text(path, "".join(dumps(r) + "\n" for r in recs))
    assert {"drive-labels", "step-budget"} <= failed(run_copy)


def test_dishonest_ok_status_fails(run_copy: Path) -> None:
    res = json.loads((run_copy / "result.json").read_text())
    res.update(status="OK", exit_code=0)
    (run_copy / "result.json").write_text(json.dumps(res))
    assert failed(run_copy) == {"result"}


def test_synthetic_run_marks_checkpoint_checks_not_applicable(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir):
    cfg = TrainConfig(dataset=str(tiny_dataset_dir), tokenizer=str(tiny_tokenizer_dir),
                      run_dir=str(tmp_path / "s"), synthetic=True, num_steps=20, steps_per_epoch=10,
                      batch_size=4, seq_length=32)  # fmt: skip
    loop.run(cfg)
    report = qa_run(cfg.run_dir)
    assert report.ok and report.summary() == "9/9 checks passed (2 not applicable)"


def test_not_a_run_dir_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a run directory"):
        qa_run(tmp_path)


def test_cli_prints_each_check_and_the_denominator(clean_run: Path, run_copy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["qa", str(clean_run)])
    assert ok.exit_code == 0 and ok.output.count("PASS ") == 11 and "11/11 checks passed" in ok.output
    edit_last_epoch(run_copy, train_loss=1.0, train_ppl=math.e)
    bad = runner.invoke(main, ["qa", str(run_copy)])
    assert bad.exit_code == 1
    assert "FAIL placeholder-fingerprint" in bad.output and "10/11 checks passed" in bad.output
    assert "qa failed: placeholder-fingerprint" in bad.stderr
    as_json = json.loads(runner.invoke(main, ["qa", str(clean_run), "--json"]).stdout)
    assert as_json["ok"] is True and as_json["passed"] == as_json["applicable"] == 11
    missing = runner.invoke(main, ["qa", str(tmp_path / "nope")])
    assert missing.exit_code == 8 and "not a run directory" in missing.stderr
