"""The real drive: model, AdamW, token stream, held-out evaluation and checkpoints (see loop.py)."""

from __future__ import annotations

import base64
import contextlib
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from trainer import checkpoint, guards, optim
from trainer.errors import DataError, DeviceError
from trainer.loop import Events, StepOut, _Loop, seed_everything
from trainer.model import build_model, model_config
from trainer.runlog import TRAIN_LOG, truncate_log


def available_memory(device: torch.device) -> int | None:
    """Free bytes the run can use on `device`: MemAvailable on CPU (Linux), free memory on CUDA."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):
            return None
    return None  # mps: no portable query


@contextlib.contextmanager
def out_of_memory_as_device_error(device: torch.device, what: str) -> Iterator[None]:
    """The allocator's out-of-memory (CUDA OutOfMemoryError, CPU "can't allocate") as a DeviceError."""
    try:
        yield
    except RuntimeError as exc:
        if not (isinstance(exc, torch.OutOfMemoryError) or "can't allocate memory" in str(exc)):
            raise
        raise DeviceError(
            f"[{guards.GATE_DEVICE}] out of memory on {device} {what}: lower --batch-size, --seq-length "
            f"or --vocab-size, or choose a smaller --model"
        ) from None


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device):
    """AdamW; decay only matrices (embeddings, projections), never norm gains. Fused only on CUDA."""
    return optim.make_adamw(model, lr, weight_decay, fused=device.type == "cuda")


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states as JSON (metadata carries them for --resume)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode("ascii"),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [
            base64.b64encode(s.numpy().tobytes()).decode("ascii") for s in torch.cuda.get_rng_state_all()
        ]
    return state


