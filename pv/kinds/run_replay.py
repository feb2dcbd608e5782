"""run-replay: every optimizer step of a real run, replayed from its checkpoints by an independent AdamW.

Target: the stack's launcher (adapters and flags: `pv.kinds._runs`). The drawn flags must checkpoint
after every step (steps_per_epoch 1), so for each pair of consecutive checkpoints (step s-1, step s)
the oracle holds the weights and optimizer state before step s and the batch of step s (`batch_at`).
It then restates, in float64 and without calling the stack:

* the loss: cross-entropy of the model's logits on that batch = the step record's train_loss;
* the gradient norm: the global L2 norm of the gradient of that loss = the logged grad_norm (the
  norm *before* clipping);
* the learning rate: linear warmup over `warmup_steps` to the peak `lr`, then cosine decay to
  `min_lr_fraction` of it at the end of `num_steps` = the logged lr, for every step;
* the update: gradients scaled by min(1, grad_clip / (norm + 1e-6)), then decoupled AdamW (decay
  `weight_decay` on tensors of at least `decay_ndim` dimensions, none on the others) = the weights and
  AdamW moments in checkpoint s, and the checkpoint's parameter groups carry those decay values.

Flags that set the update (lr, warmup_steps, weight_decay, grad_clip, seed, num_steps) therefore have to
arrive: a value dropped anywhere between the command line and the optimizer moves the replayed weights.
AdamW's betas and eps are read from the run's own optimizer state (they are not flags here).
"""

from __future__ import annotations

import itertools
import math

from pv.kinds import _runs

NAME = "run-replay"
SUMMARY = (
    "each step of a real CLI run replayed from its checkpoints: loss, pre-clip grad norm, lr, AdamW update"
)
PARAMS = {
    **_runs.COMMON_PARAMS,
    "min_lr_fraction": "cosine floor as a fraction of the peak lr",
    "decay_ndim": "tensors with at least this many dimensions get weight decay (default 2)",
    "rtol": "relative tolerance for loss and grad norm (default 1e-4)",
    "update_tol": "tolerated error of each tensor's update, relative to the update's norm (default 1e-3)",
    "statuses": "exit codes of a run that trained (default [0, 3, 4])",
}
REQUIRED_PARAMS = ("grid", "min_lr_fraction")
ARGS = ("flags",)
GROUP = "run-surface"
EXPENSIVE = True


strategies = _runs.strategies


def lr_at(step: int, peak: float, warmup: int, num_steps: int, min_fraction: float) -> float:
    """The declared schedule for 1-based `step`."""
    k = step - 1
    if k < warmup:
        return peak * (k + 1) / warmup
    progress = min(1.0, (k - warmup) / max(1, num_steps - warmup))
    floor = min_fraction * peak
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


def _loss_and_grads(model, x, y):
    import torch

    logits = model(x).double()  # (B, T, V)
    logp = torch.log_softmax(logits, dim=-1)
    loss = -logp.gather(-1, y.unsqueeze(-1)).mean()
    grads = torch.autograd.grad(loss, [p for _, p in model.named_parameters()])
    return float(loss.detach()), dict(zip([n for n, _ in model.named_parameters()], grads, strict=True))


def _group_of(groups, name):
    for g in groups:
        if name in g["names"]:
            return g
    raise AssertionError(f"parameter {name} is in no optimizer parameter group of the checkpoint")


