"""The run surface: what pv's run-level kinds need from a training stack, and one shared run cache.

A falsifier's `target` is the stack's **launcher**; the other adapters are attributes of the same
module (override a name with the `adapters` param, `{role: "module:attr"}`). Signatures:

  launch(flags: dict, run_dir: Path) -> int | (int, str)
      Run one training run into run_dir (which does not exist yet) and return its exit code (and,
      optionally, its console output for messages). Flags use the canonical names below; True is a
      bare flag, None or False means "not given".
  read_log(run_dir) -> list[dict]
      The run's log as canonical records, in order. `kind` is "step" (one optimizer step) or "eval"
      (one evaluation); other kinds (a cycle notice…) are kept and ignored unless a kind asks.
      step records: step (1-based), epoch, train_loss, grad_norm (before clipping), lr, tokens_seen
      (cumulative), tokens_per_sec, step_wall_ms, drive. eval records: epoch, step (the last step it
      follows), val_loss, train_loss (mean of that epoch's steps), grad_norm_max, tokens_seen, lr.
  read_checkpoints(run_dir) -> list[dict]
      Every complete checkpoint, oldest first: {"epoch", "step", "model": {name: tensor},
      "optimizer": {"groups": [{"names": [...], "lr", "weight_decay", "betas", "eps"}, ...],
      "state": {name: {"exp_avg", "exp_avg_sq", "step"}}}, "metadata": {...eval record fields}}.
  load_model(flags, state) -> torch.nn.Module
      The architecture the flags name, holding `state`; calling it on ids (B, T) gives logits (B, T, V).
  heldout_tokens(flags) / train_tokens(flags) -> 1-D integer tensor
      A split's token ids as stored (read from the files, not through the loader under test).
  batch_at(flags, step) -> (x, y)
      The batch the stack's documented data order assigns to 1-based `step` for these flags.
  interrupt(run_dir, step)
      Leave run_dir exactly as a kill right after `step` (and that step's checkpoint, if any) would.
  inputs(name) -> {"flags": {...}, "vocab_size": int}
      Named tiny inputs (dataset, tokenizer…) to run on, with the tokenizer's vocabulary size.
  exit_codes: {status: int}
      The launcher's exit code per status (OK, NOT_CONVERGED, EARLY_STOP, DIVERGENCE, NONFINITE,
      PREFLIGHT, DATA_ERROR, DEVICE_ERROR); a kind's `exit_codes` param overrides it.

Canonical flags: num_steps, steps_per_epoch, batch_size, seq_length, model, vocab_size, lr,
warmup_steps, weight_decay, grad_clip, seed, eval_batches, patience, target_val_loss, mode, device,
allow_shard_cycle, resume. A kind reads a flag from the drawn flags, else from the `defaults` param.

Runs are cached per process by (launcher, inputs, flags): every falsifier that draws the same flags
reads the same run, so a handful of ~1 s runs serves a whole contract.
"""

from __future__ import annotations

import atexit
import itertools
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

ROLES = (
    "read_log",
    "read_checkpoints",
    "load_model",
    "heldout_tokens",
    "train_tokens",
    "batch_at",
    "interrupt",
    "inputs",
    "exit_codes",
)
MAX_GRID = 64  # drawn flag sets per falsifier: runs are ~1 s each
COMMON_PARAMS = {
    "inputs": "name passed to the inputs adapter (default tiny)",
    "base": "{flag: value} under every drawn point",
    "grid": "the drawn points: a list of {flag: value}, or {flag: [choices]} for every combination "
    "(null = flag not given)",
    "defaults": "{flag: value} the stack uses when a flag is not given (what the oracle assumes)",
    "adapters": "{role: module:attr} overriding the launcher module's adapter names",
}


class SurfaceError(AssertionError):
    """The surface cannot be driven as declared (a falsifier setup problem, reported as a failure)."""


@dataclass
class Surface:
    launch: Callable[..., Any]
    adapters: dict[str, Any]

    def __getattr__(self, role: str) -> Any:
        try:
            return self.__dict__["adapters"][role]
        except KeyError:
            raise SurfaceError(
                f"the run surface has no {role!r} adapter: define {role}() next to the launcher or pass "
                f"adapters: {{{role}: module:attr}}"
            ) from None


def surface(target: Callable[..., Any], adapters: Mapping[str, str] | None = None) -> Surface:
    """The launcher plus its sibling adapters, each resolved through pv.runtime (target_packages)."""
    from pv.runtime import resolve

    module = getattr(target, "__module__", None)
    found: dict[str, Any] = {}
    for role in ROLES:
        name = (adapters or {}).get(role) or (adapters or {}).get(role.upper())
        if name is not None:
            found[role] = resolve(name)
        elif module is not None:
            for attr in (role, role.upper()):  # a table adapter may be a module constant (EXIT_CODES)
                try:
                    found[role] = resolve(f"{module}:{attr}")
                    break
                except Exception:  # an adapter a kind does not need may be absent
                    continue
    return Surface(target, found)


