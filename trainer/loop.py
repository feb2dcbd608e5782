"""The training loop: one epoch/step skeleton driven either by real compute or by a labelled script.

`drive_real` runs forward + backward + AdamW on the dataset's token stream; `drive_synthetic` scripts
the loss (no model compute) for harness tests and says so in every record ("drive": "synthetic").
Both share `_Loop`, so guards, logging, epochs and the result file behave identically.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer import guards
from trainer.config import TrainConfig
from trainer.errors import DataError, Interrupted, PreflightError, TrainerError, io_error
from trainer.optim import MIN_LR_FRACTION, WarmupCosine  # noqa: F401  (MIN_LR_FRACTION: re-exported)
from trainer.runlog import (
    CONFIG_FILE,
    RESULT_FILE,
    TRAIN_LOG,
    RunLog,
    atomic_write_json,
    atomic_write_text,
    remove_stale_temps,
)
from trainer.status import RunStatus

Events = Callable[[dict[str, Any]], None]
# Fields a resumed run may change; everything else must match the run's config.json.
RESUMABLE_CHANGES = ("resume", "device", "compile")


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    reason: str
    drive: str
    epochs: int
    steps: int
    best_val_loss: float | None
    final_val_loss: float | None
    target_val_loss: float
    wall_seconds: float
    run_dir: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.label
        data["exit_code"] = self.status.exit_code
        return data


@dataclass(frozen=True)
class StepOut:
    loss: float
    grad_norm: float
    tokens: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for 0-based update `step` (trainer.optim.WarmupCosine: warmup, then cosine to 10%)."""
    return WarmupCosine.for_config(cfg)(step)


# Directories a run dir must never be (or, for the trees below, lie in): config.json, train.jsonl and
# ckpt/ written there would overwrite or litter the system.
SYSTEM_DIRS = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt",
               "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/local",
               "/var", "/var/tmp")  # fmt: skip
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys",
                "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib64", "/usr/sbin", "/usr/share")  # fmt: skip
RUN_FILES = (CONFIG_FILE, TRAIN_LOG, RESULT_FILE, "ckpt")  # any of them: the directory holds a run


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def check_run_dir_location(cfg: TrainConfig) -> None:
    """Refuse a run dir that is a system directory, the home directory, or overlaps the inputs."""
    run_dir = _real(cfg.run_dir)
    home = _real(Path.home())
    system = [Path(d) for d in SYSTEM_DIRS]
    in_tree = next((t for t in SYSTEM_TREES if run_dir.is_relative_to(t)), None)
    if run_dir in system or run_dir == home or in_tree is not None:
        where = "your home directory" if run_dir == home else "a system directory"
        if in_tree is not None and run_dir not in system:
            where = f"inside the system directory {in_tree}"
        raise DataError(
            f"--run-dir resolves to {run_dir}, {where}: a run writes config.json, train.jsonl and ckpt/ "
            f"there; choose a new directory for the run, e.g. ./runs/NAME",
            path=str(cfg.run_dir),
        )
    for flag, value in (("--dataset", cfg.dataset), ("--tokenizer", cfg.tokenizer)):
        other = _real(value)
        how = None
        if run_dir == other:
            how = "is"
        elif run_dir.is_relative_to(other):
            how = "lies inside"
        elif other.is_relative_to(run_dir):
            how = "contains"
        if how is not None:
            raise DataError(
                f"--run-dir {how} the {flag} directory {other}: the run's files would mix with (and a "
                f"later cleanup could delete) the {flag[2:]}; choose a run dir outside it",
                path=str(cfg.run_dir),
            )


def _same_config_value(key: str, saved: object, given: object) -> bool:
    """Path fields compare as resolved paths: `data` and `/abs/data` are the same dataset."""
    if key in ("dataset", "tokenizer", "run_dir") and isinstance(saved, str) and isinstance(given, str):
        return _real(saved) == _real(given)
    return saved == given


