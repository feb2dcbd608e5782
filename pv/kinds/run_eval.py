"""run-eval: the val loss a real CLI run reports, recomputed from its checkpoints on the held-out split.

Target: the stack's launcher (adapters and flags: `pv.kinds._runs`). For every checkpoint of the drawn
run the oracle loads the weights (`load_model`), reads the held-out split from its files
(`heldout_tokens`) and computes, in float64 and with its own cross-entropy, the declared held-out loss:

  windows i = 0, 1, … of seq_length + 1 consecutive tokens (x = tokens[iT : iT+T], y = the next T),
  in order, in batches of batch_size, the first eval_batches batches (the last one may be short);
  the loss is the mean over every target token of those windows (a short batch weighs what it holds).

It must equal the eval record of that epoch and the checkpoint's metadata val_loss (rtol). The wrong
split, a mean of batch means, an ignored --eval-batches, a dropped or padded tail batch, or weights
other than the checkpoint's all move the number.
"""

from __future__ import annotations

from pv.kinds import _runs

NAME = "run-eval"
SUMMARY = "logged and checkpointed val loss = per-token held-out loss recomputed from each checkpoint"
PARAMS = {
    **_runs.COMMON_PARAMS,
    "rtol": "relative tolerance (default 1e-5)",
    "statuses": "exit codes of a run that evaluated (default [0, 3, 4])",
}
REQUIRED_PARAMS = ("grid",)
ARGS = ("flags",)
GROUP = "run-surface"
EXPENSIVE = True


strategies = _runs.strategies


def heldout_windows(tokens, seq_length: int, batch_size: int, eval_batches: int | None):
    """(x, y) of the evaluated windows, all batches concatenated (their order does not change a mean)."""
    import torch

    tokens = torch.as_tensor(tokens).long()
    n = (len(tokens) - 1) // seq_length
    if eval_batches is not None:
        n = min(n, eval_batches * batch_size)
    assert n > 0, f"the held-out split ({len(tokens)} tokens) holds no window of {seq_length}+1 tokens"
    idx = (torch.arange(n) * seq_length)[:, None] + torch.arange(seq_length + 1)  # (n, T+1)
    rows = tokens[idx]
    return rows[:, :-1], rows[:, 1:]


def heldout_loss(model, x, y, chunk: int = 64) -> float:
    """Mean cross-entropy over every target token, float64, in chunks of rows (memory only)."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            logits = model(x[i : i + chunk]).double()  # (b, T, V)
            logp = torch.log_softmax(logits, dim=-1)
            total += float(-logp.gather(-1, y[i : i + chunk].unsqueeze(-1)).sum())
            count += y[i : i + chunk].numel()
    return total / count


def check(
    target, flags, grid, base=None, inputs="tiny", defaults=None, adapters=None, rtol=1e-5, statuses=(0, 3, 4)
):
    __tracebackhide__ = True
    surf = _runs.surface(target, adapters)
    run, _, _ = _runs.point_run(surf, flags, inputs)
    eff = _runs.effective(run, defaults)
    assert run.exit_code in statuses, f"{run.describe()}: the check needs a run that evaluated"
    seq, batch = int(_runs.flag(eff, None, "seq_length")), int(_runs.flag(eff, None, "batch_size"))
    eval_batches = eff.get("eval_batches")
    x, y = heldout_windows(surf.heldout_tokens(run.flags), seq, batch, eval_batches)
    evals = {r["epoch"]: r for r in run.evals}
    assert run.checkpoints, f"{run.describe()}: no checkpoint to evaluate"
    for ck in run.checkpoints:
        want = heldout_loss(surf.load_model(run.flags, ck["model"]), x, y)
        rec = evals.get(ck["epoch"])
        assert rec is not None, f"checkpoint of epoch {ck['epoch']} has no eval record in the log"
        for where, got in (
            ("logged", rec.get("val_loss")),
            ("checkpoint metadata", ck["metadata"].get("val_loss")),
        ):
            assert got is not None and _runs.close(float(got), want, rtol), (
                f"epoch {ck['epoch']}: {where} val_loss {got} but the checkpoint's weights score {want:.6f} "
                f"on the first {len(x)} held-out windows of {seq}+1 tokens (eval_batches {eval_batches}, "
                f"batch {batch}; per-token mean)"
            )
