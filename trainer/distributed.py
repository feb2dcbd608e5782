"""Data-parallel pretraining on torch.distributed: `torchrun --nproc_per_node=N -m trainer pretrain …`.

The launcher is detected from RANK / WORLD_SIZE / LOCAL_RANK (what torchrun sets). Design, in short
(docs/distributed.md has the long form):
  - `--batch-size` stays the GLOBAL batch B; each rank trains on B / world_size rows.
  - Every rank draws the same global batch from the same single-process TokenStream and keeps its
    contiguous slice (`ShardedStream`), so rank r holds exactly the r-th part of the batch a
    1-process run would use, no window is read by two ranks, and the stream state saved in a
    checkpoint is the single-process one: a run resumes with any world size that divides B.
  - Gradients are averaged by DistributedDataParallel; the logged train loss is the mean of the
    ranks' means (equal-size slices ⇒ the global batch mean). Loss and grad norm are all-reduced
    before the finite guard, so every rank takes the same stop decision in the same step.
  - Rank 0 alone evaluates (broadcasting the val loss), logs, checkpoints and writes result.json.
    Phases that can fail on one rank only (preflights, run-dir setup, resume, checkpoint) run under
    `agree`, which turns a failure on any rank into the same error status on every rank.
A world size of 1 (or no launcher) takes the unchanged single-process path.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from trainer import guards
from trainer.config import TrainConfig
from trainer.errors import DeviceError, PreflightError, TrainerError
from trainer.loop import Events, RunResult, _load_inputs, check_run_dir_location, prepare_run_dir
from trainer.loop import run as run_single
from trainer.real import RealLoop
from trainer.runlog import TRAIN_LOG, RunLog
from trainer.status import RunStatus

T = TypeVar("T")
ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
GATE_DDP_ENV = "GATE-DDP-LAUNCH"
GATE_CONFIG = "GATE-TRAIN-CONFIG"  # the CLI turns this gate into a usage error (exit 2)


@dataclass(frozen=True)
class DistEnv:
    rank: int
    world_size: int
    local_rank: int

    @property
    def is_writer(self) -> bool:
        return self.rank == 0


def detect(environ: Mapping[str, str] | None = None) -> DistEnv | None:
    """The launcher's rank layout from the environment; None when no launcher set it."""
    environ = os.environ if environ is None else environ
    present = [k for k in ENV_KEYS if k in environ]
    if not present:
        return None
    missing = [k for k in ENV_KEYS if k not in environ]
    if missing:
        raise PreflightError(
            f"[{GATE_DDP_ENV}] {', '.join(present)} set but {', '.join(missing)} not: a partial launcher "
            f"environment. Launch with `torchrun --nproc_per_node=N -m trainer pretrain …`, or unset "
            f"{', '.join(present)} for a single-process run.",
            gate=GATE_DDP_ENV,
        )
    try:
        rank, world, local = (int(environ[k]) for k in ENV_KEYS)
    except ValueError as exc:
        raise PreflightError(
            f"[{GATE_DDP_ENV}] RANK/WORLD_SIZE/LOCAL_RANK must be integers ({exc})", gate=GATE_DDP_ENV
        ) from exc
    if world < 1 or not 0 <= rank < world or local < 0:
        raise PreflightError(
            f"[{GATE_DDP_ENV}] inconsistent launcher environment: RANK={rank}, WORLD_SIZE={world}, "
            f"LOCAL_RANK={local} (need 0 <= RANK < WORLD_SIZE, LOCAL_RANK >= 0)",
            gate=GATE_DDP_ENV,
        )
    return DistEnv(rank, world, local)


def per_rank_batch(batch_size: int, world_size: int) -> int:
    """B / world_size; refuses a global batch that does not split into equal slices."""
    if batch_size % world_size:
        raise PreflightError(
            f"--batch-size {batch_size} is the GLOBAL batch and must be divisible by the world size "
            f"{world_size} (each rank trains on batch_size / world_size rows); use a multiple of "
            f"{world_size}, e.g. {batch_size + world_size - batch_size % world_size}",
            gate=GATE_CONFIG,
        )
    return batch_size // world_size


