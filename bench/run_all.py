"""`make bench`: run every bench/bench_*.py with its defaults; exit 1 if any misses a goal or fails.

Each bench also runs on its own with its own options, e.g. `python bench/bench_validate.py --n 200`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    benches = sorted(HERE.glob("bench_*.py"))
    if not benches:
        print("bench: no bench/bench_*.py found", file=sys.stderr)
        return 2
    failed = []
    for bench in benches:
        print(f"== {bench.name}", flush=True)
        rc = subprocess.run([sys.executable, str(bench)]).returncode
        if rc:
            failed.append(f"{bench.name} (exit {rc})")
    print(
        f"bench: {len(benches) - len(failed)}/{len(benches)} met their goals"
        + (f"; missed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
