"""optimizer-schedule: the optimizer and learning-rate schedule a trainer really builds from a config,
stepped, against the contract's rules restated here (warmup + cosine, decay policy, clipping, AdamW).

Target: a factory `(config, model) -> (optimizer, schedule)` — the trainer's own build path. `schedule`
is a callable `schedule(step) -> lr` (0-based update index) or a torch LRScheduler (read with
`get_last_lr()` and advanced with `.step()`). Adapters (dotted `module:attr`):
  config(**fields) -> the trainer's config; drawn knobs land in the fields named by `config_fields`
  model(vocab_size, max_seq_len, **model_kwargs) -> torch.nn.Module (the parameter structure to group)
  update(optimizer, schedule, step, config) -> pre-clip gradient norm: one update exactly as a training
      step performs it once `.grad` holds the gradients (lr for `step`, clipping, the optimizer step)
Drawn: `knobs` (lr, warmup_steps, total_steps, weight_decay, grad_clip) and `seed` (gradients).

Properties (param `property`):
  schedule  for every update 0..N+1, lr == the rule: peak·(s+1)/W while s < W, then
            floor + ½(peak − floor)(1 + cos(π·min(1, (s − W)/max(1, N − W)))), floor = min_lr_fraction·peak
  groups    every trainable tensor in exactly one group; a group's weight_decay is the configured value
            for the tensor classes `decay` says decay (matrices, embeddings, norms, biases) and 0 for the
            others; betas and eps as pinned
  update    N updates with drawn gradients whose norms range from far below to far above the clip: each
            returns the pre-clip norm (recomputed here), leaves gradients of norm ≤ clip, and moves every
            weight as a float64 AdamW written here does (decoupled decay by policy, bias correction, the
            rule's lr, gradients clipped before the step)
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from pv.kinds._surface import on_one_thread

NAME = "optimizer-schedule"
SUMMARY = (
    "the trainer's optimizer + lr schedule from a drawn config, stepped: warmup/cosine, decay groups, clip"
)
PROPERTIES = ("schedule", "groups", "update")
KNOBS = ("lr", "warmup_steps", "total_steps", "weight_decay", "grad_clip")
DEFAULT_FIELDS = {k: k for k in KNOBS} | {"total_steps": "num_steps"}
CLASSES = ("matrices", "embeddings", "norms", "biases")
PARAMS = {
    "property": " | ".join(PROPERTIES),
    "config": "adapter (**fields) -> config (required)",
    "config_fields": "knob -> config field for lr, warmup_steps, total_steps, weight_decay, grad_clip "
    "(default: same names, total_steps -> num_steps)",
    "config_kwargs": "fixed extra config fields (e.g. paths the config requires)",
    "model": "adapter (vocab_size, max_seq_len, **model_kwargs) -> torch.nn.Module (required)",
    "model_kwargs": "keyword arguments of the model adapter (default: vocab_size 64, max_seq_len 8)",
    "update": "adapter (optimizer, schedule, step, config) -> pre-clip grad norm (required by update)",
    "betas": "pinned AdamW betas [beta1, beta2]",
    "eps": "pinned AdamW eps",
    "min_lr_fraction": "pinned floor of the cosine, as a fraction of the peak lr",
    "decay": "pinned decay policy {matrices, embeddings, norms, biases: true | false}",
}
REQUIRED_PARAMS = ("property", "config", "model", "betas", "eps", "min_lr_fraction", "decay")
TARGET_PARAMS = ("config", "model", "update")
ARGS = ("knobs", "seed")
EXPENSIVE = True  # every example builds a model and an optimizer, the update property steps them


def strategies(property, **_):
    if property not in PROPERTIES:
        raise ValueError(
            f"unknown optimizer-schedule property {property!r}; use one of {', '.join(PROPERTIES)}"
        )
    longest = 300 if property == "schedule" else 6  # the update check steps a model: a few updates

    @st.composite
    def knobs(draw):
        total = draw(st.integers(1, longest))
        return {
            "lr": draw(st.floats(1e-5, 1e-1)),
            "warmup_steps": draw(st.integers(0, total + 2)),  # warmup longer than the budget is legal
            "total_steps": total,
            "weight_decay": draw(st.sampled_from([0.0, 0.1]) | st.floats(0.01, 0.5)),
            "grad_clip": draw(st.floats(0.05, 5.0)),
        }

    return {"knobs": knobs(), "seed": st.integers(0, 2**31 - 1) if property == "update" else st.just(0)}


def expected_lr(step: int, peak: float, warmup: int, total: int, floor_fraction: float) -> float:
    """The contract's schedule: linear warmup that reaches peak at update W, then a half cosine."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    floor = floor_fraction * peak
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


