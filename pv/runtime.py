"""What generated falsifier tests import at run time, torch-free: the project root and `resolve`.

`resolve` turns a contract target (`module.path:attr`) into the object under attack, refusing anything
outside `[tool.pv].target_packages`, so a contract cannot make the gate import arbitrary code.
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path


class TargetError(Exception):
    """A falsifier target that is malformed, outside the allowed packages, or missing."""


def project_root() -> Path:
    """The project under test: $PV_PROJECT_ROOT (set by `pv gate`), else the root of the pv config
    found from the cwd (the nearest pyproject.toml, as `pv` itself finds it)."""
    env = os.environ.get("PV_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    from pv.config import load_config

    return load_config(Path.cwd()).root


def target_packages(root: Path | None = None) -> tuple[str, ...]:
    return _target_packages(root or project_root())


@functools.cache
def _target_packages(root: Path) -> tuple[str, ...]:
    """`[tool.pv].target_packages` of the project under test, read with pv's own config loader."""
    from pv.config import load_config
    from pv.errors import PvError

    try:
        cfg = load_config(root)
    except PvError as exc:
        raise TargetError(f"cannot read [tool.pv].target_packages: {exc}") from exc
    if not cfg.target_packages:
        raise TargetError(
            f"{cfg.root}: no [tool.pv].target_packages in {cfg.root / 'pyproject.toml'}; run the falsifiers "
            f"from the project under test (or set PV_PROJECT_ROOT) and list its packages there"
        )
    return cfg.target_packages


def check_allowed(target: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    """Split `module:attr` and refuse modules outside `allowed` (exact package or a submodule of it)."""
    module, _, attr = target.partition(":")
    if not module or any(not part.isidentifier() for part in module.split(".")):
        raise TargetError(f"target {target!r} is not a dotted module path (module.path[:attr])")
    if not any(module == pkg or module.startswith(pkg + ".") for pkg in allowed):
        raise TargetError(
            f"target {target!r} is outside [tool.pv].target_packages {list(allowed)}; "
            f"point the falsifier at code of this project or add the package to target_packages"
        )
    return module, attr


def resolve(target: str):
    """Import and return the object `module.path:attr.sub` (or the module itself without `:attr`)."""
    module_name, attr = check_allowed(target, target_packages())
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"target {target!r}: cannot import {module_name}: {exc}") from exc
    for part in filter(None, attr.split(".")):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise TargetError(f"target {target!r}: {module_name} has no attribute {attr!r}") from exc
    return obj


def resolve_sibling(target: str, name: str):
    """Another attribute of the target's module, e.g. the resolver next to a click command."""
    module_name, _ = check_allowed(target, target_packages())
    return resolve(name if ":" in name else f"{module_name}:{name}")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")
