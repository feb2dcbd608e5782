"""run-flags: what the drawn command-line flags predict about a real run's outcome and checkpoints.

Target: the stack's launcher (adapters and flags: `pv.kinds._runs`). Restated from the flags alone:

* `--vocab-size` below the tokenizer's vocabulary (`inputs`' vocab_size) is refused with `refusal`
  before anything is written (no run directory);
* a `--device` this machine does not have (cuda without torch.cuda, mps without MPS) is refused with
  `device_refusal`, never run elsewhere;
* otherwise the run trains (an exit code in `statuses`), and every checkpoint holds exactly the tensors
  `shapes` declares for the preset `presets[--model]`, with V = --vocab-size or the tokenizer's and
  `{layer}` standing for 0 … n_layer-1; every step record says `drive` (no flag → the real drive);
  the weights change from the first checkpoint to the last (the steps really trained).

`shapes` maps a tensor name to its dimensions; a dimension is an int or a product of names
(`3*d_model`) from the preset plus `vocab` and `seq_length`.
"""

from __future__ import annotations

from pv.kinds import _runs

NAME = "run-flags"
SUMMARY = "real CLI runs: vocab/device refusals, checkpoint shapes vs the flags, the real drive labelled"
PARAMS = {
    **_runs.COMMON_PARAMS,
    "presets": "{model: {dimension name: int}} the --model presets",
    "shapes": "{tensor name (with {layer}): [dims]} every checkpoint must hold exactly",
    "exit_codes": "{STATUS: exit code} (default: the surface's exit_codes adapter)",
    "refusal": "status for a --vocab-size below the tokenizer's (default PREFLIGHT)",
    "device_refusal": "status for an unavailable --device (default DEVICE_ERROR)",
    "statuses": "statuses of a run that trained (default OK, NOT_CONVERGED, EARLY_STOP)",
    "drive": "the drive label step records carry without --synthetic (default real)",
}
REQUIRED_PARAMS = ("grid", "presets", "shapes")
ARGS = ("flags",)
GROUP = "run-surface"
EXPENSIVE = True


strategies = _runs.strategies


def dim(expr, names: dict) -> int:
    """`3*d_model` → 3 · names["d_model"]; an int stays itself."""
    if isinstance(expr, int):
        return expr
    out = 1
    for factor in str(expr).split("*"):
        factor = factor.strip()
        out *= int(factor) if factor.isdigit() else int(names[factor])
    return out


def expected_shapes(shapes: dict, names: dict) -> dict[str, tuple[int, ...]]:
    out = {}
    for pattern, dims in shapes.items():
        layers = range(int(names["n_layer"])) if "{layer}" in pattern else [None]
        for i in layers:
            out[pattern.replace("{layer}", str(i))] = tuple(dim(d, names) for d in dims)
    return out


def device_available(device: str) -> bool:
    import torch

    d = str(device).lower()
    if d.startswith("cuda"):
        index = int(d.partition(":")[2] or 0)
        return torch.cuda.is_available() and index < torch.cuda.device_count()
    if d == "mps":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps and mps.is_available())
    return True


def check(
    target,
    flags,
    grid,
    presets,
    shapes,
    base=None,
    inputs="tiny",
    defaults=None,
    adapters=None,
    exit_codes=None,
    refusal="PREFLIGHT",
    device_refusal="DEVICE_ERROR",
    statuses=("OK", "NOT_CONVERGED", "EARLY_STOP"),
    drive="real",
):
    __tracebackhide__ = True
    surf = _runs.surface(target, adapters)
    exit_codes = _runs.exit_codes(surf, exit_codes)
    run, _, tok_vocab = _runs.point_run(surf, flags, inputs)
    eff = _runs.effective(run, defaults)
    desc = run.describe()
    vocab = int(eff.get("vocab_size") or tok_vocab)
    if vocab < tok_vocab:
        want = refusal
    elif not device_available(eff.get("device") or "cpu"):
        want = device_refusal
    else:
        want = None
    if want is not None:
        assert run.exit_code == exit_codes[want], f"{desc}: the flags must be refused with {want}"
        assert not run.run_dir.exists(), f"{desc}: a {want} refusal must write nothing, {run.run_dir} exists"
        return
    codes = [exit_codes[s] for s in statuses]
    assert run.exit_code in codes, f"{desc}: the flags ask for a run that trains ({', '.join(statuses)})"
    labels = {r.get("drive") for r in run.steps}
    assert run.steps and labels == {drive}, (
        f"{desc}: step records say drive {sorted(map(str, labels))}, not {drive!r}"
    )
    model = _runs.flag(eff, None, "model")
    assert model in presets, f"{desc}: --model {model} is not a declared preset ({sorted(presets)})"
    names = {**presets[model], "vocab": vocab, "seq_length": _runs.flag(eff, None, "seq_length")}
    want_shapes = expected_shapes(shapes, names)
    ckpts = run.checkpoints
    assert ckpts, f"{desc}: a run that trained left no checkpoint"
    for ck in ckpts:
        got = {k: tuple(v.shape) for k, v in ck["model"].items()}
        missing, extra = sorted(set(want_shapes) - set(got)), sorted(set(got) - set(want_shapes))
        wrong = [
            (k, got[k], want_shapes[k])
            for k in sorted(set(got) & set(want_shapes))
            if got[k] != want_shapes[k]
        ]
        assert not (missing or extra or wrong), (
            f"{desc}: checkpoint of epoch {ck['epoch']} does not hold the {model} preset at V={vocab}: "
            f"missing {missing[:4]}, unexpected {extra[:4]}, wrong (name, got, want) {wrong[:4]}"
        )
    first, last = ckpts[0]["model"], ckpts[-1]["model"]
    if len(ckpts) > 1:
        moved = [k for k in first if not first[k].equal(last[k])]
        assert moved, f"{desc}: no weight changed between the first and the last checkpoint"
