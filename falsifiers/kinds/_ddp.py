"""Shared helper of the ddp-* kinds: one tiny data-parallel run on CPU (gloo), spawned from the test.

`ddp_run(target, world_size, num_steps, ...)` starts `world_size` processes with torch.multiprocessing
(spawn), each with the rank layout torchrun would give it (RANK, WORLD_SIZE, LOCAL_RANK), and calls
`target(config)` in every one: the same entry the CLI calls under torchrun.

Rendezvous: the ranks meet through a FileStore in a fresh private temp directory (gloo process group,
`init_method="file://…"`), joined before `target` runs (trainer.distributed.join_group uses a group
that is already initialized). No TCP port is chosen up front: a port picked by bind-and-close can be
taken by any other process (another gate, another DDP test) before rank 0 listens on it, and ranks of
two runs that meet on one port cross-talk until gloo aborts (SIGABRT). Gloo's own sockets are bound by
the kernel and held, on the loopback interface. Every rank runs one intra-op and one inter-op thread.

Ranks >= 1 run under an audit hook (sys.addaudithook) that records every attempt to create, write,
rename or remove a path inside the run directory, so "only rank 0 writes" is observed, not inferred.
Each rank reports its exit status and audited writes in a JSON file outside the run directory; its
stderr (C++ messages included) and a faulthandler dump go to rank-N.stderr beside it, and a rank that
dies is reported with the tail of that file.
The run is cached per process and (target, layout): the ddp kinds share it (GROUP "ddp-run").
A run that does not finish within HANG_SECONDS is killed and reported as a hang (a rank left waiting);
a collective that waits longer than COLLECTIVE_TIMEOUT raises inside the rank first.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HANG_SECONDS = 180.0
COLLECTIVE_TIMEOUT = 120.0
STDERR_TAIL = 4000  # characters of a dead rank's stderr shown in the failure
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


def _child(rank: int, world_size: int, store: str, target: str, cfg_json: str, report_dir: str) -> None:
    """One rank (runs in a spawned process)."""
    import faulthandler

    err = open(Path(report_dir) / f"rank-{rank}.stderr", "w", encoding="utf-8")  # noqa: SIM115
    os.dup2(err.fileno(), 2)  # C++ (gloo, c10) writes to fd 2 directly: keep it for the report
    faulthandler.enable(file=err, all_threads=True)  # a fatal signal dumps every thread's stack
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), OMP_NUM_THREADS="1")
    if Path("/sys/class/net/lo").exists():
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo on loopback, not the hostname's address
    import datetime

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"file://{store}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=COLLECTIVE_TIMEOUT),
    )
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
    finally:
        if dist.is_initialized():  # a target that did not leave the group (a defective one)
            dist.destroy_process_group()
    report = {"rank": rank, "exit_code": code, "writes": list(writes)}
    (Path(report_dir) / f"rank-{rank}.json").write_text(json.dumps(report), encoding="utf-8")


def _stderr_tails(report_dir: Path, world_size: int) -> str:
    parts = []
    for rank in range(world_size):
        path = report_dir / f"rank-{rank}.stderr"
        text = path.read_text(encoding="utf-8", errors="replace").strip() if path.is_file() else ""
        if text:
            parts.append(f"--- rank {rank} stderr (tail) ---\n{text[-STDERR_TAIL:]}")
    return "\n".join(parts)


def spawn(target, cfg, world_size: int, report_dir: Path) -> DdpRun:
    """Train `cfg` with `world_size` spawned ranks calling `target(cfg)`; reports go to report_dir."""
    import torch.multiprocessing as mp
    from torch.multiprocessing.spawn import ProcessException

    report_dir.mkdir(parents=True, exist_ok=True)
    for old in [*report_dir.glob("rank-*.json"), *report_dir.glob("rank-*.stderr")]:
        old.unlink()
    rendezvous = Path(tempfile.mkdtemp(prefix="pv-ddp-rendezvous-"))  # private: no other run can meet here
    t0 = time.perf_counter()
    try:
        ctx = mp.start_processes(
            _child,
            args=(world_size, str(rendezvous / "store"), target_path(target), cfg.to_json(), str(report_dir)),
            nprocs=world_size,
            join=False,
            start_method="spawn",
        )
        deadline = time.monotonic() + HANG_SECONDS
        try:
            while not ctx.join(timeout=1.0):
                if time.monotonic() > deadline:
                    for p in ctx.processes:
                        p.kill()
                    raise AssertionError(
                        f"{world_size} ranks still running after {HANG_SECONDS:.0f} s: one hangs\n"
                        + _stderr_tails(report_dir, world_size)
                    )
        except ProcessException as exc:
            raise AssertionError(f"{exc}\n{_stderr_tails(report_dir, world_size)}") from exc
    finally:
        shutil.rmtree(rendezvous, ignore_errors=True)
    wall = time.perf_counter() - t0
    got = {}
    for rank in range(world_size):
        path = report_dir / f"rank-{rank}.json"
        assert path.is_file(), f"rank {rank} exited without reporting (crashed?)\n" + _stderr_tails(
            report_dir, world_size
        )
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