def _check(
    target,
    knobs,
    seed,
    property,
    config,
    model,
    betas,
    eps,
    min_lr_fraction,
    decay,
    config_fields=None,
    config_kwargs=None,
    model_kwargs=None,
    update=None,
):
    __tracebackhide__ = True
    import torch

    from pv.runtime import resolve

    unknown = sorted(set(decay) - set(CLASSES))
    if unknown:
        raise ValueError(f"decay policy names unknown tensor classes {unknown}; use {', '.join(CLASSES)}")
    fields = {**DEFAULT_FIELDS, **(config_fields or {})}
    cfg = resolve(config)(**(config_kwargs or {}), **{fields[k]: knobs[k] for k in KNOBS})
    net = resolve(model)(**({"vocab_size": 64, "max_seq_len": 8} | (model_kwargs or {})))
    with torch.no_grad():  # O(1) weights, so decoupled decay (lr·wd·w) is visible next to Adam's step
        g = torch.Generator().manual_seed(seed)
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    optimizer, schedule = target(cfg, net)
    peak, warm, total = knobs["lr"], knobs["warmup_steps"], knobs["total_steps"]

    def rule(s: int) -> float:
        return expected_lr(s, peak, warm, total, min_lr_fraction)

    if property == "schedule":
        got = _lrs(schedule, total + 2)
        for s, lr in enumerate(got):
            assert math.isclose(lr, rule(s), rel_tol=1e-9, abs_tol=1e-15), (
                f"update {s}: schedule gives lr {lr!r}, the rule gives {rule(s)!r} (peak {peak}, "
                f"warmup {warm}, total {total}, floor {min_lr_fraction}·peak)"
            )
        return
    wanted = _policy_decay(net, decay, knobs["weight_decay"])
    if property == "groups":
        _check_groups(optimizer, net, wanted, betas, eps)
        return
    if property != "update":
        raise ValueError(f"unknown optimizer-schedule property {property!r}")
    if update is None:
        raise ValueError("property update needs the `update` adapter (optimizer, schedule, step, config)")
    _check_updates(resolve(update), optimizer, schedule, cfg, net, wanted, rule, betas, eps, knobs, seed)


def _lrs(schedule, n: int) -> list[float]:
    if callable(schedule) and not hasattr(schedule, "get_last_lr"):
        return [float(schedule(s)) for s in range(n)]
    out = []
    for _ in range(n):  # a torch LRScheduler: the lr of update s is the one set before it
        out.append(float(schedule.get_last_lr()[0]))
        schedule.optimizer.step()
        schedule.step()
    return out


def _classes(net) -> dict[int, str]:
    """Tensor class of every parameter, from the module that owns it (a tied tensor counts as embedding)."""
    import torch

    found: dict[int, str] = {}
    for module in net.modules():
        for name, p in module.named_parameters(recurse=False):
            if isinstance(module, torch.nn.Embedding):
                kind = "embeddings"
            elif name == "bias":
                kind = "biases"
            elif p.dim() < 2:
                kind = "norms"  # 1-D gains of RMSNorm / LayerNorm
            else:
                kind = "matrices"
            if found.get(id(p)) != "embeddings":
                found[id(p)] = kind
    return found