def rank_slice(batch: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank r's contiguous r-th part of a global batch (rows r·b … (r+1)·b - 1, b = B / world_size)."""
    b = batch.shape[0] // world_size
    return batch[rank * b : (rank + 1) * b]


class ShardedStream:
    """A global TokenStream (world_size 1 semantics) of which this rank keeps its `rank_slice`.

    Every rank advances the same global stream, so state_dict() is world-size independent and the
    union of the ranks' slices of one step is exactly the single-process batch of that step.
    """

    def __init__(self, inner: Any, rank: int, world_size: int) -> None:
        per_rank_batch(inner.batch_size, world_size)
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, world_size={world_size})")
        self.inner, self.rank, self.world_size = inner, rank, world_size

    @property
    def cycles(self) -> int:
        return self.inner.cycles

    def tokens_available(self) -> int:
        return self.inner.tokens_available()

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = next(self.inner)
        return rank_slice(x, self.rank, self.world_size), rank_slice(y, self.rank, self.world_size)

    def state_dict(self) -> dict[str, int]:
        return self.inner.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.inner.load_state_dict(state)


class PeerStopped(TrainerError):
    """Another rank failed in a collective phase; this rank stops with that rank's status."""

    def __init__(self, rank: int, status: RunStatus, message: str) -> None:
        super().__init__(f"rank {rank} stopped the run: {message}")
        self.status = status


def agree(env: DistEnv, fn: Callable[[], T]) -> T:
    """Run `fn` on this rank, then agree: if it raised on any rank, every rank raises (same status).

    Without this, an error on one rank (a checkpoint write on rank 0, a preflight) would leave the
    others blocked in their next collective until the timeout.
    """
    error: BaseException | None = None
    result: Any = None
    try:
        result = fn()
    except Exception as exc:
        error = exc
    mine = None
    if error is not None:
        status = error.status if isinstance(error, TrainerError) else RunStatus.DATA_ERROR
        mine = (status.name, str(error) or type(error).__name__)
    outcomes: list[Any] = [None] * env.world_size
    dist.all_gather_object(outcomes, mine)
    if error is not None:
        raise error
    for rank, outcome in enumerate(outcomes):
        if outcome is not None:
            raise PeerStopped(rank, RunStatus[outcome[0]], outcome[1])
    return result


class DistributedRealLoop(RealLoop):
    """RealLoop on one rank of a data-parallel group (see the module docstring for the protocol)."""

    def __init__(self, cfg: TrainConfig, events: Events | None, env: DistEnv) -> None:
        super().__init__(cfg, events if env.is_writer else None)
        self.env = env
        self.is_writer = env.is_writer
        if self.device.type == "cuda":  # one GPU per local rank
            self.device = torch.device("cuda", env.local_rank)
            torch.cuda.set_device(self.device)

    def build(self, tok: Any, ds: Any, vocab: int) -> None:
        from torch.nn.parallel import DistributedDataParallel

        super().build(tok, ds, vocab)
        self.stream = ShardedStream(self.stream, self.env.rank, self.env.world_size)
        self.batches = iter(self.stream)
        ids = [self.device.index] if self.device.type == "cuda" else None
        # Buffers (the RoPE tables) are constants: no per-step broadcast needed.
        no_sync = "forward_sync_buffers" if _ddp_accepts("forward_sync_buffers") else "broadcast_buffers"
        ddp = DistributedDataParallel(self.model, device_ids=ids, **{no_sync: False})
        self.train_model = torch.compile(ddp) if self.cfg.compile else ddp

    def global_loss(self, loss: torch.Tensor) -> torch.Tensor:
        total = loss.detach().float().clone()
        dist.all_reduce(total)  # SUM (gloo has no AVG); equal slices ⇒ the mean is the batch mean
        return total / self.env.world_size

    def global_tokens(self, tokens: int) -> int:
        return tokens * self.env.world_size

    def evaluate(self, epoch: int, step: int) -> float:
        value = torch.zeros((), dtype=torch.float64, device=self.device)
        if self.env.is_writer:  # the held-out set is the same everywhere: evaluate once, share it
            value.fill_(super().evaluate(epoch, step))
        dist.broadcast(value, src=0)
        return float(value.item())

    def save(self, epoch: int, meta: dict[str, Any]) -> None:
        write = super().save
        agree(self.env, lambda: write(epoch, meta) if self.is_writer else None)

    def truncate(self, last_step: int, last_epoch: int) -> None:
        if self.is_writer:
            super().truncate(last_step, last_epoch)

    def emit(self, record: dict[str, Any], *, log: bool = True) -> None:
        if self.is_writer:
            super().emit(record, log=log)

    def run(self, prepare: Callable[[], None]) -> RunResult:
        t0 = time.perf_counter()
        with self.interrupts_as_errors():
            check_run_dir_location(self.cfg)  # the same verdict on every rank: no agree needed
            agree(self.env, prepare)
            agree(self.env, lambda: prepare_run_dir(self.cfg) if self.is_writer else None)
        return self.train(t0)

    def resume_phase(self) -> None:
        agree(self.env, self.resume)

    def open_log(self) -> contextlib.AbstractContextManager:
        return RunLog(self.run_dir / TRAIN_LOG) if self.is_writer else contextlib.nullcontext()


