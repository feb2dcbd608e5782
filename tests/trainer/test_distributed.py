"""Data-parallel training (trainer/distributed.py) and the falsifiers of contracts/distributed-training.yaml.

Cheap tests run in-process. The multi-process ones spawn 2 gloo ranks (falsifiers.kinds._ddp.spawn),
~10 s each on the shared 2-core box, and are marked slow. The `run_ddp_*` functions below are
deliberately defective entries: a spawned rank imports them by name (spawn hands the children this
process's sys.path) and each patches one thing in its own process only, so the falsifiers can be
shown to fail on the defect they name.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from ruamel.yaml import YAML

from falsifiers.kinds import _ddp, ddp_disjoint, ddp_equivalence, ddp_single_writer
from falsifiers.runtime import tiny_config
from trainer import distributed
from trainer.cli import main
from trainer.data import TokenStream
from trainer.distributed import DistEnv, ShardedStream, detect, per_rank_batch, rank_slice, run_ddp
from trainer.errors import PreflightError
from trainer.runlog import RunLog

torch.set_num_threads(1)

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "distributed-training.yaml"
K = YAML(typ="safe").load(CONTRACT.read_text(encoding="utf-8"))["constants"]
RUN = {
    "steps": K["equivalence_steps"],
    "steps_per_epoch": K["steps_per_epoch"],
    "batch_size": K["global_batch"],
}


# ── defective entries (run inside spawned ranks only) ─────────────────────────────────────────────────


def run_ddp_no_allreduce(cfg):
    """Gradients not all-reduced: DDP replaced by the bare module."""
    import torch.nn.parallel

    torch.nn.parallel.DistributedDataParallel = lambda module, **kw: module
    return run_ddp(cfg)


def run_ddp_every_rank_writes(cfg):
    """Every rank logs, checkpoints and writes result.json once rank 0 has set up the run dir.

    The flip happens at the start of the epochs, after the run-dir setup that only rank 0 does: flipped
    earlier (in build), both ranks raced through prepare_run_dir and rank 1 was refused ("already
    holds a run") before it wrote anything, so the test failed on a different assertion.
    """
    epochs = distributed.DistributedRealLoop._epochs

    def every_rank_epochs(self, t0):
        if not self.is_writer:
            self.is_writer = True
            self.log = RunLog(self.run_dir / "train.jsonl")
        return epochs(self, t0)

    distributed.DistributedRealLoop._epochs = every_rank_epochs
    return run_ddp(cfg)


def run_ddp_nan_on_rank1(cfg):
    """Rank 1's loss turns NaN from its second training forward on; rank 0 stays finite."""
    if os.environ.get("RANK") == "1":
        from trainer import model

        forward, calls = model.Transformer.forward, []

        def nan_forward(self, idx, targets=None):
            logits, loss = forward(self, idx, targets)
            if self.training and loss is not None:
                calls.append(1)
                if len(calls) >= 2:
                    loss = loss * float("nan")
            return logits, loss

        model.Transformer.forward = nan_forward
    return run_ddp(cfg)


# ── launcher environment, batch split, stream slicing (in-process) ────────────────────────────────────


def test_detect_reads_the_torchrun_environment() -> None:
    assert detect({}) is None
    assert detect({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == DistEnv(1, 2, 1)
    with pytest.raises(PreflightError, match="WORLD_SIZE, LOCAL_RANK not"):
        detect({"RANK": "0"})
    with pytest.raises(PreflightError, match="inconsistent"):
        detect({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    with pytest.raises(PreflightError, match="integers"):
        detect({"RANK": "a", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


def test_global_batch_must_split_evenly() -> None:
    assert per_rank_batch(8, 2) == 4
    with pytest.raises(PreflightError, match=r"GLOBAL batch.*divisible by the world size 3"):
        per_rank_batch(8, 3)


def _argv(tmp_path: Path) -> list[str]:
    d = str(tmp_path)
    return ["pretrain", "--dataset", d, "--tokenizer", d, "--run-dir", str(tmp_path / "r")]


def test_indivisible_batch_under_torchrun_is_a_usage_error(tmp_path: Path) -> None:
    env = {"RANK": "0", "WORLD_SIZE": "3", "LOCAL_RANK": "0"}
    argv = [
        "pretrain",
        "--dataset",
        str(tmp_path),
        "--tokenizer",
        str(tmp_path),
        "--run-dir",
        str(tmp_path / "r"),
    ]
    res = CliRunner().invoke(main, [*argv, "--batch-size", "8"], env=env)
    assert res.exit_code == 2, res.output
    assert "divisible by the world size 3" in res.output
    assert not (tmp_path / "r").exists()


def test_partial_launcher_environment_is_refused(tmp_path: Path) -> None:
    argv = [
        "pretrain",
        "--dataset",
        str(tmp_path),
        "--tokenizer",
        str(tmp_path),
        "--run-dir",
        str(tmp_path / "r"),
    ]
    res = CliRunner().invoke(main, argv, env={"RANK": "0", "WORLD_SIZE": None, "LOCAL_RANK": None})
    assert res.exit_code == 7, res.output
    assert "partial launcher environment" in res.output


def test_rank_slices_are_the_contiguous_parts_of_the_global_batch() -> None:
    batch = torch.arange(12).reshape(6, 2)
    parts = [rank_slice(batch, r, 3) for r in range(3)]
    assert torch.equal(torch.cat(parts), batch)
    assert torch.equal(parts[1], batch[2:4])


def test_sharded_stream_state_is_the_single_process_state() -> None:
    tokens = torch.arange(2000)
    inner = TokenStream(tokens, 4, 8, seed=3, allow_cycle=True)
    ref = TokenStream(tokens, 4, 8, seed=3, allow_cycle=True)
    sharded = ShardedStream(inner, 1, 2)
    for _ in range(5):
        x, _ = next(sharded)
        assert torch.equal(x, next(ref)[0][2:4])
    assert sharded.state_dict() == ref.state_dict()
    with pytest.raises(PreflightError):
        ShardedStream(TokenStream(tokens, 3, 8, seed=0, allow_cycle=False), 0, 2)


def test_disjoint_falsifier_passes_on_the_real_slicing() -> None:
    for layout in [(2, 2, 4, 0, 0), (3, 1, 2, 5, 7), (4, 3, 5, 11, 1), (1, 2, 3, 4, 5)]:
        ddp_disjoint.check(ShardedStream, layout)


def test_disjoint_falsifier_fails_when_every_rank_reads_the_same_slice(monkeypatch) -> None:
    monkeypatch.setattr(
        distributed, "rank_slice", lambda batch, rank, world: batch[: batch.shape[0] // world]
    )
    with pytest.raises(AssertionError, match="read by ranks 0 and 1"):
        ddp_disjoint.check(ShardedStream, (2, 2, 4, 0, 0))


def test_disjoint_falsifier_fails_on_per_rank_strided_windows() -> None:
    """TokenStream's own rank/world_size mode (every world_size-th window) is disjoint but is not the
    single-process batch split: the falsifier says so (this is why ShardedStream exists)."""

    class Strided:
        def __init__(self, inner, rank, world):
            self.inner = TokenStream(inner.tokens, inner.batch_size // world, inner.seq_len, seed=inner.seed,
                                     allow_cycle=False, rank=rank, world_size=world)  # fmt: skip

        def __next__(self):
            return next(self.inner)

        def state_dict(self):
            return self.inner.state_dict()

    with pytest.raises(AssertionError, match="not the single-process batch"):
        ddp_disjoint.check(Strided, (2, 2, 4, 0, 0))


def test_join_group_uses_an_initialized_group_only_if_it_is_the_launchers(tmp_path: Path) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        distributed.join_group(DistEnv(0, 1, 0), "gloo")  # the same layout: used as it is
        assert dist.get_world_size() == 1
        with pytest.raises(PreflightError, match=r"rank 0 of 1, the environment says RANK=1 WORLD_SIZE=2"):
            distributed.join_group(DistEnv(1, 2, 1), "gloo")
    finally:
        dist.destroy_process_group()


def test_spawned_ranks_meet_in_a_private_file_store_not_on_a_port(tmp_path: Path, monkeypatch) -> None:
    """No TCP port is chosen and handed on (bind-and-close races with every other process on the
    machine); each spawn gets a fresh rendezvous folder that no other run can share."""
    import torch.multiprocessing as mp

    seen = []

    def fake_start_processes(fn, args, nprocs, join, start_method):
        seen.append(args[1])
        assert Path(args[1]).parent.is_dir() and not Path(args[1]).exists()
        raise RuntimeError("stop here")  # only the arguments matter

    monkeypatch.setattr(mp, "start_processes", fake_start_processes)
    cfg = tiny_config(tmp_path / "run")
    for i in range(2):
        with pytest.raises(RuntimeError, match="stop here"):
            _ddp.spawn(run_ddp, cfg, 2, tmp_path / f"reports-{i}")
    assert len(set(seen)) == 2 and all(not Path(s).parent.exists() for s in seen)  # removed afterwards
    assert not hasattr(_ddp, "_free_port")


# ── 2 gloo ranks (spawned) ────────────────────────────────────────────────────────────────────────────


@pytest.mark.slow
@pytest.mark.xdist_group("ddp-run")
def test_equivalence_falsifier_fails_without_gradient_allreduce() -> None:
    with pytest.raises(AssertionError, match=r"step 1: grad_norm .*tolerance"):
        ddp_equivalence.check(run_ddp_no_allreduce, tolerance=K["equivalence_tolerance"], **RUN)


@pytest.mark.slow
@pytest.mark.xdist_group("ddp-run")
def test_single_writer_falsifier_fails_when_every_rank_writes() -> None:
    with pytest.raises(AssertionError, match="rank 1 wrote into the run directory"):
        ddp_single_writer.check(run_ddp_every_rank_writes, **RUN)


@pytest.mark.slow
@pytest.mark.xdist_group("ddp-run")
def test_nan_on_one_rank_stops_every_rank_with_the_same_status() -> None:
    root = _ddp.reference_run(**ddp_equivalence.knobs(**RUN)).parent / "ddp-nan"
    cfg = tiny_config(root / "run", **ddp_equivalence.knobs(**RUN))
    run = _ddp.spawn(run_ddp_nan_on_rank1, cfg, 2, root / "reports")  # raises if a rank hangs
    assert run.exit_codes == (6, 6), f"NONFINITE (6) on every rank, got {run.exit_codes}"
    recs = _ddp.records(run.run_dir)
    assert [r["step"] for r in recs if "event" not in r] == [1], "the NaN step (2) must not be logged"
    result = json.loads((run.run_dir / "result.json").read_text(encoding="utf-8"))
    assert result["status"] == "NONFINITE"
    assert run.writes == {1: []}


@pytest.mark.slow
@pytest.mark.xdist_group("ddp-run")
def test_resume_with_another_world_size_continues_the_run() -> None:
    """A 1-process run's epoch-0 checkpoint, resumed by 2 ranks, continues exactly as the 1-process run."""
    knobs = ddp_equivalence.knobs(**RUN)
    ref_dir = _ddp.reference_run(**knobs)
    root = ref_dir.parent / "ddp-resume"
    shutil.copytree(ref_dir, root / "run")
    for late in (root / "run" / "ckpt").glob("epoch-001.*"):
        late.unlink()  # as if the 1-process run died during epoch 1
    cfg = tiny_config(root / "run", resume=True, **knobs)
    (root / "run" / "config.json").write_text(cfg.replace(resume=False).to_json())  # the dir moved
    run = _ddp.spawn(run_ddp, cfg, 2, root / "reports")
    ref = _ddp.records(ref_dir)
    assert run.exit_codes == (json.loads((ref_dir / "result.json").read_text())["exit_code"],) * 2
    worst = ddp_equivalence.compare(ref, _ddp.records(run.run_dir), RUN["steps"], K["equivalence_tolerance"])
    assert worst <= K["equivalence_tolerance"]
    assert sorted(p.name for p in (root / "run" / "ckpt").glob("*.metadata.json")) == [
        "epoch-000.metadata.json",
        "epoch-001.metadata.json",
    ]