def prepare_run_dir(cfg: TrainConfig) -> None:
    """Fresh run: refuse a directory that already holds one. Resume: the config must match.

    Either way, temp files our atomic writers left behind (a kill between write and rename) are removed.
    """
    check_run_dir_location(cfg)
    run_dir = Path(cfg.run_dir)
    cfg_path = run_dir / CONFIG_FILE
    if run_dir.exists() and not run_dir.is_dir():
        raise DataError("--run-dir exists and is not a directory; choose a new --run-dir", path=str(run_dir))
    if cfg.resume and cfg_path.exists():
        saved = TrainConfig.load(cfg_path)
        diff = [
            f"{k}: run has {getattr(saved, k)!r}, flags give {getattr(cfg, k)!r}"
            for k in saved.to_dict()
            if k not in RESUMABLE_CHANGES and not _same_config_value(k, getattr(saved, k), getattr(cfg, k))
        ]
        if diff:
            raise PreflightError(
                "--resume with a different configuration would not continue the same run: "
                + "; ".join(diff)
                + ". Repeat the original flags, or start a new --run-dir.",
                gate="GATE-TRAIN-RESUME",
                path=str(cfg_path),
            )
        _clean_stale_temps(run_dir)
        return
    holds_run = (run_dir / TRAIN_LOG).exists() or (run_dir / "ckpt").exists()
    if cfg.resume and holds_run:  # config.json is written first, so a run without it is damaged
        raise DataError(
            f"the run directory holds a run but no {CONFIG_FILE}, so --resume cannot check that the flags "
            f"match the run's; restore {CONFIG_FILE} or start a new --run-dir",
            path=str(cfg_path),
        )
    if not cfg.resume and any((run_dir / name).exists() for name in RUN_FILES):
        raise PreflightError(
            "the run directory already holds a run; pass --resume to continue it or choose a new --run-dir",
            gate="GATE-TRAIN-RESUME",
            path=str(run_dir),
        )
    _clean_stale_temps(run_dir)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise DataError(
            "--run-dir exists, is not empty and holds no run (no config.json, train.jsonl, ckpt/); "
            "refusing to write into it — choose a new or empty directory",
            path=str(run_dir),
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cfg_path, cfg.replace(resume=False).to_json())
        atomic_write_text(run_dir / TRAIN_LOG, "")
    except OSError as exc:  # a parent that is a file, no permission, a full disk: say where, no traceback
        raise io_error(exc, "cannot set up the run directory", run_dir) from exc


def _clean_stale_temps(run_dir: Path) -> None:
    for directory in (run_dir, run_dir / "ckpt"):
        remove_stale_temps(directory)


