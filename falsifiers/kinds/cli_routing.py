"""cli-routing: argv → parsed params → resolved config → drive, checked without running anything.

Parses hypothesis-drawn argv with click's `Command.make_context` (the command body never runs), resolves
the config with the module's pure resolver, asks the selector for the drive, and compares with the rule:
  no --synthetic → the real drive; --synthetic → the synthetic drive;
  --mode sets lr / warmup / target together from the contract's regime table; an explicit flag wins;
  --vocab-size is honoured (absent → None: the tokenizer's); an explicit --device is kept verbatim.
"""

from __future__ import annotations

import sys

from hypothesis import strategies as st

NAME = "cli-routing"
SUMMARY = "drawn argv through make_context + resolver + drive selector vs the routing rule"
PARAMS = {
    "resolver": "pure params→config function next to the command (default resolve_pretrain_config)",
    "selector": "dotted target of the drive selector (default trainer.loop:select_drive)",
    "regimes": "the contract's regime table {mode: {lr, warmup_steps, target_val_loss}}",
    "default_mode": "mode used without --mode",
    "required": "argv every invocation needs (default: --dataset d --tokenizer t --run-dir r)",
}
REQUIRED_PARAMS = ("regimes", "default_mode")
TARGET_PARAMS = ("selector",)
SIBLING_PARAMS = ("resolver",)
ARGS = ("flags",)

REAL, SYNTHETIC = "drive_real", "drive_synthetic"


def strategies(regimes, default_mode, resolver=None, selector=None, required=None):
    opt = st.none
    return {
        "flags": st.fixed_dictionaries(
            {
                "synthetic": st.booleans(),
                "mode": opt() | st.sampled_from(sorted(regimes)),
                "lr": opt() | st.sampled_from([1e-4, 3e-3]) | st.floats(1e-6, 1.0),
                "warmup_steps": opt() | st.integers(0, 500),
                "target_val_loss": opt() | st.floats(0.1, 9.0),
                "vocab_size": opt() | st.integers(2, 70000),
                "device": opt() | st.sampled_from(["cpu", "cuda", "cuda:1", "mps", "auto"]),
            }
        )
    }


def argv_for(flags: dict) -> list[str]:
    argv = ["--synthetic"] if flags.get("synthetic") else []
    for key in ("mode", "lr", "warmup_steps", "target_val_loss", "vocab_size", "device"):
        if flags.get(key) is not None:
            argv += [
                f"--{key.replace('_', '-')}",
                repr(flags[key]) if isinstance(flags[key], float) else str(flags[key]),
            ]
    return argv


def check(
    target,
    flags,
    regimes,
    default_mode,
    resolver="resolve_pretrain_config",
    selector="trainer.loop:select_drive",
    required=None,
):
    __tracebackhide__ = True
    from falsifiers.runtime import resolve, resolve_sibling

    required = required or ["--dataset", "d", "--tokenizer", "t", "--run-dir", "r"]
    argv = [*required, *argv_for(flags)]
    ctx = target.make_context(target.name or "pretrain", list(argv))
    cfg = resolve_sibling(_module_target(target), resolver)(dict(ctx.params))
    drive = resolve(selector)(cfg)
    want_drive = SYNTHETIC if flags.get("synthetic") else REAL
    got_drive = getattr(drive, "__name__", repr(drive))
    assert got_drive == want_drive, f"argv {argv} routes to {got_drive}, the contract says {want_drive}"
    assert bool(cfg.synthetic) == bool(flags.get("synthetic")), (
        f"argv {argv}: config synthetic={cfg.synthetic}"
    )
    mode = flags.get("mode") or default_mode
    assert cfg.mode == mode, f"argv {argv}: mode {cfg.mode!r}, want {mode!r}"
    for key in ("lr", "warmup_steps", "target_val_loss"):
        want = flags[key] if flags.get(key) is not None else regimes[mode][key]
        got = getattr(cfg, key)
        assert got == want, (
            f"argv {argv}: {key} = {got!r}, want {want!r} "
            f"({'explicit flag' if flags.get(key) is not None else f'{mode} regime default'})"
        )
    want_vocab = flags.get("vocab_size")
    assert cfg.vocab_size == want_vocab, f"argv {argv}: vocab_size {cfg.vocab_size!r}, want {want_vocab!r}"
    if flags.get("device") is not None:
        assert cfg.device == flags["device"], f"argv {argv}: device {cfg.device!r}, want {flags['device']!r}"


def _module_target(command) -> str:
    callback = getattr(command, "callback", None)
    module = getattr(callback, "__module__", None) or type(command).__module__
    return f"{module}:{getattr(callback, '__name__', 'x')}"


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
