"""Terminal progress for `trainer pretrain`: a \\r status line on a tty, plain epoch lines otherwise.

A reporter, not core: it only formats the loop's event records onto a text stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO


def make_reporter(total_steps: int, stream: TextIO, tty: bool) -> Callable[[dict[str, Any]], None]:
    def report(rec: dict[str, Any]) -> None:
        event = rec.get("event")
        if event is None:
            if tty:
                stream.write(
                    f"\rstep {rec['step']}/{total_steps}  loss {rec['train_loss']:.4f}  "
                    f"grad {rec['grad_norm']:.3f}  lr {rec['lr']:.2e}  {rec['tokens_per_sec']:,.0f} tok/s "
                )
                stream.flush()
            return
        if tty:
            stream.write("\n")
        if event == "epoch":
            stream.write(
                f"epoch {rec['epoch']} (step {rec['step']}/{total_steps}): "
                f"train_loss {rec['train_loss']:.4f}  "
                f"val_loss {rec['val_loss']:.4f}  val_ppl {rec['val_ppl']:.2f}  "
                f"{rec['wall_seconds']:.1f}s  [{rec['drive']}]\n"
            )
        elif event == "cycle":
            stream.write(f"{rec['message']}\n")
        elif event == "resume":
            stream.write(f"resumed from epoch {rec['epoch']} checkpoint (step {rec['step']})\n")
        stream.flush()

    return report