def grid_points(grid: Any, base: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The points a falsifier draws from, in a fixed order: an explicit list of flag sets, or every
    combination of {flag: [choices]} (the first choice of each flag first); `base` goes under each."""
    if isinstance(grid, list):
        points = [dict(p) for p in grid]
        if not points or not all(isinstance(p, dict) for p in grid):
            raise ValueError(f"grid must be a non-empty list of {{flag: value}} mappings, got {grid!r}")
    else:
        grid = dict(grid or {})
        for name, choices in grid.items():
            if not isinstance(choices, list) or not choices:
                raise ValueError(f"grid.{name} must be a non-empty list of choices, got {choices!r}")
        points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    if len(points) > MAX_GRID:
        raise ValueError(f"the grid has {len(points)} points; at most {MAX_GRID} (runs are costly)")
    return [{**(base or {}), **p} for p in points]


def grid_strategy(grid: Any, base: Mapping[str, Any] | None = None):
    """One drawn point: a single index into the grid, so shrinking can only walk towards the first
    point (a few cached runs), never across flags the property does not use."""
    from hypothesis import strategies as st

    return st.sampled_from(grid_points(grid, base))


def strategies(grid, base=None, **_params):
    """Every run kind's `strategies`: its one argument, `flags`, is a point of the grid."""
    return {"flags": grid_strategy(grid, base)}


@dataclass
class Run:
    flags: dict[str, Any]
    run_dir: Path
    exit_code: int
    output: str
    wall_s: float
    surface: Surface = field(repr=False)

    @cached_property
    def log(self) -> list[dict[str, Any]]:
        return self.surface.read_log(self.run_dir) if self.run_dir.exists() else []

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [r for r in self.log if r.get("kind") == "step"]

    @property
    def evals(self) -> list[dict[str, Any]]:
        return [r for r in self.log if r.get("kind") == "eval"]

    @cached_property
    def checkpoints(self) -> list[dict[str, Any]]:
        return self.surface.read_checkpoints(self.run_dir) if self.run_dir.exists() else []

    def describe(self) -> str:
        tail = self.output.strip().splitlines()[-3:]
        shown = {k: v for k, v in self.flags.items() if k not in ("dataset", "tokenizer")}
        return f"run {shown} exited {self.exit_code}" + (f" ({' | '.join(tail)})" if tail else "")


_CACHE: dict[tuple, Run] = {}
_SCRATCH: list[Path] = []


def scratch_dir(name: str) -> Path:
    """A fresh, not yet existing directory in this process's scratch folder (removed at exit)."""
    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="pv-runs-")))
        atexit.register(shutil.rmtree, _SCRATCH[0], ignore_errors=True)
    for i in itertools.count():
        candidate = _SCRATCH[0] / f"{name}-{i}"
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")


def _key(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_key(v) for v in value)
    return value


def base_flags(surf: Surface, inputs: str) -> tuple[dict[str, Any], int]:
    got = surf.inputs(inputs)
    return dict(got["flags"]), int(got["vocab_size"])


def launch(surf: Surface, flags: dict[str, Any], run_dir: Path | None = None) -> Run:
    """Launch once into a fresh directory (or `run_dir`), timing it with this process's clock."""
    run_dir = run_dir or scratch_dir("run")
    t0 = time.perf_counter()
    got = surf.launch(dict(flags), run_dir)
    wall = time.perf_counter() - t0
    code, output = got if isinstance(got, tuple) else (got, "")
    return Run(dict(flags), Path(run_dir), int(code), str(output), wall, surf)


# Keys of a drawn point that are not flags: which inputs to run on, the status the point must end with,
# the step after which a resume falsifier kills the run.
RESERVED = ("inputs", "expect", "stop")


def split_point(point: Mapping[str, Any], inputs: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(inputs name, flags, reserved extras) of a drawn point."""
    extras = {k: point[k] for k in RESERVED if k in point}
    flags = {k: v for k, v in point.items() if k not in RESERVED}
    return str(extras.pop("inputs", inputs)), flags, extras


def cached_run(surf: Surface, inputs: str, drawn: Mapping[str, Any]) -> Run:
    """The run of `inputs` + drawn flags, launched once per process."""
    base, _ = base_flags(surf, inputs)
    flags = {**base, **{k: v for k, v in drawn.items() if v is not None}}
    key = (id(surf.launch), inputs, _key(flags))
    if key not in _CACHE:
        _CACHE[key] = launch(surf, flags)
    return _CACHE[key]


def point_run(surf: Surface, point: Mapping[str, Any], inputs: str) -> tuple[Run, dict[str, Any], int]:
    """The cached run of a drawn point, its reserved extras and the inputs' vocabulary size."""
    name, flags, extras = split_point(point, inputs)
    _, vocab = base_flags(surf, name)
    return cached_run(surf, name, flags), extras, vocab


def effective(run: Run, defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's flags over the declared defaults (what the stack should have used)."""
    return {**(defaults or {}), **{k: v for k, v in run.flags.items() if v is not None}}


def exit_codes(surf: Surface, given: Mapping[str, int] | None) -> dict[str, int]:
    return dict(given) if given else dict(surf.exit_codes)


def flag(flags: Mapping[str, Any], defaults: Mapping[str, Any] | None, name: str) -> Any:
    """A flag's effective value: given, else the declared default; missing both is a setup error."""
    if flags.get(name) is not None:
        return flags[name]
    if defaults and name in defaults:
        return defaults[name]
    raise SurfaceError(f"the oracle needs {name!r}: draw it in the grid or declare it in defaults")


def close(a: float, b: float, rel: float, abs_: float = 0.0) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