def _state_bytes(text: Any, want: int, what: str) -> torch.Tensor:
    if not isinstance(text, str):
        raise ValueError(f"{what} state must be base64 text, got {type(text).__name__}")
    raw = base64.b64decode(text, validate=True)
    if len(raw) != want:
        raise ValueError(f"{what} state holds {len(raw)} bytes, this torch expects {want}")
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what rng_state() saved. Checks every part first, so a bad state changes no generator."""
    version, internal, gauss = state["python"]
    name, keys, pos, has_gauss, cached = state["numpy"]
    if not (isinstance(internal, list) and len(internal) == len(random.getstate()[1])):
        raise ValueError("python state has the wrong length")
    if not (isinstance(keys, list) and len(keys) == 624 and all(isinstance(k, int) for k in keys)):
        raise ValueError("numpy state must hold 624 integer keys")
    torch_state = _state_bytes(state["torch"], torch.get_rng_state().numel(), "torch")
    cuda_states = None
    if "cuda" in state and torch.cuda.is_available():
        want = [s.numel() for s in torch.cuda.get_rng_state_all()]
        if not isinstance(state["cuda"], list) or len(state["cuda"]) != len(want):
            raise ValueError(f"cuda state must hold one entry per device ({len(want)})")
        cuda_states = [_state_bytes(s, n, "cuda") for s, n in zip(state["cuda"], want, strict=True)]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch_state)
    if cuda_states is not None:
        torch.cuda.set_rng_state_all(cuda_states)


def _jsonable(value: Any) -> Any:
    """Stream state to JSON: tensors and arrays become lists (their dtype is restored by the stream)."""
    if isinstance(value, torch.Tensor | np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _verified_val_loss(meta_path) -> float:
    meta = checkpoint.verify_metadata(checkpoint.read_metadata(meta_path), meta_path)
    checkpoint.check_resume_fields(meta, meta_path, ("val_loss",))
    return meta["val_loss"]


class RealLoop(_Loop):
    drive = "real"

    def __init__(self, cfg, events: Events | None) -> None:
        super().__init__(cfg, events)
        self.device = guards.resolve_device(cfg.device)

    def build(self, tok: Any, ds: Any, vocab: int) -> None:
        from trainer.data import TokenStream, val_batches

        cfg = self.cfg
        self.vocab_size = vocab
        seed_everything(cfg.seed)
        if self.device.type == "cpu":
            # Cheap on CPU and makes same-seed runs bit-identical; warn_only keeps ops without a
            # deterministic kernel usable.
            torch.use_deterministic_algorithms(True, warn_only=True)
        model_cfg = model_config(cfg.model, vocab, cfg.seq_length)
        guards.memory_preflight(model_cfg.parameter_count, available_memory(self.device), str(self.device))
        with out_of_memory_as_device_error(self.device, "while building the model"):
            self.model = build_model(vocab, cfg.seq_length, preset=cfg.model).to(self.device)
        self.model.train()
        # What the training step calls: the model itself, or a compiled / data-parallel wrapper of it.
        # Evaluation and checkpoints always use self.model (plain parameter names).
        self.train_model: torch.nn.Module = torch.compile(self.model) if cfg.compile else self.model
        self.optimizer, self.schedule = optim.build_optimizer(cfg, self.model, self.device)
        self.stream = TokenStream(
            ds.train_tokens,
            cfg.batch_size,
            cfg.seq_length,
            seed=cfg.seed,
            allow_cycle=cfg.allow_shard_cycle,
            on_cycle=self._on_cycle,
        )
        self.batches = iter(self.stream)
        batches = val_batches(ds.val_tokens, cfg.batch_size, cfg.seq_length, max_batches=cfg.eval_batches)
        self.val = [(x.to(self.device), y.to(self.device)) for x, y in batches]

    def _on_cycle(self, *args: Any) -> None:
        # The stream calls this once, at the first pass boundary: one record, never one per cycle.
        self.emit(
            {
                "event": "cycle",
                "step": self.start_step,
                "cycles": int(getattr(self.stream, "cycles", 1)),
                "message": f"[{guards.GATE_EXHAUST}] train shards exhausted after {self.tokens_seen} "
                "tokens; cycling (--allow-shard-cycle)",
                "drive": self.drive,
            }
        )

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA; CPU and MPS run in fp32 exactly as before (no context at all)."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def global_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss of the whole step's batch; data-parallel ranks average theirs (distributed.py)."""
        return loss

    def global_tokens(self, tokens: int) -> int:
        return tokens

    def truncate(self, last_step: int, last_epoch: int) -> None:
        truncate_log(self.run_dir / TRAIN_LOG, last_step=last_step, last_epoch=last_epoch)

    def step(self, step: int, lr: float) -> StepOut:
        with out_of_memory_as_device_error(self.device, f"in training step {step + 1}"):
            return self._step(step, lr)

    def _step(self, step: int, lr: float) -> StepOut:
        x, y = next(self.batches)  # DataExhausted propagates: no placeholder values, ever
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        with self.autocast():
            _, loss = self.train_model(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        synced: list[float] = []

        def guard(pre_clip_norm: torch.Tensor) -> None:  # before the update corrupts the weights
            # One host sync for both scalars the guard needs (two .item() calls would be two).
            synced[:] = torch.stack([self.global_loss(loss).detach().float(), pre_clip_norm.float()]).tolist()
            guards.check_finite(step + 1, *synced)

        # lr = self.schedule(step) (the value `lr` the loop logs), clip, guard, AdamW step.
        optim.update(self.optimizer, self.schedule, step, self.cfg, before_update=guard)
        loss_v, norm_v = synced
        return StepOut(loss_v, norm_v, self.global_tokens(x.numel()))

    @torch.no_grad()
    def evaluate(self, epoch: int, step: int) -> float:
        """Mean per-token loss over the fixed held-out batches (the tail batch weighted by its size)."""
        self.model.eval()
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        count = 0
        for x, y in self.val:
            with self.autocast():
                _, loss = self.model(x, y)
            total += loss.double() * y.numel()
            count += y.numel()
        self.model.train()
        return float(total.item()) / count

    def save(self, epoch: int, meta: dict[str, Any]) -> None:
        meta = dict(meta, stream_state=_jsonable(self.stream.state_dict()), rng_state=rng_state())
        path = checkpoint.save_checkpoint(self.run_dir, epoch, self.model, self.optimizer, meta)
        self.emit({"event": "checkpoint", "epoch": epoch, "path": str(path)}, log=False)

    def resume(self) -> None:
        latest = checkpoint.latest_checkpoint(self.run_dir)
        if latest is None:  # killed before the first checkpoint: start over in the same directory
            self.truncate(last_step=0, last_epoch=-1)
            return
        epoch, meta_path = latest
        meta = checkpoint.load_checkpoint(meta_path, self.model, self.optimizer, device=self.device)
        checkpoint.check_resume_fields(meta, meta_path, ("step", "tokens_seen", "val_loss"))
        try:
            self.stream.load_state_dict(meta["stream_state"])
            set_rng_state(meta["rng_state"])
        except DataError as exc:
            raise DataError(str(exc), path=str(meta_path)) from exc
        except (KeyError, TypeError, ValueError, RuntimeError, OverflowError) as exc:
            raise DataError(
                f"checkpoint metadata holds no usable resume state ({type(exc).__name__}: {exc}); "
                f"delete this epoch's three checkpoint files to resume from the previous epoch",
                path=str(meta_path),
            ) from exc
        self.start_step = meta["step"]  # check_resume_fields: both are integers >= 0
        self.start_epoch = epoch + 1
        self.tokens_seen = meta["tokens_seen"]
        self.val_losses = [
            float(_verified_val_loss(p)) for e, p in checkpoint.list_checkpoints(self.run_dir) if e <= epoch
        ]
        if len(self.val_losses) != epoch + 1:
            raise DataError(
                f"resume needs the metadata of epochs 0..{epoch}, found {len(self.val_losses)}",
                path=str(meta_path.parent),
            )
        self.truncate(last_step=self.start_step, last_epoch=epoch)
        self.emit({"event": "resume", "epoch": epoch, "step": self.start_step}, log=False)
