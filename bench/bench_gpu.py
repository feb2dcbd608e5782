"""Training throughput and model FLOPs utilisation (MFU) of the trainer's step on this machine.

The step is the real drive's: Transformer preset + make_optimizer (fused AdamW on CUDA) + grad clip,
bf16 autocast on CUDA (fp32 elsewhere), SDPA attention (flash on CUDA where eligible), optionally
torch.compile. Random token ids (throughput does not depend on the text). Reports tokens/s over the
timed steps (after warm-up, CUDA synchronised) and

    MFU = (6·N + 12·L·T·d) · tokens/s / peak          (PaLM, appendix B; N = parameters, tied counted once)

where the peak is `--peak-tflops`, else the dense bf16 peak of a known GPU by name, else "n/a" (CPU).
Defaults: the `124m` preset; on CUDA batch 16 × 1024 tokens, 20 timed steps; on CPU a quick shape
(batch 1 × 128, 3 timed steps) so `make bench` stays short. No goal: it always exits 0 unless it fails.

    .venv/bin/python bench/bench_gpu.py                              # auto device
    .venv/bin/python bench/bench_gpu.py --compile --batch-size 32 --seq-length 1024
    .venv/bin/python bench/bench_gpu.py --device cpu --model tiny --steps 10 --peak-tflops 1.0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import torch

from trainer.guards import resolve_device
from trainer.model import Transformer, count_parameters, model_config
from trainer.real import make_optimizer

OUT = Path(__file__).resolve().parent / "out" / "bench_gpu.json"
# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) by a substring of torch.cuda.get_device_name().
# Most specific first: "H100 PCIe" must win over "H100".
PEAK_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100", 989.0),  # SXM
    ("H200", 989.0),
    ("A100", 312.0),
    ("L4", 121.0),
)


def default_peak(device: torch.device) -> tuple[float | None, str]:
    if device.type != "cuda":
        return None, "no known peak for CPU (pass --peak-tflops)"
    name = torch.cuda.get_device_name(device)
    for key, tflops in PEAK_TFLOPS:
        if key in name:
            return tflops, f"{name}: dense bf16 peak {tflops} TFLOP/s"
    return None, f"{name}: unknown peak (pass --peak-tflops)"


def flops_per_token(n_params: int, n_layer: int, seq_len: int, d_model: int) -> float:
    """Training FLOPs per token: 6N for the matmuls against weights, 12·L·T·d for attention scores."""
    return 6.0 * n_params + 12.0 * n_layer * seq_len * d_model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="124m", choices=("tiny", "small", "124m"))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--seq-length", type=int, default=None)
    ap.add_argument("--vocab-size", type=int, default=50304)
    ap.add_argument("--steps", type=int, default=None, help="timed steps")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (compile, autotune)")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=None, help="peak of this device, TFLOP/s")
    ap.add_argument("--threads", type=int, default=None, help="CPU intra-op threads")
    args = ap.parse_args(argv)

    try:
        device = resolve_device(args.device)
    except Exception as exc:  # DeviceError: say it plainly, no traceback
        print(f"bench_gpu: {exc}", file=sys.stderr)
        return 2
    cuda = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch_size or (16 if cuda else 1)
    seq = args.seq_length or (1024 if cuda else 128)
    steps = args.steps or (20 if cuda else 3)
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)

    torch.manual_seed(0)
    cfg = model_config(args.model, args.vocab_size, seq)
    model = Transformer(cfg).to(device)
    model.train()
    opt = make_optimizer(model, 3e-4, 0.1, device)
    step_model = torch.compile(model) if args.compile else model
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()
    x = torch.randint(0, args.vocab_size, (batch, seq), device=device)
    y = torch.randint(0, args.vocab_size, (batch, seq), device=device)

    def step() -> None:
        with autocast:
            _, loss = step_model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if cuda:
        torch.cuda.synchronize(device)
    wall = time.perf_counter() - t0

    n_params = count_parameters(model)
    tokens_per_sec = batch * seq * steps / wall
    achieved = flops_per_token(n_params, cfg.n_layer, seq, cfg.d_model) * tokens_per_sec
    peak, peak_note = (args.peak_tflops, "--peak-tflops") if args.peak_tflops else default_peak(device)
    mfu = achieved / (peak * 1e12) if peak else None
    result = {
        "device": torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} threads)",
        "model": args.model,
        "parameters": n_params,
        "batch_size": batch,
        "seq_length": seq,
        "timed_steps": steps,
        "warmup_steps": warmup,
        "precision": "bf16 autocast" if cuda else "fp32",
        "compile": args.compile,
        "fused_adamw": cuda,
        "tokens_per_sec": tokens_per_sec,
        "achieved_tflops": achieved / 1e12,
        "peak_tflops": peak,
        "peak_source": peak_note,
        "mfu": mfu,
        "torch": torch.__version__,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp.replace(OUT)
    mfu_text = f"{100 * mfu:.1f}%" if mfu is not None else f"n/a ({peak_note})"
    print(
        f"{result['device']}: {args.model} ({n_params / 1e6:.1f}M params), batch {batch} x {seq}, "
        f"{result['precision']}{', compiled' if args.compile else ''}: {tokens_per_sec:,.0f} tokens/s over "
        f"{steps} steps, {result['achieved_tflops']:.3f} TFLOP/s, MFU {mfu_text}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