class _Loop:
    """Epoch/step skeleton shared by both drives. Subclasses provide step(), evaluate() and checkpoints."""

    drive = "real"
    is_writer = True  # False on data-parallel ranks >= 1 (trainer/distributed.py): they write nothing

    def __init__(self, cfg: TrainConfig, events: Events | None) -> None:
        self.cfg = cfg
        self.events = events
        self.run_dir = Path(cfg.run_dir)
        self.vocab_size = 0
        self.start_step = 0
        self.start_epoch = 0
        self.tokens_seen = 0
        self.val_losses: list[float] = []
        self.log: RunLog | None = None
        # The lr of every update; the real drive replaces it with the one build_optimizer returns.
        self.schedule: Callable[[int], float] = WarmupCosine.for_config(cfg)

    # --- hooks -------------------------------------------------------------------------------------
    def step(self, step: int, lr: float) -> StepOut:
        raise NotImplementedError

    def evaluate(self, epoch: int, step: int) -> float:
        raise NotImplementedError

    def save(self, epoch: int, meta: dict[str, Any]) -> None:
        """Persist a checkpoint for a completed epoch (the real drive writes ckpt/)."""

    def resume(self) -> None:
        """Restore start_step, tokens_seen, val_losses and all state from the latest checkpoint."""

    # --- shared ------------------------------------------------------------------------------------
    def emit(self, record: dict[str, Any], *, log: bool = True) -> None:
        if log and self.log is not None:
            self.log.append(record)
        if self.events is not None:
            self.events(record)

    def run(self, prepare: Callable[[], None]) -> RunResult:
        """`prepare` runs every preflight and builds state; the run dir is touched only after it."""
        t0 = time.perf_counter()
        with self.interrupts_as_errors():
            check_run_dir_location(self.cfg)  # cheap: before the inputs are loaded
            prepare()
            prepare_run_dir(self.cfg)
        return self.train(t0)

    # --- phases the data-parallel loop wraps (trainer/distributed.py) ------------------------------
    def resume_phase(self) -> None:
        self.resume()

    def open_log(self) -> contextlib.AbstractContextManager:
        return RunLog(self.run_dir / TRAIN_LOG)

    def train(self, t0: float) -> RunResult:
        """Resume (if asked), then the epochs. A TrainerError or Ctrl-C leaves a result.json saying why,
        except that a resume which fails before training continues keeps the run's existing result.json:
        the run did not change, and a finished run's good result must not be replaced by the error."""
        resuming = self.cfg.resume
        try:
            with self.interrupts_as_errors():
                if resuming:
                    self.resume_phase()
                resuming = False
                with self.open_log() as log:
                    self.log = log
                    return self._epochs(t0)
        except TrainerError as exc:
            self._record_failure(exc, t0, keep_existing=resuming)
            raise

    @contextlib.contextmanager
    def interrupts_as_errors(self) -> Iterator[None]:
        """Ctrl-C (KeyboardInterrupt) becomes Interrupted: a documented status, a message, a result."""
        try:
            yield
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted (Ctrl-C) after step {self.start_step} of {self.cfg.num_steps}; "
                f"`--resume` with the same flags continues from the last checkpoint"
            ) from None

    def _record_failure(self, exc: TrainerError, t0: float, *, keep_existing: bool) -> None:
        if isinstance(exc, DataError) and exc.__cause__ is not None and not keep_existing:
            exc.notes.append("once fixed, `--resume` continues the run from its last complete checkpoint")
        if not self.is_writer:
            return
        if keep_existing and (self.run_dir / RESULT_FILE).exists():
            exc.notes.append(f"{self.run_dir / RESULT_FILE} of the run is unchanged")
            return
        try:
            self._write_result(exc.status, str(exc), t0)
        except TrainerError as also:  # e.g. the disk that failed the checkpoint is still full
            exc.notes.append(f"the result could not be recorded either ({also.path or also})")

    def _write_result(self, status: RunStatus, reason: str, t0: float) -> RunResult:
        result = RunResult(
            status=status,
            reason=reason,
            drive=self.drive,
            epochs=len(self.val_losses),
            steps=self.start_step,
            best_val_loss=min(self.val_losses) if self.val_losses else None,
            final_val_loss=self.val_losses[-1] if self.val_losses else None,
            target_val_loss=self.cfg.target_val_loss,
            wall_seconds=time.perf_counter() - t0,
            run_dir=str(self.run_dir),
        )
        if self.is_writer:
            atomic_write_json(self.run_dir / RESULT_FILE, result.to_dict())
        return result

    def _epochs(self, t0: float) -> RunResult:
        cfg = self.cfg
        stopped_early = False
        for epoch in range(self.start_epoch, cfg.num_epochs):
            first = epoch * cfg.steps_per_epoch
            last = min(cfg.num_steps, first + cfg.steps_per_epoch)
            epoch_t0 = time.perf_counter()
            losses: list[float] = []
            grad_max = 0.0
            for s in range(max(first, self.start_step), last):
                lr = self.schedule(s)
                st = time.perf_counter()
                out = self.step(s, lr)
                wall = time.perf_counter() - st
                guards.check_finite(s + 1, out.loss, out.grad_norm)  # before anything is logged
                self.tokens_seen += out.tokens
                self.start_step = s + 1
                losses.append(out.loss)
                grad_max = max(grad_max, out.grad_norm)
                self.emit(
                    {
                        "step": s + 1,
                        "epoch": epoch,
                        "train_loss": out.loss,
                        "grad_norm": out.grad_norm,
                        "lr": lr,
                        "tokens_per_sec": out.tokens / wall if wall > 0 else 0.0,
                        "wall_ms": wall * 1e3,
                        "tokens_seen": self.tokens_seen,
                        "drive": self.drive,
                    }
                )
            val = self.evaluate(epoch, last)
            prev = self.val_losses[-1] if self.val_losses else None
            if not math.isfinite(val):
                guards.check_epoch(epoch, val, prev, cfg.mode, self.vocab_size)  # raises NONFINITE
            train_loss = sum(losses) / len(losses)
            self.val_losses.append(val)
            record = {
                "event": "epoch",
                "epoch": epoch,
                "step": last,
                "train_loss": train_loss,
                "train_ppl": math.exp(min(train_loss, 700.0)),
                "val_loss": val,
                "val_ppl": math.exp(min(val, 700.0)),
                "wall_seconds": time.perf_counter() - epoch_t0,
                "tokens_seen": self.tokens_seen,
                "grad_norm_max": grad_max,
                "lr": self.schedule(last - 1),
                "vocab_size": self.vocab_size,
                "drive": self.drive,
            }
            self.emit(record)
            guards.check_epoch(epoch, val, prev, cfg.mode, self.vocab_size)
            self.save(epoch, {k: v for k, v in record.items() if k != "event"})
            if guards.patience_exhausted(self.val_losses, cfg.patience) and last < cfg.num_steps:
                stopped_early = True
                break
        status = guards.final_status(self.val_losses, cfg.target_val_loss, not stopped_early)
        return self._write_result(status, self._reason(status), t0)

    def _reason(self, status: RunStatus) -> str:
        if not self.val_losses:
            return "no epoch was evaluated"
        cfg, best = self.cfg, min(self.val_losses)
        at = self.val_losses.index(best)
        if status is RunStatus.OK:
            return f"best val_loss {best:.4f} <= target {cfg.target_val_loss} (epoch {at})"
        if status is RunStatus.EARLY_STOP:
            return (
                f"no val_loss improvement for {cfg.patience} epoch(s) after epoch {at} (best {best:.4f}); "
                f"stopped at step {self.start_step} of {cfg.num_steps}; "
                f"target {cfg.target_val_loss} not reached"
            )
        return (
            f"the budget of {cfg.num_steps} steps ran; best val_loss {best:.4f} (epoch {at}) > "
            f"target {cfg.target_val_loss}"
        )


