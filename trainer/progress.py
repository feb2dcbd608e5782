"""Terminal progress for `trainer pretrain`: a tqdm bar on a tty, plain periodic lines otherwise (CI logs).

A reporter, not core: it only formats the loop's event records onto a text stream. On a tty tqdm draws
the bar (ETA, smoothed step rate) with the loss, lr and a smoothed tokens/s in its postfix; epoch lines
are written above it. Without a tty it prints a step line at every 10% of the budget (and at least once
a minute), each with the same numbers and an ETA, plus the epoch lines.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

PLAIN_MARKS = 10  # non-tty: a step line at every 1/10 of the budget
PLAIN_MAX_SILENCE_S = 60.0  # ... and one at least this often, for long budgets
SMOOTHING = 0.1  # weight of the newest step in the exponential moving averages (tqdm's default is 0.3)


class Ema:
    """Exponential moving average; the first value seeds it (no bias towards zero)."""

    def __init__(self, weight: float = SMOOTHING) -> None:
        self.weight, self.value = weight, math.nan

    def update(self, x: float) -> float:
        self.value = x if math.isnan(self.value) else self.weight * x + (1 - self.weight) * self.value
        return self.value


def clock(seconds: float) -> str:
    """0:07, 12:03, 1:02:03 (what tqdm shows, so both outputs read alike)."""
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Reporter:
    """Callable on every loop event; `close()` ends the bar. Use as a context manager."""

    def __init__(
        self, total_steps: int, stream: TextIO, tty: bool, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.total, self.stream, self.tty, self.now = total_steps, stream, tty, now
        self.start_step = 0  # a resumed run starts here: rates and ETA count only this session's steps
        self.t0 = self.last_line = now()
        self.loss, self.tps = Ema(), Ema()
        self.bar: tqdm | None = None
        if tty:
            self.bar = tqdm(total=total_steps, file=stream, unit="step", dynamic_ncols=True,
                            smoothing=SMOOTHING, desc="pretrain", leave=True)  # fmt: skip
        self.marks = {math.ceil(total_steps * i / PLAIN_MARKS) for i in range(1, PLAIN_MARKS + 1)}

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __call__(self, rec: dict[str, Any]) -> None:
        event = rec.get("event")
        if event is None:
            self._step(rec)
        elif event == "epoch":
            self._line(
                f"epoch {rec['epoch']} (step {rec['step']}/{self.total}): "
                f"train_loss {rec['train_loss']:.4f}  "
                f"val_loss {rec['val_loss']:.4f}  val_ppl {rec['val_ppl']:.2f}  {rec['wall_seconds']:.1f}s  "
                f"[{rec['drive']}]"
            )
        elif event == "cycle":
            self._line(str(rec["message"]))
        elif event == "resume":
            self.start_step = int(rec["step"])
            self.t0 = self.now()
            if self.bar is not None:
                self.bar.reset(total=self.total)
                self.bar.update(self.start_step)
            self._line(f"resumed from epoch {rec['epoch']} checkpoint (step {rec['step']})")

    def eta_seconds(self, step: int) -> float:
        done = step - self.start_step
        elapsed = self.now() - self.t0
        return elapsed / done * (self.total - step) if done > 0 else math.nan

    def _step(self, rec: dict[str, Any]) -> None:
        step = int(rec["step"])
        loss, tps = self.loss.update(rec["train_loss"]), self.tps.update(rec["tokens_per_sec"])
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {loss:.4f}  lr {rec['lr']:.2e}  {tps:,.0f} tok/s", refresh=False)
            self.bar.update(step - self.bar.n)
            return
        now = self.now()
        if step in self.marks or step == self.total or now - self.last_line >= PLAIN_MAX_SILENCE_S:
            self.last_line = now
            pct = 100 * step / self.total
            self._line(
                f"step {step}/{self.total} ({pct:.0f}%)  loss {loss:.4f}  lr {rec['lr']:.2e}  "
                f"grad {rec['grad_norm']:.3f}  {tps:,.0f} tok/s  elapsed {clock(now - self.t0)}  "
                f"eta {clock(self.eta_seconds(step))}"
            )

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()


def make_reporter(total_steps: int, stream: TextIO, tty: bool) -> Reporter:
    return Reporter(total_steps, stream, tty)
