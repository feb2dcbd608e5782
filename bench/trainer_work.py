"""Shared by bench_trainer.py and bench_learning.py: a stdlib tokenizer + dataset under a work folder.

Built once and reused by later runs with `--work DIR`, but only while the recorded build parameters
(vocab size, file cap, Python version) still match: asking for another vocab size rebuilds both, never
silently benchmarks the old tokenizer. Not a bench itself (run_all.py runs only bench_*.py).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

from trainer.corpus import corpus_files
from trainer.data import prepare_dataset
from trainer.runlog import atomic_write_json
from trainer.tokenizer import train_tokenizer

PARAMS_FILE = "bench-params.json"


def stdlib_dataset(work: Path, vocab_size: int, max_files: int | None) -> tuple[Path, Path]:
    """(tokenizer dir, dataset dir) under `work`, (re)built from the stdlib when missing or stale."""
    work = Path(work)
    tok_dir, data_dir, stamp = work / "tokenizer", work / "data", work / PARAMS_FILE
    wanted = {"vocab_size": vocab_size, "max_files": max_files, "python": platform.python_version()}
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    fresh = (
        recorded == wanted
        and (tok_dir / "tokenizer.json").is_file()
        and (data_dir / "manifest.json").is_file()
    )
    if not fresh:
        stamp.unlink(missing_ok=True)  # a build interrupted below must not look complete next time
        # force: the dataset built from the old tokenizer is rebuilt on the next line
        train_tokenizer(corpus_files("stdlib", max_files), vocab_size, tok_dir, force=True)
        prepare_dataset("stdlib", tok_dir, data_dir, max_files=max_files)
        atomic_write_json(stamp, wanted)
    return tok_dir, data_dir
