"""Throughput of `trainer pretrain` (drive_real, every guard and the per-step log on) vs bare torch loops.

Three sides, same data (one seeded token stream each), batch shape, threads, AdamW settings and lr
schedule:
  trainer    `trainer.loop.run`: preflights, id checks, finite guard, one JSON record per step.
  gpt2       a bare loop over a minimal GPT-2 of the same parameter count (bench/gpt2_ref.py): the
             reference of issue 12. Goal: trainer tokens/s >= 1.05 x gpt2.
  same-model a bare loop over our own Transformer: what the loop's guards and logging cost.
Interleaved step by step, so that the three see the same machine: the trainer runs, and its events hook
(called after each step record is written) runs one step of each bare loop (alternating their order)
and times it. A trainer step is the time between two hook calls less the time spent inside the hook:
its data fetch, forward, backward, clip, guards, log line and events are all in it. Each side's
tokens/s comes from its median step time, by the wall clock and by this process's CPU clock (another
process on a shared box moves the first, barely the second; with --threads 1 no idle OpenMP thread spins
into it either). On CPU the goal is judged on the CPU clock, on CUDA on the wall clock (each step
synchronised). Repeats are separate runs; the report gives each one's ratios and their median/min/max.

    .venv/bin/python bench/bench_trainer.py --steps 40 --repeat 3 --threads 1 --model tiny
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from gpt2_ref import BareLoop, count_parameters, gpt2_config_like, make_gpt2
from trainer_work import stdlib_dataset

from trainer.config import TrainConfig
from trainer.data import TokenStream, load_dataset
from trainer.guards import resolve_device
from trainer.loop import run, seed_everything
from trainer.model import Transformer, model_config

GOAL = 1.05  # trainer tokens/s over the bare GPT-2 loop's


Clock = tuple[float, float]  # (wall, cpu)


def now() -> Clock:
    return time.perf_counter(), time.process_time()


class Interleaved:
    """The trainer's events hook: after each trainer step, one timed step of every bare loop."""

    def __init__(self, sides: dict[str, BareLoop], device: torch.device) -> None:
        self.sides, self.device = sides, device
        self.times: dict[str, list[Clock]] = {"trainer": [], **{name: [] for name in sides}}
        self.left: Clock | None = None  # when the previous hook call returned
        self.tokens = 0

    def __call__(self, rec: dict) -> None:
        if rec.get("event") is not None:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize()  # the trainer step's queued work is the trainer's
        entered = now()
        if self.left is not None:  # the first interval holds the preflights, not a step
            self.times["trainer"].append((entered[0] - self.left[0], entered[1] - self.left[1]))
        order = list(self.sides)
        if len(self.times["trainer"]) % 2:
            order.reverse()  # neither bare loop always runs right after the trainer
        for name in order:
            t0 = now()
            self.tokens = self.sides[name].step()
            self.sides[name].sync()
            t1 = now()
            self.times[name].append((t1[0] - t0[0], t1[1] - t0[1]))
        self.left = now()

    def tokens_per_sec(self, side: str, skip: int, clock: int) -> float:
        return self.tokens / statistics.median(t[clock] for t in self.times[side][skip:])


def one_repeat(cfg: TrainConfig, vocab: int, skip: int) -> dict[str, float]:
    device = resolve_device(cfg.device)
    ds = load_dataset(cfg.dataset)
    ours = model_config(cfg.model, vocab, cfg.seq_length)
    sides = {}
    for name in ("gpt2", "same-model"):
        seed_everything(cfg.seed)
        model = (make_gpt2(ours, cfg.seed) if name == "gpt2" else _loss_only(Transformer(ours))).to(device)
        stream = TokenStream(ds.train_tokens, cfg.batch_size, cfg.seq_length, seed=cfg.seed, allow_cycle=True)
        sides[name] = BareLoop(model, iter(stream), cfg, device, cfg.num_steps)
    hook = Interleaved(sides, device)
    run(cfg, events=hook)
    torch.use_deterministic_algorithms(False)  # the trainer turns it on (CPU); the bare loops run without
    row: dict[str, float] = {}
    for i, clock in enumerate(("wall", "cpu")):
        tps = {side: hook.tokens_per_sec(side, skip, i) for side in hook.times}
        row |= {f"trainer_{clock}": round(tps["trainer"], 1), f"gpt2_{clock}": round(tps["gpt2"], 1),
                f"same_model_{clock}": round(tps["same-model"], 1),
                f"vs_gpt2_{clock}": round(tps["trainer"] / tps["gpt2"], 4),
                f"vs_same_model_{clock}": round(tps["trainer"] / tps["same-model"], 4)}  # fmt: skip
    return row


def _loss_only(model: Transformer) -> Transformer:
    """Our model returns (logits, loss); the bare loop wants the loss."""
    inner = model.forward
    model.forward = lambda x, y: inner(x, y)[1]  # type: ignore[method-assign]
    return model


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 4), "min": min(values), "max": max(values)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--skip", type=int, default=3, help="warm-up steps excluded from every timing")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved repeats (the spread is reported)")
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-length", type=int, default=128)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--max-files", type=int, default=200)
    ap.add_argument("--work", default=None, help="reuse tokenizer/ and data/ under this folder")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads [1 on CPU]")
    args = ap.parse_args()
    if args.threads or resolve_device(args.device).type == "cpu":
        torch.set_num_threads(args.threads or 1)  # CPU is judged by the CPU clock: no spinning threads
    if not 1 <= args.skip < args.steps:
        ap.error("--skip must be in [1, --steps)")

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-trainer-"))
    tok_dir, data_dir = stdlib_dataset(work, args.vocab_size, args.max_files)
    vocab = json.loads((data_dir / "manifest.json").read_text())["tokenizer"]["vocab_size"]
    base = TrainConfig(dataset=str(data_dir), tokenizer=str(tok_dir), run_dir="", num_steps=args.steps,
                       steps_per_epoch=args.steps, batch_size=args.batch_size, seq_length=args.seq_length,
                       model=args.model, device=args.device, allow_shard_cycle=True,
                       eval_batches=1)  # fmt: skip
    repeats = []
    for r in range(args.repeat):
        cfg = base.replace(run_dir=tempfile.mkdtemp(prefix=f"run{r}-", dir=work) + "/r")
        repeats.append(one_repeat(cfg, vocab, args.skip))
        print(json.dumps({"repeat": r, **repeats[-1]}), file=sys.stderr, flush=True)
    ours = model_config(args.model, vocab, args.seq_length)
    cuda = resolve_device(args.device).type == "cuda"
    judged = "wall" if cuda else "cpu"
    report = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "threads": torch.get_num_threads(),
        "model": args.model, "batch_size": args.batch_size, "seq_length": args.seq_length,
        "steps": args.steps, "skip": args.skip,
        "parameters": {"trainer": count_parameters(Transformer(ours)),
                       "gpt2": count_parameters(make_gpt2(ours, 0)),
                       "gpt2_d_ff": gpt2_config_like(ours).d_ff},
        "repeats": repeats,
        **{f"{k}_{c}": _summary([x[f"{k}_{c}"] for x in repeats])
           for k in ("vs_gpt2", "vs_same_model") for c in ("wall", "cpu")},
        "goal": f"vs_gpt2_{judged} median >= {GOAL} (tokens/s by the {judged} clock)",
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    return 0 if report[f"vs_gpt2_{judged}"]["median"] >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
