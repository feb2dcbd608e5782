"""TrainConfig: every resolved knob of one pretrain run, as a frozen dataclass with a JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.errors import DataError, PreflightError

MODELS = ("tiny", "small", "124m")
FLOAT32_MAX = 3.4028234663852886e38  # lr and decay reach float32 kernels: beyond this, torch raises
SEED_MIN, SEED_END = -(2**63), 2**63  # torch.manual_seed takes a signed 64-bit seed
# Model vocabulary cap: the largest tokenizer trainer builds (trainer.tokenizer.MAX_VOCAB_SIZE). Rows
# past the tokenizer's ids are never read, and 10**12 rows would only reach the allocator and crash.
MAX_MODEL_VOCAB = 1 << 24


@dataclass(frozen=True)
class TrainConfig:
    dataset: str
    tokenizer: str
    run_dir: str
    synthetic: bool = False
    mode: str = "from-scratch"
    lr: float = 3e-3
    warmup_steps: int = 20
    target_val_loss: float = 3.0
    vocab_size: int | None = None  # None: the tokenizer's vocab_size
    num_steps: int = 200
    steps_per_epoch: int = 50
    batch_size: int = 8
    seq_length: int = 128
    model: str = "tiny"
    seed: int = 0
    device: str = "auto"
    allow_shard_cycle: bool = False
    resume: bool = False
    grad_clip: float = 1.0
    weight_decay: float = 0.1
    patience: int | None = None
    # Cap on held-out batches per evaluation (deterministic prefix of val_batches); None = all.
    eval_batches: int | None = 16
    # torch.compile the training forward (meant for CUDA); an execution knob, so --resume may change it.
    compile: bool = False

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise PreflightError(f"invalid config: {what}", gate="GATE-TRAIN-CONFIG")

        need(self.num_steps >= 1, f"num_steps must be >= 1, got {self.num_steps}")
        need(self.steps_per_epoch >= 1, f"steps_per_epoch must be >= 1, got {self.steps_per_epoch}")
        need(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        need(self.seq_length >= 1, f"seq_length must be >= 1, got {self.seq_length}")
        need(
            0 < self.lr <= FLOAT32_MAX,
            f"lr must be a positive finite number (at most {FLOAT32_MAX:.4g}, the float32 range the "
            f"optimizer computes in), got {self.lr}",
        )
        need(self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}")
        need(math.isfinite(self.target_val_loss), f"target_val_loss must be finite: {self.target_val_loss}")
        need(
            self.vocab_size is None or 2 <= self.vocab_size <= MAX_MODEL_VOCAB,
            f"vocab_size must be in [2, {MAX_MODEL_VOCAB}] (2**24, the largest tokenizer trainer builds), "
            f"got {self.vocab_size}",
        )
        need(self.model in MODELS, f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        need(self.patience is None or self.patience >= 1, f"patience must be >= 1, got {self.patience}")
        need(self.grad_clip > 0, f"grad_clip must be > 0, got {self.grad_clip}")
        need(
            0 <= self.weight_decay <= FLOAT32_MAX,
            f"weight_decay must be a finite number >= 0, got {self.weight_decay}",
        )
        need(SEED_MIN <= self.seed < SEED_END, f"seed must be in [-2**63, 2**63), got {self.seed}")
        need(self.eval_batches is None or self.eval_batches >= 1, "eval_batches must be >= 1")

    @property
    def num_epochs(self) -> int:
        """Epoch = steps_per_epoch steps; a last partial epoch counts (and is evaluated)."""
        return math.ceil(self.num_steps / self.steps_per_epoch)

    @property
    def planned_tokens(self) -> int:
        return self.num_steps * self.batch_size * self.seq_length

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str, *, path: str | None = None) -> TrainConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"config is not valid JSON (line {exc.lineno}): {exc.msg}", path=path) from exc
        if not isinstance(data, dict):
            raise DataError("config must be a JSON object", path=path)
        try:
            return cls.from_dict(data)
        except (TypeError, DataError, PreflightError) as exc:  # a bad value in a saved file is a data error
            raise DataError(str(exc), path=path) from exc

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot read config: {exc.strerror}", path=str(path)) from exc
        return cls.from_json(text, path=str(path))

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)
