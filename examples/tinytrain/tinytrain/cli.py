"""`python -m tinytrain RUN_DIR [--preset quick|long] [--lr LR] [--warmup-steps N] [--num-steps N] [--seed S]`

A preset sets the step budget and warmup together; an explicit flag wins over the preset.
"""

from __future__ import annotations

import argparse
import dataclasses

from tinytrain.config import TrainConfig

PRESETS = {
    "quick": {"num_steps": 20, "warmup_steps": 4},
    "long": {"num_steps": 200, "warmup_steps": 20},
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinytrain", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="a new directory for log.jsonl")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--lr", type=float, help="peak learning rate (default 3e-3)")
    parser.add_argument("--warmup-steps", type=int, help="linear warmup updates (default: the preset's)")
    parser.add_argument("--num-steps", type=int, help="optimizer updates (default: the preset's)")
    parser.add_argument("--seed", type=int, help="seed of the init and the batch order (default 0)")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    knobs = dict(PRESETS[args.preset])
    for name in ("lr", "warmup_steps", "num_steps", "seed"):
        if getattr(args, name) is not None:
            knobs[name] = getattr(args, name)
    return TrainConfig(**knobs)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tinytrain.train import train  # torch and transformers only once the arguments are good

    cfg = config_from_args(args)
    run_dir = train(args.run_dir, **dataclasses.asdict(cfg))
    print(f"wrote {run_dir / 'log.jsonl'}")
    return 0
