"""The real drive: model, AdamW, token stream, held-out evaluation and checkpoints (see loop.py)."""

from __future__ import annotations

import base64
import contextlib
import random
from typing import Any

import numpy as np
import torch

from trainer import checkpoint, guards, optim
from trainer.errors import DataError
from trainer.loop import Events, StepOut, _Loop, seed_everything
from trainer.model import build_model
from trainer.runlog import TRAIN_LOG, truncate_log


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


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.frombuffer(bytearray(base64.b64decode(state["torch"])), dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(
            [torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8) for s in state["cuda"]]
        )


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
        x, y = next(self.batches)  # DataExhausted propagates: no placeholder values, ever
        x = x.to(self.device, non_blocking=True)
        y = y.to(self.device, non_blocking=True)
        with self.autocast():
            _, loss = self.train_model(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        loss_v = float(self.global_loss(loss).item())

        def guard(pre_clip_norm: torch.Tensor) -> None:  # before the update corrupts the weights
            guards.check_finite(step + 1, loss_v, float(pre_clip_norm.item()))

        # lr = self.schedule(step) (the value `lr` the loop logs), clip, guard, AdamW step.
        norm = optim.update(self.optimizer, self.schedule, step, self.cfg, before_update=guard)
        return StepOut(loss_v, float(norm.item()), self.global_tokens(x.numel()))

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
        try:
            self.stream.load_state_dict(meta["stream_state"])
            set_rng_state(meta["rng_state"])
            self.start_step = int(meta["step"])
            self.start_epoch = epoch + 1
            self.tokens_seen = int(meta["tokens_seen"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"checkpoint metadata lacks resume state ({exc})", path=str(meta_path)) from exc
        self.val_losses = [
            float(checkpoint.read_metadata(p)["val_loss"])
            for e, p in checkpoint.list_checkpoints(self.run_dir)
            if e <= epoch
        ]
        if len(self.val_losses) != epoch + 1:
            raise DataError(
                f"resume needs the metadata of epochs 0..{epoch}, found {len(self.val_losses)}",
                path=str(meta_path.parent),
            )
        self.truncate(last_step=self.start_step, last_epoch=epoch)
        self.emit({"event": "resume", "epoch": epoch, "step": self.start_step}, log=False)
