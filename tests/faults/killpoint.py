"""`python killpoint.py FAULT ARGV…`: run `trainer ARGV…`, SIGKILLing this process at FAULT.

A real kill -9 (no cleanup, no finally, no atexit), at a point chosen by name rather than by timing:
  before-rename:NAME   os.replace is about to publish a file called NAME: its temp file is complete on
                       disk and the target is not there yet (e.g. epoch-001.safetensors)
  torn-line:STEP       the log line of step STEP is half written (flushed), the rest never comes
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(fault: str) -> None:
    kind, _, arg = fault.partition(":")
    if kind == "before-rename":
        replace = os.replace

        def replace_or_die(src, dst, *args, **kw):
            if Path(os.fsdecode(dst)).name == arg:
                _die()
            return replace(src, dst, *args, **kw)

        os.replace = replace_or_die
    elif kind == "torn-line":
        from trainer import runlog

        append = runlog.RunLog.append

        def append_or_die(self, record):
            if "event" not in record and record.get("step") == int(arg):
                line = runlog.dumps(record) + "\n"
                self._fh.write(line[: len(line) // 2])
                self._fh.flush()
                _die()
            return append(self, record)

        runlog.RunLog.append = append_or_die
    else:
        raise SystemExit(f"killpoint: unknown fault {fault!r}")


def main() -> None:
    import torch

    torch.set_num_threads(1)  # as the in-process reference run
    install(sys.argv[1])
    from trainer.cli import main as trainer_main

    trainer_main(sys.argv[2:])


if __name__ == "__main__":
    main()
