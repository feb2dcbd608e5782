"""Ctrl-C: INTERRUPTED (exit 130, documented), a message, a result.json that says so, and --resume.

Before: click caught the KeyboardInterrupt, printed "Aborted!", exited 1 and left no result.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import ROOT, STEPS, invoke, losses, pretrain_argv, result

from trainer import loop
from trainer.config import TrainConfig
from trainer.errors import Interrupted


def _cfg(tok: Path, data: Path, run_dir: Path) -> TrainConfig:
    shape = {"num_steps": STEPS, "steps_per_epoch": 2, "batch_size": 2, "seq_length": 16, "eval_batches": 1}
    return TrainConfig(dataset=str(data), tokenizer=str(tok), run_dir=str(run_dir), device="cpu", **shape)


def test_ctrl_c_mid_run_records_interrupted_and_resume_finishes_it(
    tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    def hook(rec: dict) -> None:
        if "event" not in rec and rec["step"] == 3:
            raise KeyboardInterrupt  # what SIGINT raises in the main thread

    run_dir = tmp_path / "run"
    with pytest.raises(Interrupted, match=r"interrupted \(Ctrl-C\) after step 3 of 6.*--resume"):
        loop.run(_cfg(tiny_tokenizer_dir, tiny_dataset_dir, run_dir), events=hook)
    got = result(run_dir)
    assert (got["status"], got["exit_code"], got["steps"]) == ("INTERRUPTED", 130, 3)

    assert invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir), "--resume").exit_code in (
        0,
        3,
    )
    reference = tmp_path / "reference"
    invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, reference))
    assert losses(run_dir) == losses(reference)
    assert result(run_dir)["status"] == result(reference)["status"]


@pytest.mark.slow
def test_sigint_to_the_cli_exits_130_with_a_message(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path) -> None:
    run_dir = tmp_path / "run"
    argv = pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir)
    argv[argv.index("--num-steps") + 1] = "100000"  # long enough to be interrupted mid-run
    argv[argv.index("--steps-per-epoch") + 1] = "100000"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "trainer", *argv, "--allow-shard-cycle"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        log = run_dir / "train.jsonl"
        while not (log.exists() and log.read_text().count("\n") >= 2):  # training is under way
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never logged a step"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and "Aborted!" not in err
    assert "error: interrupted (Ctrl-C) after step" in err
    doc = json.loads((run_dir / "result.json").read_text())
    assert doc["status"] == "INTERRUPTED" and doc["exit_code"] == 130
