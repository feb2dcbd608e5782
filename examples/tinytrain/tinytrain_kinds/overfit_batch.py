"""overfit-batch: a few updates on one fixed batch drive its loss well below where it started.

This project's own kind, found by pv through `[tool.pv].kinds` next to the built-ins (no registration
code, no stub files). It attacks the training step end to end — model, optimizer, schedule, update —
which a step that never reaches the weights (a zero lr, gradients cleared before the step, an update
applied to a copy) passes every shape check with.

Target: the model factory `(vocab_size, max_seq_len) -> torch.nn.Module` (called `model(input_ids=x,
labels=x).loss`). Adapters: `config` `(**fields) -> config`, `optimizer` `(config, model) ->
(optimizer, schedule)`, `update` `(optimizer, schedule, step, config) -> grad norm`.
Oracle: after `steps` updates the loss on the batch is at most `fraction` of its first value.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "overfit-batch"
SUMMARY = "a few updates on one fixed batch drive its loss below a fraction of its start"
PARAMS = {
    "config": "adapter (**fields) -> config",
    "config_kwargs": "fields of that config (a short warmup, a high lr)",
    "optimizer": "adapter (config, model) -> (optimizer, schedule)",
    "update": "adapter (optimizer, schedule, step, config) -> gradient norm",
    "vocab_size": "V of the model",
    "seq_len": "T of the batch",
    "steps": "updates to run (default 30)",
    "fraction": "the loss must end at most this fraction of its start (default 0.5)",
}
REQUIRED_PARAMS = ("config", "optimizer", "update", "vocab_size", "seq_len")
TARGET_PARAMS = ("config", "optimizer", "update")
ARGS = ("seed",)
EXPENSIVE = True


def strategies(**_):
    return {"seed": st.integers(0, 2**31 - 1)}


def check(target, seed, config, optimizer, update, vocab_size, seq_len, config_kwargs=None, steps=30,
          fraction=0.5):  # fmt: skip
    __tracebackhide__ = True
    import torch

    from pv.runtime import resolve

    make_config, make_optimizer, step_fn = resolve(config), resolve(optimizer), resolve(update)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: thread hand-offs cost more than the math
    try:
        _fit(
            target,
            seed,
            make_config,
            make_optimizer,
            step_fn,
            vocab_size,
            seq_len,
            config_kwargs,
            steps,
            fraction,
        )
    finally:
        torch.set_num_threads(threads)


def _fit(
    target, seed, make_config, make_optimizer, step_fn, vocab_size, seq_len, config_kwargs, steps, fraction
):
    __tracebackhide__ = True
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = target(vocab_size, seq_len)
        x = torch.randint(0, vocab_size, (2, seq_len))
    cfg = make_config(**(config_kwargs or {}))
    opt, schedule = make_optimizer(cfg, model)
    losses = []
    for s in range(steps):
        loss = model(input_ids=x, labels=x).loss
        losses.append(loss.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        step_fn(opt, schedule, s, cfg)
    with torch.no_grad():
        last = float(model(input_ids=x, labels=x).loss)
    assert last <= fraction * losses[0], (
        f"after {steps} updates on one batch (seed {seed}) the loss went {losses[0]:.3f} → {last:.3f}, "
        f"not below {fraction} of its start: the step does not train (losses {[round(v, 3) for v in losses]})"
    )
