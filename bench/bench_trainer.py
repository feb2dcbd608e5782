"""Throughput of `trainer pretrain` (drive_real, guards + logging included) vs a bare torch loop.

Same model preset, data, batch shape, optimizer and number of steps; the bare loop has no guards, no
per-step .item() sync, no logging. Reports tokens/s of both and the ratio (goal >= 0.95).

    .venv/bin/python bench/bench_trainer.py --steps 30 --model tiny --batch-size 8 --seq-length 128
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from trainer_work import stdlib_dataset

from trainer.config import TrainConfig
from trainer.data import TokenStream, load_dataset
from trainer.guards import resolve_device
from trainer.loop import run, seed_everything
from trainer.model import Transformer, model_config
from trainer.real import make_optimizer
from trainer.runlog import read_log


def bare_loop(cfg: TrainConfig, vocab: int, steps: int, skip: int) -> float:
    """tokens/s of forward + backward + clip + AdamW over the same batches, timed after `skip` steps.

    Same device rule and the same precision as the trainer's step (bf16 autocast on CUDA, fp32 else):
    a bf16 trainer against an fp32 bare loop would flatter the ratio.
    """
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    model = Transformer(model_config(cfg.model, vocab, cfg.seq_length)).to(device)
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay, device)
    ds = load_dataset(cfg.dataset)
    stream = TokenStream(ds.train_tokens, cfg.batch_size, cfg.seq_length, seed=cfg.seed, allow_cycle=True)
    t0, tokens = 0.0, 0
    for i in range(steps):
        if i == skip:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        x, y = next(stream)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext():
            _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if i >= skip:
            tokens += x.numel()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return tokens / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--skip", type=int, default=3, help="warm-up steps excluded from both timings")
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-length", type=int, default=128)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--max-files", type=int, default=200)
    ap.add_argument("--work", default=None, help="reuse tokenizer/ and data/ under this folder")
    args = ap.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-trainer-"))
    tok_dir, data_dir = stdlib_dataset(work, args.vocab_size, args.max_files)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    cfg = TrainConfig(dataset=str(data_dir), tokenizer=str(tok_dir), run_dir=str(run_dir / "r"),
                      num_steps=args.steps, steps_per_epoch=args.steps, batch_size=args.batch_size,
                      seq_length=args.seq_length, model=args.model, device=args.device,
                      allow_shard_cycle=True, eval_batches=1)  # fmt: skip
    vocab = json.loads((data_dir / "manifest.json").read_text())["tokenizer"]["vocab_size"]
    # Bare loop before and after the trainer run: warm-up and machine drift hit both sides equally.
    bare_before = bare_loop(cfg, vocab, args.steps, args.skip)
    t0 = time.perf_counter()
    run(cfg)
    end_to_end = time.perf_counter() - t0
    steps = [r for r in read_log(run_dir / "r" / "train.jsonl") if "event" not in r][args.skip :]
    trainer_tps = sum(r["tokens_seen"] - p["tokens_seen"] for p, r in itertools.pairwise(steps))
    trainer_tps /= sum(r["wall_ms"] for r in steps[1:]) / 1e3
    bare_tps = (bare_before + bare_loop(cfg, vocab, args.steps, args.skip)) / 2
    report = {
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu"
        else "cpu",
        "model": args.model, "batch_size": args.batch_size, "seq_length": args.seq_length,
        "steps": args.steps,
        "trainer_tokens_per_sec": round(trainer_tps, 1), "bare_tokens_per_sec": round(bare_tps, 1),
        "ratio": round(trainer_tps / bare_tps, 4), "goal": ">= 0.95",
        "trainer_end_to_end_seconds": round(end_to_end, 3),
    }  # fmt: skip
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