def _policy_decay(net, decay: dict, weight_decay: float) -> dict[int, float]:
    classes = _classes(net)
    return {id(p): weight_decay if decay.get(classes[id(p)], False) else 0.0 for p in net.parameters()}


def _names(net) -> dict[int, str]:
    return {id(p): n for n, p in net.named_parameters()}


def _check_groups(optimizer, net, wanted, betas, eps) -> None:
    names, seen = _names(net), {}
    for i, group in enumerate(optimizer.param_groups):
        for p in group["params"]:
            assert id(p) not in seen, f"{names.get(id(p), '?')} is in groups {seen[id(p)]} and {i}"
            seen[id(p)] = i
            assert math.isclose(group["weight_decay"], wanted[id(p)], rel_tol=1e-12), (
                f"{names.get(id(p), '?')} has weight_decay {group['weight_decay']}, the policy says "
                f"{wanted[id(p)]}"
            )
        assert tuple(group["betas"]) == tuple(betas), f"group {i} has betas {group['betas']}, pinned {betas}"
        assert group["eps"] == eps, f"group {i} has eps {group['eps']}, pinned {eps}"
    lost = [n for n, p in net.named_parameters() if p.requires_grad and id(p) not in seen]
    assert not lost, f"trainable tensors in no optimizer group (never updated): {lost[:5]}"


def _check_updates(update, optimizer, schedule, cfg, net, wanted, rule, betas, eps, knobs, seed) -> None:
    import torch

    params = [p for p in net.parameters() if p.requires_grad]
    names = _names(net)
    b1, b2 = betas
    clip = knobs["grad_clip"]
    g = torch.Generator().manual_seed(seed + 1)
    ref = {id(p): p.detach().double().clone() for p in params}
    m = {id(p): torch.zeros_like(ref[id(p)]) for p in params}
    v = {id(p): torch.zeros_like(ref[id(p)]) for p in params}
    for s in range(knobs["total_steps"]):
        raw = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
        # total norms from 1e-7·clip to 100·clip: clipped and unclipped steps, eps-dominated ones too
        factor = 10 ** (torch.rand((), generator=g, dtype=torch.float64) * 9 - 7).item()
        norm = math.sqrt(sum(float(r.pow(2).sum()) for r in raw))
        grads = [(r * (clip * factor / norm)).float() for r in raw]
        for p, gr in zip(params, grads, strict=True):
            p.grad = gr.clone()
        pre = math.sqrt(sum(float(gr.double().pow(2).sum()) for gr in grads))
        got = float(update(optimizer, schedule, s, cfg))
        assert math.isclose(got, pre, rel_tol=1e-4), (
            f"update {s}: pre-clip norm returned {got}, measured {pre}"
        )
        post = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in params if p.grad is not None))
        assert post <= clip * (1 + 1e-4), (
            f"update {s}: gradients of norm {post:.4g} left after a clip of {clip}"
        )
        coef = min(1.0, clip / (pre + 1e-6))  # clip before the step
        lr, k = rule(s), s + 1
        for p, gr in zip(params, grads, strict=True):
            i = id(p)
            gd = gr.double() * coef
            ref[i] = ref[i] * (1 - lr * wanted[i])
            m[i] = b1 * m[i] + (1 - b1) * gd
            v[i] = b2 * v[i] + (1 - b2) * gd * gd
            ref[i] = ref[i] - (lr / (1 - b1**k)) * m[i] / (v[i].sqrt() / math.sqrt(1 - b2**k) + eps)
        for p in params:
            err = float((p.detach().double() - ref[id(p)]).abs().max())
            bound = 1e-3 * lr + 1e-6 * float(ref[id(p)].abs().max())
            assert err <= bound, (
                f"update {s}: {names.get(id(p), '?')} is {err:.3g} away from AdamW with lr {lr:.4g} "
                f"(the rule), betas {tuple(betas)}, eps {eps}, weight_decay {wanted[id(p)]}, gradients "
                f"clipped to {clip} before the step (knobs {knobs})"
            )


check = on_one_thread(_check)
