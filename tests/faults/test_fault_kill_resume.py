"""kill -9 at the worst moments, then `--resume`: the result equals the uninterrupted run, bit for bit.

Each scenario is a real SIGKILL of a `trainer pretrain` subprocess at a named point (killpoint.py):
with a checkpoint file's temp complete but not yet renamed, with model and optimizer published but
no metadata, with a half-written log line, and after the last checkpoint but before result.json.
The resume runs in-process with the same flags. Compared with one uninterrupted run: every step's
train loss, the last epoch's model and optimizer bytes, the verdict. And no temp file survives.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faultkit import (
    STEPS,
    ckpt_bytes,
    invoke,
    losses,
    pretrain_argv,
    result,
    run_killed,
    temps_left,
)

LAST_EPOCH = STEPS // 2 - 1


@pytest.fixture(scope="module")
def reference(tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir))
    assert res.exit_code in (0, 3), res.stderr
    return run_dir


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "temp_left_behind"),
    [
        ("before-rename:epoch-001.safetensors", True),  # model temp complete, not renamed
        ("before-rename:epoch-001.optim.safetensors", True),  # model published, optimizer temp only
        ("before-rename:epoch-001.metadata.json", True),  # both tensors published, no metadata
        ("torn-line:4", False),  # half a log line, mid-epoch
        ("before-rename:result.json", True),  # every checkpoint written, no verdict yet
    ],
)
def test_kill_9_then_resume_equals_the_uninterrupted_run(
    fault: str, temp_left_behind: bool, reference: Path, tiny_tokenizer_dir, tiny_dataset_dir, tmp_path
) -> None:
    run_dir = tmp_path / "run"
    argv = pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir)
    killed = run_killed(fault, argv)
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    assert not (run_dir / "result.json").exists()
    assert bool(temps_left(run_dir)) == temp_left_behind  # the kill really hit mid-write

    res = invoke(*argv, "--resume")
    assert res.exit_code == result(reference)["exit_code"], res.stderr
    assert temps_left(run_dir) == []  # the orphan was recognised as ours and removed
    assert losses(run_dir) == losses(reference)
    assert ckpt_bytes(run_dir, LAST_EPOCH) == ckpt_bytes(reference, LAST_EPOCH)
    got, want = result(run_dir), result(reference)
    for key in ("status", "exit_code", "epochs", "steps", "best_val_loss", "final_val_loss"):
        assert got[key] == want[key], key
    assert sorted(p.name for p in (run_dir / "ckpt").iterdir()) == sorted(
        p.name for p in (reference / "ckpt").iterdir()
    )
