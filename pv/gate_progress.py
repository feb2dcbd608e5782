"""Live progress of `pv gate` on stderr, fed by `run_gate(on_event=...)` while pytest runs.

One line per falsifier as it finishes (verdict, id, seconds) and one per gate as soon as its last
falsifier ends. On a terminal, a status line below them (done/total, counts, elapsed, what is running)
is rewritten in place; elsewhere (CI logs, pipes) only the plain lines are written, never `\\r`.
"""

from __future__ import annotations

import time
from typing import TextIO

from pv.gate import FAILED_OUTCOMES, GateEvent

WORDS = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "crashed": "CRASH",
    "timed-out": "TIMEOUT",
    "skipped": "SKIP",
    "not-run": "NOT-RUN",
}
REDRAW_S = 0.25


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


class LiveProgress:
    def __init__(self, stream: TextIO, *, tty: bool) -> None:
        self.stream = stream
        self.tty = tty
        self.total = 0
        self.counts: dict[str, int] = {}
        self.running: dict[str, float] = {}  # falsifier -> elapsed at its start
        self.elapsed = 0.0
        self._status_shown = False
        self._last_draw = 0.0

    def __call__(self, ev: GateEvent) -> None:
        self.elapsed = ev.elapsed_s
        if ev.kind == "plan":
            self.total = ev.total
            self._line(f"pv gate: {ev.total} falsifier test(s)")
        elif ev.kind == "start":
            self.running[ev.falsifier] = ev.elapsed_s
        elif ev.kind == "end" and ev.outcome is not None:
            o = ev.outcome
            self.running.pop(o.falsifier, None)
            self.counts[o.outcome] = self.counts.get(o.outcome, 0) + 1
            word = WORDS.get(o.outcome, o.outcome.upper())
            took = f"{o.duration_s:6.2f} s" if o.outcome not in ("not-run", "error") else "       —"
            self._line(f"  {word:<7} {o.falsifier}  {took}")
        elif ev.kind == "gate" and ev.verdict is not None:
            g = ev.verdict
            self._line(
                f"{g.verdict:<7} {g.id} → {g.binds_to}: {g.passed}/{g.ran} passed"
                + (f", {g.failed} failed" if g.failed else "")
                + (f", {g.not_run} not run" if g.not_run else "")
            )
        elif ev.kind == "done":
            self._clear()
            return
        self._status(throttle=ev.kind == "tick")

    # -- output

    def _status_text(self) -> str:
        done = sum(self.counts.values())
        failed = sum(self.counts.get(k, 0) for k in FAILED_OUTCOMES)
        now = next(iter(self.running), "")
        more = f" +{len(self.running) - 1}" if len(self.running) > 1 else ""
        running = f" · running {now}{more}" if now else ""
        return (
            f"[{done}/{self.total}] {self.counts.get('passed', 0)} passed, {failed} failed, "
            f"{self.counts.get('skipped', 0)} skipped · {_clock(self.elapsed)}{running}"
        )

    def _status(self, *, throttle: bool) -> None:
        """Redraw the status line: at once for a change, at most every REDRAW_S for a clock tick."""
        if not self.tty:
            return
        now = time.monotonic()
        if throttle and self._status_shown and now - self._last_draw < REDRAW_S:
            return
        self._last_draw = now
        self.stream.write("\r\033[K" + self._status_text())
        self.stream.flush()
        self._status_shown = True

    def _clear(self) -> None:
        if self.tty and self._status_shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._status_shown = False

    def _line(self, text: str) -> None:
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()
