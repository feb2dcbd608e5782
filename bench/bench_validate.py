"""Benchmark `pv validate` against `check-jsonschema` on N generated, valid contracts.

    .venv/bin/python bench/bench_validate.py [--n 1000] [--repeat 3] [--keep DIR]

Generates N realistic contracts (sizes vary; one shared acceptance registry) in a temporary project,
exports pv's schema with `pv schema`, then times, as subprocesses, best of --repeat:
  check-jsonschema   --schemafile schema.json <N files>   (schema only, no cross-file checks)
  pv cold            pv validate --no-cache
  pv cold+populate   pv validate, cache deleted before each run
  pv warm            pv validate, cache warm, nothing changed
Goals: cold >= 5x check-jsonschema throughput; warm <= 0.3 s + 0.2 ms per contract.
Each run's wall time and its CPU time (user+sys of the child, less sensitive to a busy machine) are
reported; each is the best of --repeat. Python's bytecode cache is on for the measured tools (in the
temporary project, whatever PYTHONDONTWRITEBYTECODE says), as for any installed tool.
Results go to bench/out/validate-<N>.json. Exit 1 if a goal is missed or a tool reports an error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = REPO / "bench" / "out"

# Executable falsifiers aim at real kinds and targets, so the generated set is valid for pv's
# cross-checks too (kind exists, target inside target_packages, params known to the kind).
EXECUTABLE = (
    ("equivalence", "trainer.kernels:softmax", {"reference": "softmax"}),
    ("equivalence", "trainer.kernels:cross_entropy", {"reference": "cross-entropy", "atol": 1e-5}),
    ("equivalence", "trainer.kernels:rms_norm", {"reference": "rms-norm"}),
)
_TEXT = (
    "loss tokenizer shard checkpoint gradient optimizer schedule attention embedding vocabulary batch "
    "sequence rank seed resume manifest fingerprint norm logits target budget epoch step"
)
WORDS = tuple(_TEXT.split())
KINDS = ("training-loop", "model-family", "tokenizer", "data", "kernel", "cli", "tool")


def sentence(rng: random.Random, lo: int = 6, hi: int = 18) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def registry_yaml(n_ac: int) -> str:
    lines = [
        "schema: pv/v1",
        "id: C-ACCEPTANCE",
        "version: 1.0.0",
        "status: active",
        "kind: acceptance-registry",
        "summary: Acceptance criteria every gate binds to.",
        "changelog:",
        "  - {version: 1.0.0, date: 2026-11-01, summary: First version.}",
        "acceptance_criteria:",
    ]
    lines += [
        f"  - id: AC-BENCH-{i:04d}\n    statement: Criterion {i} holds for every release."
        for i in range(n_ac)
    ]
    lines += [
        "invariants:",
        "  - id: INV-ACCEPTANCE-001",
        "    statement: Every acceptance criterion id is unique.",
        "falsifiers:",
        "  - id: FALSIFY-ACCEPTANCE-001",
        "    attacks: [INV-ACCEPTANCE-001]",
        "    description: Softmax stands in as the attacked object, so the registry is not inert.",
        "    kind: equivalence",
        "    target: trainer.kernels:softmax",
        '    params: {"reference": "softmax"}',
    ]
    return "\n".join(lines) + "\n"


def contract_yaml(i: int, rng: random.Random, n_ac: int) -> str:
    tag = f"B{i:04d}"
    n_inv = rng.choice((1, 2, 3, 4, 6, 8, 12))
    lines = [
        "# yaml-language-server: $schema=../schema.json",
        "schema: pv/v1",
        f"id: C-BENCH-{tag}",
        f"version: 1.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
        f"status: {rng.choice(('active', 'active', 'proposed'))}",
        f"kind: {rng.choice(KINDS)}",
        f"title: Bench component {i}",
        "summary: >",
        f"  {sentence(rng)} {sentence(rng)}",
        "depends_on: [C-ACCEPTANCE]",
        "changelog:",
    ]
    version = lines[3].split(": ")[1]
    lines.append(
        f"  - {{version: {version}, date: 2026-11-{rng.randint(10, 28)}, summary: {sentence(rng, 3, 8)}}}"
    )
    lines.append("  - {version: 1.0.0-rc.1, date: 2026-10-01, summary: First draft.}")
    lines.append("invariants:")
    for k in range(1, n_inv + 1):
        lines += [f"  - id: INV-{tag}-{k:03d}", f"    statement: {sentence(rng)}"]
        if rng.random() < 0.5:
            lines.append(f"    rationale: {sentence(rng, 4, 10)}")
    lines.append("falsifiers:")
    fals = []
    for k in range(1, n_inv + 1):
        fid = f"FALSIFY-{tag}-{k:03d}"
        fals.append(fid)
        lines += [f"  - id: {fid}", f"    attacks: [INV-{tag}-{k:03d}]", f"    description: {sentence(rng)}"]
        kind, target, params = rng.choice(EXECUTABLE)
        lines += [f"    kind: {kind}", f"    target: {target}", f"    params: {json.dumps(params)}"]
    n_gates = rng.randint(0, min(4, n_inv))
    if n_gates:
        lines.append("gates:")
    for g in range(1, n_gates + 1):
        lines += [
            f"  - id: GATE-{tag}-{g:03d}",
            f"    rule: {sentence(rng, 4, 10)}",
            f"    enforces: [INV-{tag}-{g:03d}]",
            f"    binds_to: AC-BENCH-{rng.randrange(n_ac):04d}",
            f"    ship_blocking: {'true' if rng.random() < 0.7 else 'false'}",
            f"    falsifiers: [{fals[g - 1]}]",
        ]
    return "\n".join(lines) + "\n"


def make_project(root: Path, n: int, seed: int = 0) -> list[Path]:
    """N contracts (N-1 components + the registry) in root/contracts, with a pyproject of its own.

    The packages contracts point into are linked in, so pv's checks resolve kinds and targets
    exactly as in the repo while its cache (.pv/) stays inside the temporary project.
    """
    rng = random.Random(seed)
    (root / "contracts").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "bench"\nversion = "0"\n\n[tool.pv]\ncontracts = ["contracts"]\n'
        'target_packages = ["trainer", "pv"]\nkinds_package = "falsifiers.kinds"\n',
        encoding="utf-8",
    )
    for pkg in ("trainer", "pv", "falsifiers"):
        (root / pkg).symlink_to(REPO / pkg, target_is_directory=True)
    n_ac = max(10, n // 5)
    files = [root / "contracts" / "acceptance.yaml"]
    files[0].write_text(registry_yaml(n_ac), encoding="utf-8")
    for i in range(1, n):
        path = root / "contracts" / f"bench-{i:04d}.yaml"
        path.write_text(contract_yaml(i, rng, n_ac), encoding="utf-8")
        files.append(path)
    return files


def child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(cmd: list[str], cwd: Path, env: dict, before=None) -> tuple[float, float]:
    """(wall seconds, user+sys CPU seconds) of one subprocess run."""
    if before:
        before()
    cpu0 = child_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    cpu = child_cpu() - cpu0
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise SystemExit(f"bench: {' '.join(cmd[:3])}… exited {proc.returncode}:\n" + "\n".join(tail))
    return elapsed, cpu


def best(cmd: list[str], cwd: Path, env: dict, repeat: int, before=None) -> tuple[float, float]:
    runs = [run(cmd, cwd, env, before) for _ in range(repeat)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="contracts to generate (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    ap.add_argument("--keep", type=Path, help="generate into this (new) directory and keep it")
    args = ap.parse_args(argv)
    if args.n < 2:
        ap.error("--n must be at least 2 (the registry plus one contract)")

    tmp = None
    if args.keep:
        root = args.keep.resolve()
    else:
        tmp = tempfile.TemporaryDirectory(prefix="pv-bench-")
        root = Path(tmp.name)
    try:
        files = make_project(root, args.n)
        rel = [str(p.relative_to(root)) for p in files]
        schema = root / "schema.json"
        # The warm rows measure the cache, which CI=true / PV_NO_CACHE turn off (pv.cache): not here.
        dropped = ("PYTHONDONTWRITEBYTECODE", "CI", "PV_NO_CACHE")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["PYTHONPYCACHEPREFIX"] = str(root / ".pycache")  # kept out of the repo, gone with root
        subprocess.run([str(BIN / "pv"), "schema", "--output", str(schema)], cwd=root, env=env, check=True)
        cache = root / ".pv"

        def drop_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        pv = [str(BIN / "pv"), "validate", "contracts"]
        cjs = [str(BIN / "check-jsonschema"), "--schemafile", str(schema)]
        # Warm-up on one file: compiles both tools' bytecode, so no measured run pays for it.
        for warm_up in ([*cjs, rel[0]], [*pv[:2], "--no-cache", rel[0]]):
            subprocess.run(warm_up, cwd=root, env=env, capture_output=True)
        measured = {
            "check-jsonschema": best([*cjs, *rel], root, env, args.repeat),
            "pv cold (--no-cache)": best([*pv, "--no-cache"], root, env, args.repeat),
            "pv cold, populating cache": best(pv, root, env, args.repeat, before=drop_cache),
        }
        run(pv, root, env)  # make sure the cache is warm
        measured["pv warm (unchanged)"] = best(pv, root, env, args.repeat)
    finally:
        if tmp:
            tmp.cleanup()
    timings = {name: wall for name, (wall, _) in measured.items()}
    cpu = {name: c for name, (_, c) in measured.items()}

    n = args.n
    base = n / timings["check-jsonschema"]
    rows = [(name, t, n / t, (n / t) / base) for name, t in timings.items()]
    print(f"pv validate bench · {n} contracts · best of {args.repeat} · {os.cpu_count()} CPUs")
    print(f"{'run':<28}{'seconds':>10}{'cpu s':>9}{'contracts/s':>14}{'vs cjs':>9}")
    for name, t, tput, ratio in rows:
        print(f"{name:<28}{t:>10.3f}{cpu[name]:>9.3f}{tput:>14.0f}{ratio:>8.1f}x")

    cold_ratio = (n / timings["pv cold (--no-cache)"]) / base
    warm_budget = 0.3 + 0.0002 * n
    goals = {
        "cold >= 5x check-jsonschema": {
            "value": round(cold_ratio, 2),
            "target": 5.0,
            "ok": cold_ratio >= 5.0,
        },
        "warm <= 0.3 s + 0.2 ms/contract": {
            "value": round(timings["pv warm (unchanged)"], 4),
            "target": round(warm_budget, 4),
            "ok": timings["pv warm (unchanged)"] <= warm_budget,
        },
    }
    for name, g in goals.items():
        print(f"goal {name}: {g['value']} (target {g['target']}) {'OK' if g['ok'] else 'MISSED'}")

    OUT.mkdir(parents=True, exist_ok=True)
    result = {
        "bench": "validate",
        "n": n,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "bytecode_cache": True,
        "seconds": {k: round(v, 4) for k, v in timings.items()},
        "cpu_seconds": {k: round(v, 4) for k, v in cpu.items()},
        "throughput_per_s": {k: round(n / v, 1) for k, v in timings.items()},
        "ratio_vs_check_jsonschema": {k: round((n / v) / base, 2) for k, v in timings.items()},
        "goals": goals,
    }
    out = OUT / f"validate-{n}.json"
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_out, out)
    print(f"wrote {out.relative_to(REPO)}")
    return 0 if all(g["ok"] for g in goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
