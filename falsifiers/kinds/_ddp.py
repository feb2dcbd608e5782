"""Shared helper of the ddp-* kinds: one tiny data-parallel run on CPU (gloo), spawned from the test.

`ddp_run(target, world_size, num_steps, ...)` starts `world_size` processes with torch.multiprocessing
(spawn), each with the environment torchrun would give it (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT), and calls `target(config)` in every one: the same entry the CLI calls under torchrun.
Ranks >= 1 run under an audit hook (sys.addaudithook) that records every attempt to create, write,
rename or remove a path inside the run directory, so "only rank 0 writes" is observed, not inferred.
Each rank reports its exit status and audited writes in a JSON file outside the run directory.
The run is cached per process and (target, layout): the ddp kinds share it (GROUP "ddp-run").
A run that does not finish within HANG_SECONDS is killed and reported as a hang (a rank left waiting).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HANG_SECONDS = 180.0
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_MUTATING_EVENTS = ("os.rename", "os.remove", "os.mkdir", "os.rmdir", "os.truncate", "shutil.rmtree")


@dataclass(frozen=True)
class DdpRun:
    run_dir: Path
    config: object  # trainer.config.TrainConfig of the run (global batch)
    world_size: int
    exit_codes: tuple[int, ...]  # per rank
    writes: dict[int, list[str]]  # rank >= 1 → audited write attempts inside run_dir
    wall_seconds: float


def target_path(target) -> str:
    return f"{target.__module__}:{target.__qualname__}"


def _import(path: str):
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _audit_writes(run_dir: str, sink: list[str]):
    prefix = os.path.abspath(run_dir) + os.sep

    def inside(path) -> bool:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return isinstance(path, str) and (os.path.abspath(path) + os.sep).startswith(prefix)

    def hook(event: str, args: tuple) -> None:
        if event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
            if writing and inside(path):
                sink.append(f"open({path}, {mode or flags})")
        elif event in _MUTATING_EVENTS and args and any(inside(a) for a in args[:2]):
            sink.append(f"{event}({', '.join(map(str, args[:2]))})")

    return hook


def _child(rank: int, world_size: int, port: int, target: str, cfg_json: str, report_dir: str) -> None:
    """One rank (runs in a spawned process)."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    import torch

    torch.set_num_threads(1)
    config = importlib.import_module("trainer.config")
    errors = importlib.import_module("trainer.errors")
    cfg = config.TrainConfig.from_json(cfg_json)
    writes: list[str] = []
    if rank > 0:
        sys.addaudithook(_audit_writes(cfg.run_dir, writes))
    try:
        code = _import(target)(cfg).status.exit_code
    except errors.TrainerError as exc:
        code = exc.status.exit_code
    report = {"rank": rank, "exit_code": code, "writes": list(writes)}
    (Path(report_dir) / f"rank-{rank}.json").write_text(json.dumps(report), encoding="utf-8")


def spawn(target, cfg, world_size: int, report_dir: Path) -> DdpRun:
    """Train `cfg` with `world_size` spawned ranks calling `target(cfg)`; reports go to report_dir."""
    import torch.multiprocessing as mp

    report_dir.mkdir(parents=True, exist_ok=True)
    for old in report_dir.glob("rank-*.json"):
        old.unlink()
    t0 = time.perf_counter()
    ctx = mp.start_processes(
        _child,
        args=(world_size, _free_port(), target_path(target), cfg.to_json(), str(report_dir)),
        nprocs=world_size,
        join=False,
        start_method="spawn",
    )
    deadline = time.monotonic() + HANG_SECONDS
    while not ctx.join(timeout=1.0):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            raise AssertionError(f"{world_size} ranks still running after {HANG_SECONDS:.0f} s: one hangs")
    wall = time.perf_counter() - t0
    got = {}
    for rank in range(world_size):
        path = report_dir / f"rank-{rank}.json"
        assert path.is_file(), f"rank {rank} exited without reporting (crashed?)"
        got[rank] = json.loads(path.read_text(encoding="utf-8"))
    return DdpRun(
        run_dir=Path(cfg.run_dir),
        config=cfg,
        world_size=world_size,
        exit_codes=tuple(got[r]["exit_code"] for r in range(world_size)),
        writes={r: got[r]["writes"] for r in range(1, world_size)},
        wall_seconds=wall,
    )


_RUNS: dict = {}


def ddp_run(target, world_size: int = 2, **knobs) -> DdpRun:
    """The tiny config (falsifiers.runtime.tiny_config + knobs) trained by `world_size` ranks; cached."""
    from falsifiers.runtime import tiny_config, tiny_tokenizer_dir

    key = (target_path(target), world_size, tuple(sorted(knobs.items())))
    if key not in _RUNS:
        root = tiny_tokenizer_dir().parent / f"ddp-{len(_RUNS)}"
        _RUNS[key] = spawn(target, tiny_config(root / "run", **knobs), world_size, root / "reports")
    return _RUNS[key]


_REFERENCE: dict = {}


def reference_run(**knobs) -> Path:
    """The same tiny config in ONE process with the same global batch (trainer.loop:run, no launcher)."""
    from falsifiers.runtime import resolve, tiny_config, tiny_tokenizer_dir

    key = tuple(sorted(knobs.items()))
    if key not in _REFERENCE:
        run_dir = tiny_tokenizer_dir().parent / f"ddp-reference-{len(_REFERENCE)}"
        errors = resolve("trainer.errors")
        with contextlib.suppress(errors.TrainerError):  # a guard stop still leaves records to compare
            resolve("trainer.loop:run")(tiny_config(run_dir, **knobs))
        _REFERENCE[key] = run_dir
    return _REFERENCE[key]


def records(run_dir: Path) -> list[dict]:
    lines = (Path(run_dir) / "train.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(ln) for ln in lines if ln.strip()]
