"""This repository's falsifier runtime: the tiny real run of our trainer, shared by its kinds.

The tiny real run (tokenizer → dataset → a few steps of the tiny preset) is built once per pytest
process and shared by every kind that inspects run artifacts. Target resolution is pv's own
(`pv.runtime`), re-exported here for the kinds that import it from this module.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import itertools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pv.runtime import (  # noqa: F401  (re-exported)
    TargetError,
    check_allowed,
    env_flag,
    project_root,
    resolve,
    resolve_sibling,
    target_packages,
)

# ── the shared tiny real run ──────────────────────────────────────────────────────────────────────────

TINY_FILES = 20
TINY_VOCAB = 512


@dataclass(frozen=True)
class TinyRun:
    root: Path
    tokenizer_dir: Path
    data_dir: Path
    run_dir: Path
    exit_status: object  # trainer.status.RunStatus of the run
    config: object  # trainer.config.TrainConfig used


def _torch_threads() -> None:
    import torch

    torch.set_num_threads(1)


@functools.cache
def tiny_tokenizer_dir() -> Path:
    """A byte-level BPE trained on ~20 stdlib files; built once per process."""
    _torch_threads()
    corpus = importlib.import_module("trainer.corpus")
    tok = importlib.import_module("trainer.tokenizer")
    root = Path(tempfile.mkdtemp(prefix="pv-tiny-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)  # one per process, gone when it exits
    files = corpus.corpus_files("stdlib", TINY_FILES)
    tok.train_tokenizer(files, TINY_VOCAB, root / "tokenizer")
    return root / "tokenizer"


def load_tiny_tokenizer(tokenizer_cls):
    """The shared tiny tokenizer, loaded through the class under test (round-trip's `load` adapter)."""
    return tokenizer_cls.load(tiny_tokenizer_dir())


@functools.cache
def tiny_dataset_dir() -> Path:
    data = importlib.import_module("trainer.data")
    tok_dir = tiny_tokenizer_dir()
    out = tok_dir.parent / "data"
    data.prepare_dataset("stdlib", tok_dir, out, max_files=TINY_FILES, val_fraction=0.2)
    return out


def tiny_config(run_dir: Path, **overrides):
    """TrainConfig for a tiny real run: 7 steps in epochs of 3 (the last one partial: a budget that is
    not a multiple of the epoch, so an unclamped last epoch would overshoot), batches of 4 × 32 tokens."""
    cfg_mod = importlib.import_module("trainer.config")
    knobs = {
        "dataset": str(tiny_dataset_dir()),
        "tokenizer": str(tiny_tokenizer_dir()),
        "run_dir": str(run_dir),
        "synthetic": False,
        "mode": "from-scratch",
        "num_steps": 7,
        "steps_per_epoch": 3,
        "batch_size": 4,
        "seq_length": 32,
        "model": "tiny",
        "seed": 0,
        "device": "cpu",
        "allow_shard_cycle": True,
        "eval_batches": 2,
    }
    knobs.update(overrides)
    return cfg_mod.TrainConfig(**knobs)


_RUNS: dict = {}


def tiny_run(entry=None) -> TinyRun:
    """One tiny real run per process and entry point (a few seconds on one CPU thread).

    `entry` is the run function (default trainer.loop:run); kinds only read the run's outputs.
    """
    entry = entry or resolve("trainer.loop:run")
    if entry in _RUNS:
        return _RUNS[entry]
    errors = importlib.import_module("trainer.errors")
    run_dir = tiny_tokenizer_dir().parent / f"run-{len(_RUNS)}"
    cfg = tiny_config(run_dir)
    try:
        status = entry(cfg).status
    except errors.TrainerError as exc:  # a guard stop still leaves artifacts to inspect
        status = exc.status
    _RUNS[entry] = TinyRun(
        root=run_dir.parent,
        tokenizer_dir=tiny_tokenizer_dir(),
        data_dir=tiny_dataset_dir(),
        run_dir=run_dir,
        exit_status=status,
        config=cfg,
    )
    return _RUNS[entry]


def launch_tiny_run(entry, run_dir: Path | None = None) -> Path:
    """record-schema's `launch` adapter: the shared tiny run of `entry` (made once per process, not
    in `run_dir`), so every kind that reads the run reads the same one; returns its directory."""
    return tiny_run(entry).run_dir


def fresh_run_dir(name: str) -> Path:
    """A new, not yet existing run directory inside this process's tiny-run scratch folder."""
    root = tiny_tokenizer_dir().parent
    for i in itertools.count():
        candidate = root / f"{name}-{i}"
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")


# A corpus small enough that a few dozen steps of 4 × 16 tokens cycle it several times.
_CYCLE_DOCS = 8
_CYCLE_LINES = 6


@functools.cache
def cycling_dataset_dir() -> Path:
    """A dataset prepared (with the tiny tokenizer) from a handful of short generated documents, so a
    real run passes over its training split several times in a few dozen steps."""
    data = importlib.import_module("trainer.data")
    root = tiny_tokenizer_dir().parent
    corpus = root / "cycle-corpus"
    corpus.mkdir()
    for d in range(_CYCLE_DOCS):
        lines = [f"def doc_{d}_fn_{j}(x):\n    return x * {d * 31 + j} - {j}\n" for j in range(_CYCLE_LINES)]
        (corpus / f"doc_{d:02d}.py").write_text("".join(lines), encoding="utf-8")
    out = root / "cycle-data"
    data.prepare_dataset(str(corpus), tiny_tokenizer_dir(), out, val_fraction=0.3)
    return out


@contextlib.contextmanager
def recorded_batches(stream_cls):
    """Record every (x, y) batch that instances of `stream_cls` yield while the block runs.

    An observer only: it wraps the class's `__next__` (whatever it currently is) and restores it.
    """
    seen: list[tuple] = []
    original = stream_cls.__dict__.get("__next__")
    inner = stream_cls.__next__

    def spy(self):
        x, y = inner(self)
        seen.append((x.clone(), y.clone()))
        return x, y

    stream_cls.__next__ = spy
    try:
        yield seen
    finally:
        if original is None:
            del stream_cls.__next__
        else:
            stream_cls.__next__ = original
