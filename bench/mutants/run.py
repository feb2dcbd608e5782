"""`make mutants`: run `pv gate` on the clean code, then once per mutant; print killed / survived.

    python -m bench.mutants.run [NAME ...] [--jobs N] [--json FILE] [--full]

Clean first: a red clean gate is a false alarm and the benchmark stops (exit 2). Then each mutant is
applied (monkeypatch via bench.mutants.plugin inside the gate's pytest process, or a text patch in a
scratch copy of the repository) and `pv gate` (pv.gate.run_gate) is run; the mutant is killed when a
ship-blocking gate goes red. Time to kill = wall time from the gate's start to the end of the first
failing falsifier. Mutant gates stop at their first failure (`run_gate(exitfirst=True)`, pytest -x)
unless --full: the verdict is the same, the run is shorter, and "killed by" then names the falsifier(s)
that failed before the stop. Exit 0 when every mutant is killed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.mutants.catalog import MUTANTS, Mutant, get
from pv.config import load_config
from pv.gate import run_gate

ROOT = Path(__file__).resolve().parents[2]
COPY = ("trainer", "falsifiers", "contracts", "pv", "bench", "pyproject.toml", "conftest.py")


@dataclasses.dataclass(frozen=True)
class Outcome:
    name: str
    klass: str
    killed: bool
    time_to_kill_s: float | None
    gate_wall_s: float
    red_gates: tuple[str, ...]
    failed_falsifiers: tuple[str, ...]
    error: str = ""
    stopped_early: bool = False  # the gate stopped at its first failure; later falsifiers did not run


def _scratch_copy(mutant: Mutant) -> Path:
    dest = Path(tempfile.mkdtemp(prefix=f"pv-mutant-{mutant.name}-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")
    for name in COPY:
        src = ROOT / name
        (shutil.copytree(src, dest / name, ignore=ignore) if src.is_dir() else shutil.copy2(src, dest / name))
    for file, old, new in mutant.text_patch:
        path = dest / file
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise RuntimeError(f"{mutant.name}: {file} holds {text.count(old)} copies of the text to patch")
        path.write_text(text.replace(old, new), encoding="utf-8")
    return dest


def _gate(mutant: Mutant | None, root: Path, jobs: int | None, exitfirst: bool) -> Outcome:
    """`pv gate` on `root`, in this process (which must import its packages from `root`)."""
    name, klass = (mutant.name, mutant.klass) if mutant else ("(clean)", "no mutation")
    env = {"PV_MUTANT": mutant.name} if mutant and mutant.apply else {}
    # A scratch copy must import its own (patched) trainer, not the editable install's.
    env["PYTHONPATH"] = str(root)
    try:
        result = run_gate(
            load_config(root),
            jobs=jobs,
            env=env,
            cwd=root,
            extra_pytest_args=("-p", "bench.mutants.plugin"),
            exitfirst=exitfirst and mutant is not None,  # the clean gate always runs in full
        )
    except Exception as exc:  # a gate that cannot run is reported, not counted as a kill
        return Outcome(name, klass, False, None, 0.0, (), (), f"{type(exc).__name__}: {exc}"[:300])
    red = tuple(g.id for g in result.blocking if not g.green)
    failed = tuple(t.falsifier for t in result.tests if t.outcome in ("failed", "error"))
    return Outcome(
        name,
        klass,
        bool(red),
        result.first_failure_s if red else None,
        result.wall_s,
        red,
        failed,
        stopped_early=result.stopped_early,
    )


def _gate_in_child(mutant: Mutant, scratch: Path, jobs: int | None, exitfirst: bool) -> Outcome:
    """A text-patched copy runs its gate in a fresh interpreter started in the copy: this process has
    already imported `trainer` and `falsifiers` from the checkout, and pv refuses a project kind whose
    module imports from somewhere other than the project it gates."""
    cmd = [sys.executable, "-m", "bench.mutants.run", "--child", mutant.name]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    if not exitfirst:
        cmd.append("--full")
    env = {**os.environ, "PYTHONPATH": str(scratch)}
    proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr or proc.stdout).strip()[-300:]
        return Outcome(mutant.name, mutant.klass, False, None, 0.0, (), (), f"gate child failed: {tail}")
    return Outcome(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def run_one(mutant: Mutant | None, jobs: int | None, exitfirst: bool = True) -> Outcome:
    if mutant is None or not mutant.text_patch:
        return _gate(mutant, ROOT, jobs, exitfirst)
    scratch = _scratch_copy(mutant)
    try:
        return _gate_in_child(mutant, scratch, jobs, exitfirst)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _table(rows: list[Outcome]) -> str:
    lines = [f"{'mutant':<26} {'verdict':<9} {'t-kill':>7} {'gate':>6}  killed by / class"]
    for o in rows:
        verdict = "ERROR" if o.error else ("killed" if o.killed else "SURVIVED")
        tk = f"{o.time_to_kill_s:.1f}s" if o.time_to_kill_s is not None else "—"
        why = o.error or (
            ", ".join(o.failed_falsifiers[:3]) + (" …" if len(o.failed_falsifiers) > 3 else "")
            if o.killed
            else o.klass
        )
        lines.append(f"{o.name:<26} {verdict:<9} {tk:>7} {o.gate_wall_s:>5.1f}s  {why}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="mutants to run (default: all)")
    ap.add_argument(
        "--jobs", type=int, default=None, help="xdist workers for each gate run (pv gate default)"
    )
    ap.add_argument("--json", dest="json_out", help="also write the outcomes as JSON here")
    ap.add_argument(
        "--full",
        action="store_true",
        help="run every falsifier of each mutant's gate (no stop at first failure)",
    )
    ap.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)  # internal: see _gate_in_child
    args = ap.parse_args(argv)
    if args.child:  # run from inside the scratch copy: print the outcome as one JSON line
        outcome = _gate(get(args.child), Path.cwd(), args.jobs, exitfirst=not args.full)
        print(json.dumps(dataclasses.asdict(outcome)))
        return 0
    try:
        chosen = [get(n) for n in args.names] if args.names else list(MUTANTS)
    except KeyError as exc:
        print(f"mutants: error: {exc.args[0]}", file=sys.stderr)
        return 2
    t0 = time.time()
    clean = run_one(None, args.jobs)
    print(
        f"clean gate: {'RED' if clean.killed or clean.error else 'green'} in {clean.gate_wall_s:.1f}s"
        + (
            f" — false alarm: {', '.join(clean.failed_falsifiers) or clean.error}"
            if clean.killed or clean.error
            else ""
        ),
        flush=True,
    )
    if clean.killed or clean.error:
        return 2
    rows = []
    for m in chosen:
        rows.append(run_one(m, args.jobs, exitfirst=not args.full))
        o = rows[-1]
        print(f"  {o.name}: {'killed' if o.killed else 'ERROR' if o.error else 'SURVIVED'}", flush=True)
    print(_table(rows))
    killed = [o for o in rows if o.killed]
    times = [o.time_to_kill_s for o in killed if o.time_to_kill_s is not None]
    median = f"{statistics.median(times):.1f}s" if times else "—"
    print(
        f"killed {len(killed)}/{len(rows)} · false alarms 0/1 · median time-to-kill {median} · "
        f"clean gate {clean.gate_wall_s:.1f}s · total {time.time() - t0:.0f}s"
    )
    stopped = sum(1 for o in rows if o.stopped_early)
    if stopped:
        print(f"{stopped}/{len(rows)} mutant gates stopped after their first failure (--full runs them all)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([dataclasses.asdict(o) for o in [clean, *rows]], indent=2))
    return 0 if len(killed) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
