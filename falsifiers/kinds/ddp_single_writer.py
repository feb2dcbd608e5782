"""ddp-single-writer: in a data-parallel run only rank 0 writes, once, and every rank exits alike.

Target: the entry every rank calls (trainer.distributed:run_ddp). Uses the shared tiny N-rank run
(falsifiers.kinds._ddp). Checks: ranks >= 1 attempted no write, rename or removal inside the run
directory (audit hook, not a guess from the final contents); train.jsonl holds exactly one record per
step 1..num_steps and one epoch record per epoch; ckpt/ holds exactly the three files of each epoch and
nothing else (no second set, no temp file); the run dir holds only config.json, train.jsonl,
result.json and ckpt/; every rank exited with the same status, the one result.json states.
"""

from __future__ import annotations

import json
import sys

NAME = "ddp-single-writer"
SUMMARY = "N-rank run: ranks >= 1 write nothing; one log line per step, one checkpoint set per epoch"
PARAMS = {
    "world_size": "number of ranks (default 2)",
    "steps": "the run's num_steps",
    "steps_per_epoch": "epoch length of the run (default steps // 2)",
    "batch_size": "the GLOBAL batch B (divisible by world_size)",
}
REQUIRED_PARAMS = ("steps", "batch_size")
ARGS: tuple[str, ...] = ()
GROUP = "ddp-run"
TOP_LEVEL = {"config.json", "train.jsonl", "result.json", "ckpt"}
CKPT_SUFFIXES = (".safetensors", ".optim.safetensors", ".metadata.json")


def check_run(run) -> None:
    __tracebackhide__ = True
    from falsifiers.kinds._ddp import records

    for rank, writes in run.writes.items():
        assert not writes, f"rank {rank} wrote into the run directory ({len(writes)} attempts): {writes[:4]}"
    cfg = run.config
    recs = records(run.run_dir)
    steps = [r["step"] for r in recs if "event" not in r]
    assert steps == list(range(1, cfg.num_steps + 1)), (
        f"want one record per step 1..{cfg.num_steps}, train.jsonl has steps {steps}"
    )
    epochs = [r["epoch"] for r in recs if r.get("event") == "epoch"]
    assert epochs == list(range(cfg.num_epochs)), f"want epoch records 0..{cfg.num_epochs - 1}, got {epochs}"
    top = {p.name for p in run.run_dir.iterdir()}
    assert top == TOP_LEVEL, f"run dir holds {sorted(top)}, want exactly {sorted(TOP_LEVEL)}"
    want = {f"epoch-{e:03d}{s}" for e in range(cfg.num_epochs) for s in CKPT_SUFFIXES}
    have = {p.name for p in (run.run_dir / "ckpt").iterdir()}
    assert have == want, f"ckpt/ extra {sorted(have - want)}, missing {sorted(want - have)}"
    result = json.loads((run.run_dir / "result.json").read_text(encoding="utf-8"))
    assert set(run.exit_codes) == {result["exit_code"]}, (
        f"exit status per rank {run.exit_codes}, result.json says {result['exit_code']} ({result['status']})"
    )


def check(target, steps, batch_size, world_size=2, steps_per_epoch=None):
    __tracebackhide__ = True
    from falsifiers.kinds._ddp import ddp_run
    from falsifiers.kinds.ddp_equivalence import knobs

    check_run(ddp_run(target, world_size, **knobs(steps, batch_size, steps_per_epoch)))


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