def _replay_step(before, after, model_a, model_b, record, x, y, hp, decay_ndim, rtol, update_tol):
    """One step: oracle values from checkpoint `before` and the batch vs the log and checkpoint `after`."""
    __tracebackhide__ = True
    s = record["step"]
    loss, grads = _loss_and_grads(model_a, x, y)
    assert _runs.close(loss, record["train_loss"], rtol), (
        f"step {s}: the logged train_loss {record['train_loss']} is not the loss {loss:.6f} of the "
        f"step-{s - 1} weights on the batch the data order gives step {s} (wrong batch, seed or loss)"
    )
    norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads.values()))
    assert _runs.close(norm, record["grad_norm"], rtol), (
        f"step {s}: logged grad_norm {record['grad_norm']} but the gradient's norm before clipping is "
        f"{norm:.6f} (clip {hp['grad_clip']})"
    )
    coef = min(1.0, hp["grad_clip"] / (norm + 1e-6))
    lr = hp["lr"]
    new = dict(model_b.named_parameters())
    state_a, state_b = before["optimizer"]["state"], after["optimizer"]["state"]
    worst = (0.0, "")
    for name, p in model_a.named_parameters():
        group = _group_of(before["optimizer"]["groups"], name)
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        wd = hp["weight_decay"] if p.dim() >= decay_ndim else 0.0
        got_wd = _group_of(after["optimizer"]["groups"], name)["weight_decay"]
        assert _runs.close(got_wd, wd, 1e-9), (
            f"step {s}: {name} sits in an optimizer group with weight_decay {got_wd}; the flags and the "
            f"decay policy (tensors of >= {decay_ndim} dims) say {wd}"
        )
        st_a, st_b = state_a[name], state_b[name]
        t = int(st_a["step"]) + 1
        assert int(st_b["step"]) == t, f"step {s}: {name}'s AdamW step count is {int(st_b['step'])}, want {t}"
        g = grads[name].double() * coef
        m = beta1 * st_a["exp_avg"].double() + (1 - beta1) * g
        v = beta2 * st_a["exp_avg_sq"].double() + (1 - beta2) * g * g
        w = p.detach().double() * (1 - lr * wd)
        denom = (v.sqrt() / math.sqrt(1 - beta2**t)) + eps
        w = w - (lr / (1 - beta1**t)) * m / denom
        update = float((w - p.detach().double()).norm()) + 1e-30
        err = float((w - new[name].detach().double()).norm()) / update
        if err > worst[0]:
            worst = (err, name)
        for moment, want in (("exp_avg", m), ("exp_avg_sq", v)):
            rel = float((want - st_b[moment].double()).norm()) / (float(want.norm()) + 1e-30)
            assert rel <= 1e-3, (
                f"step {s}: {name}'s AdamW {moment} is off by {rel:.2%}: the gradient that reached the "
                f"optimizer is not min(1, clip/norm) x the gradient (clip {hp['grad_clip']}, norm {norm:.4f})"
            )
    assert worst[0] <= update_tol, (
        f"step {s}: the update of {worst[1]} is {worst[0]:.2%} away from AdamW(lr={lr:.6g}, weight_decay="
        f"{hp['weight_decay']}, grad_clip={hp['grad_clip']}) applied to the step-{s - 1} weights "
        f"(tolerance {update_tol:.2%} of the update)"
    )


def check(
    target,
    flags,
    grid,
    min_lr_fraction,
    base=None,
    inputs="tiny",
    defaults=None,
    adapters=None,
    decay_ndim=2,
    rtol=1e-4,
    update_tol=1e-3,
    statuses=(0, 3, 4),
):
    __tracebackhide__ = True
    surf = _runs.surface(target, adapters)
    run, _, _ = _runs.point_run(surf, flags, inputs)
    eff = _runs.effective(run, defaults)
    hp = {
        k: _runs.flag(eff, None, k) for k in ("lr", "warmup_steps", "weight_decay", "grad_clip", "num_steps")
    }
    assert run.exit_code in statuses, f"{run.describe()}: the replay needs a run that trained"
    steps = {r["step"]: r for r in run.steps}
    assert len(steps) == hp["num_steps"], f"{run.describe()}: {len(steps)} step records"
    for s, rec in steps.items():
        want = lr_at(s, hp["lr"], hp["warmup_steps"], hp["num_steps"], min_lr_fraction)
        assert _runs.close(rec["lr"], want, 1e-9), (
            f"step {s}: logged lr {rec['lr']} but warmup {hp['warmup_steps']} + cosine to "
            f"{min_lr_fraction} x {hp['lr']} over {hp['num_steps']} steps gives {want}"
        )
    ckpts = run.checkpoints
    pairs = [(a, b) for a, b in itertools.pairwise(ckpts) if b["step"] == a["step"] + 1]
    assert pairs, (
        f"{run.describe()}: no two checkpoints one step apart (checkpoint steps "
        f"{[c['step'] for c in ckpts]}); draw steps_per_epoch 1 so every step can be replayed"
    )
    for a, b in pairs:
        s = b["step"]
        model_a = surf.load_model(run.flags, a["model"])
        model_b = surf.load_model(run.flags, b["model"])
        x, y = surf.batch_at(run.flags, s)
        lr = lr_at(s, hp["lr"], hp["warmup_steps"], hp["num_steps"], min_lr_fraction)
        _replay_step(a, b, model_a, model_b, steps[s], x, y, {**hp, "lr": lr}, decay_ndim, rtol, update_tol)
