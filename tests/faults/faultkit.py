"""Helpers of the fault tests (imported as `faultkit`: pytest puts this folder on sys.path).

One tiny pretrain shape for every fault test (6 steps in 3 epochs of 2, batches of 2 x 16 tokens), an
in-process CLI runner, the "clean exit" assertion every user error must meet, a subprocess runner that
SIGKILLs a real trainer at a named point (killpoint.py), and small tools for editing run files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from trainer.checkpoint import CHECKSUM_FIELD, metadata_checksum
from trainer.cli import main
from trainer.runlog import is_our_temp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STEPS, PER_EPOCH = 6, 2
DOCUMENTED_EXITS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130}  # docs/trainer.md "Exit statuses"


def pretrain_argv(tok: Path, data: Path, run_dir: Path, *extra: str) -> list[str]:
    return ["pretrain", "--dataset", str(data), "--tokenizer", str(tok), "--run-dir", str(run_dir),
            "--num-steps", str(STEPS), "--steps-per-epoch", str(PER_EPOCH), "--batch-size", "2",
            "--seq-length", "16", "--device", "cpu", "--eval-batches", "1", *extra]  # fmt: skip


def invoke(*argv: str, **kw: Any) -> Result:
    return CliRunner().invoke(main, list(argv), **kw)


def clean_exit(res: Result, code: int, *needles: str) -> str:
    """Exit `code`, no traceback, one `error: …` line on stderr (after any progress lines) holding
    every needle. Returns that line."""
    assert res.exit_code == code, (res.exit_code, res.stderr, res.exception)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.stderr, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, res.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def temps_left(root: Path) -> list[Path]:
    """Every temp file of our atomic writers under root (there must be none after any end)."""
    return [p for p in Path(root).rglob("*") if is_our_temp(p.name)]


def result(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "result.json").read_text(encoding="utf-8"))


def losses(run_dir: Path) -> list[float]:
    lines = (Path(run_dir) / "train.jsonl").read_text(encoding="utf-8").splitlines()
    return [r["train_loss"] for r in map(json.loads, lines) if "event" not in r]


def ckpt_bytes(run_dir: Path, epoch: int) -> tuple[bytes, bytes]:
    base = Path(run_dir) / "ckpt" / f"epoch-{epoch:03d}"
    return (
        base.with_name(base.name + ".safetensors").read_bytes(),
        base.with_name(base.name + ".optim.safetensors").read_bytes(),
    )


def edit_metadata(path: Path, edit: Callable[[dict], None], *, rechecksum: bool) -> None:
    """Edit a checkpoint metadata file; `rechecksum` also rewrites metadata_sha256 to match (a careful
    forger), so the structural checks behind the checksum are exercised too."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    edit(meta)
    if rechecksum:
        meta[CHECKSUM_FIELD] = metadata_checksum(meta)
    path.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


def run_killed(fault: str, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `trainer <argv>` in a subprocess that SIGKILLs itself at `fault` (see killpoint.py)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(HERE / "killpoint.py"), fault, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