class _SyntheticLoop(_Loop):
    """Scripted values, no model: loss decays linearly from 1.8·target to target over the budget."""

    drive = "synthetic"

    def _progress(self, step: int) -> float:
        return step / max(1, self.cfg.num_steps - 1)

    def scripted_loss(self, step: int) -> float:
        target = self.cfg.target_val_loss
        return target * (1.8 - 0.8 * min(1.0, self._progress(step)))

    def step(self, step: int, lr: float) -> StepOut:
        # Scripted grad norm in [0.25, 0.75]: never the 1.0 placeholder fingerprint.
        grad_norm = 0.25 + 0.5 * (1.0 - min(1.0, self._progress(step)))
        return StepOut(self.scripted_loss(step), grad_norm, self.cfg.batch_size * self.cfg.seq_length)

    def evaluate(self, epoch: int, step: int) -> float:
        return self.scripted_loss(step - 1)


def _load_inputs(cfg: TrainConfig) -> tuple[Any, Any, int]:
    """Tokenizer, dataset and the model vocab; runs the vocab and budget preflights."""
    from trainer.data import TokenStream, load_dataset, val_batches
    from trainer.tokenizer import BpeTokenizer

    tok = BpeTokenizer.load(cfg.tokenizer)
    ds = load_dataset(cfg.dataset, tokenizer=tok)
    vocab = cfg.vocab_size if cfg.vocab_size is not None else tok.vocab_size
    guards.vocab_preflight(tok.vocab_size, vocab, max_token_id=tok.max_token_id)
    try:
        # Denominator: what one pass of the stream yields (whole windows and batches), not raw length.
        probe = TokenStream(ds.train_tokens, cfg.batch_size, cfg.seq_length, seed=cfg.seed, allow_cycle=False)
        guards.budget_preflight(cfg.planned_tokens, probe.tokens_available(), cfg.allow_shard_cycle)
        val_batches(ds.val_tokens, cfg.batch_size, cfg.seq_length, max_batches=1)  # DataError if too short
    except DataError as exc:  # the stream does not know where its tokens came from: name the dataset
        if exc.path is not None:
            raise
        raise DataError(str(exc), path=str(cfg.dataset)) from exc
    return tok, ds, vocab


def drive_synthetic(cfg: TrainConfig, *, events: Events | None = None) -> RunResult:
    """Scripted-loss drive: preflights and logging as in drive_real, no model compute."""
    loop = _SyntheticLoop(cfg, events)

    def prepare() -> None:
        if cfg.resume:
            raise PreflightError(
                "--resume applies to real runs; a synthetic run is scripted, rerun it without --resume",
                gate="GATE-TRAIN-RESUME",
            )
        guards.resolve_device(cfg.device)
        _, _, loop.vocab_size = _load_inputs(cfg)

    return loop.run(prepare)


def drive_real(cfg: TrainConfig, *, events: Events | None = None) -> RunResult:
    """Real drive: forward + backward + AdamW on the dataset's token stream."""
    from trainer.real import RealLoop

    loop = RealLoop(cfg, events)
    return loop.run(lambda: loop.build(*_load_inputs(cfg)))


def select_drive(cfg: TrainConfig) -> Callable[..., RunResult]:
    return drive_synthetic if cfg.synthetic else drive_real


def run(cfg: TrainConfig, *, events: Events | None = None) -> RunResult:
    return select_drive(cfg)(cfg, events=events)
