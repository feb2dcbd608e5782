"""trainer/progress.py: tqdm on a tty, plain periodic lines otherwise, ETA from this session's steps."""

from __future__ import annotations

import io

from trainer.progress import Ema, Reporter, clock


class Clock:
    def __init__(self, step_s: float) -> None:
        self.t, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        return self.t


def step(n: int, loss: float = 5.0) -> dict:
    return {"step": n, "epoch": 0, "train_loss": loss, "grad_norm": 0.5, "lr": 1e-3, "tokens_per_sec": 1000.0,
            "wall_ms": 10.0, "tokens_seen": 100 * n, "drive": "real"}  # fmt: skip


EPOCH = {"event": "epoch", "epoch": 0, "step": 10, "train_loss": 5.0, "val_loss": 5.25, "val_ppl": 190.57,
         "wall_seconds": 0.5, "drive": "real"}  # fmt: skip


def feed(rep: Reporter, clk: Clock, steps: range) -> None:
    for n in steps:
        clk.t += clk.step_s
        rep(step(n))


def test_plain_lines_at_every_tenth_with_rate_and_eta() -> None:
    out, clk = io.StringIO(), Clock(0.5)
    with Reporter(100, out, tty=False, now=clk) as rep:
        feed(rep, clk, range(1, 101))
    lines = out.getvalue().splitlines()
    assert [ln.split()[1] for ln in lines] == [f"{n}/100" for n in range(10, 101, 10)]
    assert lines[0] == ("step 10/100 (10%)  loss 5.0000  lr 1.00e-03  grad 0.500  1,000 tok/s  "
                        "elapsed 0:05  eta 0:45")  # fmt: skip
    assert lines[-1].endswith("elapsed 0:50  eta 0:00")
    assert "\r" not in out.getvalue()


def test_plain_lines_at_least_once_a_minute_on_long_budgets() -> None:
    out, clk = io.StringIO(), Clock(61.0)
    rep = Reporter(10_000, out, tty=False, now=clk)
    feed(rep, clk, range(1, 4))
    assert len(out.getvalue().splitlines()) == 3  # each step took over a minute


def test_tty_bar_with_postfix_and_epoch_lines_above_it() -> None:
    out, clk = io.StringIO(), Clock(0.1)
    with Reporter(10, out, tty=True, now=clk) as rep:
        feed(rep, clk, range(1, 11))
        rep(EPOCH)
    text = out.getvalue()
    assert "\r" in text and "pretrain: 100%" in text and "10/10" in text
    assert "loss 5.0000  lr 1.00e-03  1,000 tok/s" in text
    assert "\nepoch 0 (step 10/10): train_loss 5.0000  val_loss 5.2500" in "\n" + text.replace("\r", "\n")


def test_resume_counts_rate_from_the_resumed_step() -> None:
    out, clk = io.StringIO(), Clock(1.0)
    rep = Reporter(100, out, tty=False, now=clk)
    rep({"event": "resume", "epoch": 4, "step": 50})
    feed(rep, clk, range(51, 61))
    lines = out.getvalue().splitlines()
    assert lines[0] == "resumed from epoch 4 checkpoint (step 50)"
    assert lines[1].startswith("step 60/100 (60%)") and lines[1].endswith("elapsed 0:10  eta 0:40")


def test_ema_and_clock() -> None:
    ema = Ema(0.5)
    assert [ema.update(x) for x in (4.0, 2.0, 2.0)] == [4.0, 3.0, 2.5]
    assert [clock(s) for s in (7, 723, 3723, float("nan"))] == ["0:07", "12:03", "1:02:03", "?"]