def _ddp_accepts(name: str) -> bool:
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    return name in inspect.signature(DistributedDataParallel.__init__).parameters


def finish(*, sync: bool = True) -> None:
    """Leave the process group. `sync` first waits for every rank, so that no rank exits (and makes
    torchrun stop the others) while rank 0 still writes or prints; skip it after an unexpected error,
    when a peer may be blocked in another collective."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if sync:
        with contextlib.suppress(RuntimeError):  # a peer that died already: nothing left to wait for
            dist.barrier()
    dist.destroy_process_group()


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def join_group(env: DistEnv, backend: str) -> None:
    """Join the launcher's process group (env://: MASTER_ADDR/MASTER_PORT from torchrun).

    A group the caller initialized already is used as it is, after checking it is the launcher's
    layout: a harness that spawns ranks itself can rendezvous through a private file
    (`init_method="file://…"`, falsifiers/kinds/_ddp.py) instead of a TCP port that another
    process may take between its choice and its use.
    """
    if dist.is_initialized():
        if (dist.get_rank(), dist.get_world_size()) != (env.rank, env.world_size):
            raise PreflightError(
                f"[{GATE_DDP_ENV}] the initialized process group is rank {dist.get_rank()} of "
                f"{dist.get_world_size()}, the environment says RANK={env.rank} WORLD_SIZE={env.world_size}",
                gate=GATE_DDP_ENV,
            )
        return
    try:
        dist.init_process_group(backend, rank=env.rank, world_size=env.world_size)
    except (ValueError, RuntimeError) as exc:
        raise PreflightError(
            f"[{GATE_DDP_ENV}] cannot join the process group ({exc}); launch with torchrun, which sets "
            f"MASTER_ADDR and MASTER_PORT",
            gate=GATE_DDP_ENV,
        ) from exc


def run_ddp(
    cfg: TrainConfig, *, events: Events | None = None, env: DistEnv | None = None, leave: bool = True
) -> RunResult:
    """Run `cfg` on this rank of the launcher's group; single-process when there is no group (or 1 rank).

    `leave=False` keeps the group joined so the caller can finish its output first and then call
    `finish()` (the CLI does, so rank 0's summary is printed before any rank exits).
    """
    env = env if env is not None else detect()
    if env is None or env.world_size == 1:
        return run_single(cfg, events=events)
    if cfg.synthetic:
        raise PreflightError(
            "--synthetic is a single-process harness drive (no gradients to all-reduce); run it without "
            "torchrun",
            gate=GATE_DDP_ENV,
        )
    per_rank_batch(cfg.batch_size, env.world_size)
    device = guards.resolve_device(cfg.device)  # a DeviceError is the same on every rank
    if device.type == "cuda" and env.local_rank >= torch.cuda.device_count():
        raise DeviceError(
            f"[{guards.GATE_DEVICE}] LOCAL_RANK {env.local_rank} needs GPU {env.local_rank} but only "
            f"{torch.cuda.device_count()} are visible; use --nproc_per_node <= the GPU count"
        )
    join_group(env, backend_for(device))
    loop = DistributedRealLoop(cfg, events, env)
    try:
        result = loop.run(lambda: loop.build(*_load_inputs(cfg)))
    except TrainerError:
        if leave:
            finish()
        raise
    except BaseException:
        if leave:
            finish(sync=False)
        raise
    if leave:
        finish()
    return result
