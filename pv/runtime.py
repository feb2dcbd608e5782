"""What generated falsifier tests import at run time, torch-free: the project root and `resolve`.

`resolve` turns a contract target (`module.path:attr.sub`) into the object under attack. It refuses
anything outside `[tool.pv].target_packages`, hop by hop: the module, and every object the attribute
chain reaches (a module must be inside the packages, a function, method or class must be defined
there, a C function has no allowed module), so neither `trainer.cli:os.system` nor a kind's adapter
param (`selector: trainer.cli:click.utils.os.system`) can make the gate run code outside the project.
`pv validate` makes the same check statically (pv.targets); this one judges the real objects.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import types
from pathlib import Path

# Dunder hops (`__builtins__`, `__globals__`, `__class__`, ...) lead into the interpreter, never to an
# object the project defines for a contract to attack.
DUNDER = re.compile(r"\A__\w*__\Z")
_DESCRIPTORS = (
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.MethodWrapperType,
    types.ClassMethodDescriptorType,
    types.GetSetDescriptorType,
    types.MemberDescriptorType,
)


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


def in_packages(module: str, allowed: tuple[str, ...]) -> bool:
    """`module` is one of the packages or a submodule of one (`trainerx` is not inside `trainer`)."""
    return any(module == pkg or module.startswith(pkg + ".") for pkg in allowed)


def check_allowed(target: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    """Split `module:attr` and refuse malformed targets and modules outside `allowed` (a string check;
    `resolve` goes on to check every object the attribute chain reaches)."""
    if not isinstance(target, str):
        raise TargetError(f"target {target!r} is not a string (module.path[:attr])")
    module, _, attr = target.partition(":")
    parts = module.split(".") + (attr.split(".") if attr else [])
    if not module or any(not p.isidentifier() or not p.isascii() for p in parts):
        raise TargetError(f"target {target!r} is not a dotted path (module.path[:attr.path])")
    dunder = next((p for p in parts if DUNDER.match(p)), None)
    if dunder is not None:
        raise TargetError(
            f"target {target!r} goes through {dunder!r}: dunder attributes lead into the interpreter, "
            "not to the project's code; name the project's object directly"
        )
    if not in_packages(module, allowed):
        raise TargetError(
            f"target {target!r} is outside [tool.pv].target_packages {list(allowed)}; "
            f"point the falsifier at code of this project or add the package to target_packages"
        )
    return module, attr


def defining_module(obj: object) -> tuple[bool, str | None]:
    """(is code, module): for a module its name, for a class, function or method the module that
    defines it, for a C function or slot the module of its owner (None for a method of a builtin
    object). Other values (instances, constants) are not code: the hop that reached them is judged."""
    if isinstance(obj, types.ModuleType):
        return True, obj.__name__
    if isinstance(obj, type):
        return True, getattr(obj, "__module__", None)
    if isinstance(obj, types.MethodType | staticmethod | classmethod):
        return defining_module(obj.__func__)
    if isinstance(obj, types.FunctionType):
        return True, obj.__module__
    if isinstance(obj, types.BuiltinFunctionType):  # `eval` (builtins), `{}.get` (None)
        module = getattr(obj, "__module__", None)
        owner = getattr(obj, "__self__", None)
        if module is None and isinstance(owner, types.ModuleType):
            module = owner.__name__
        return True, module if isinstance(module, str) else None
    if isinstance(obj, _DESCRIPTORS):  # `str.join`, `object.__init__`: C slots of a class
        return True, getattr(getattr(obj, "__objclass__", None), "__module__", None)
    return False, None


def check_object(target: str, where: str, obj: object, allowed: tuple[str, ...]) -> None:
    """Refuse `obj` (reached as `where` while resolving `target`) unless it is code of `allowed`."""
    code, module = defining_module(obj)
    if code and not (module and in_packages(module, allowed)):
        if isinstance(obj, types.ModuleType):
            what = f"the module {module}"
        else:
            what = f"code defined in {module}" if module else "code built into the interpreter"
        raise TargetError(
            f"target {target!r}: {where} is {what}, outside [tool.pv].target_packages {list(allowed)}; "
            "a falsifier may only reach this project's own objects"
        )


def _not_on_path_hint(module_name: str, exc: ImportError) -> str:
    """Why a package of the project is not importable when it lies right there: under a plain `pytest`
    nothing puts the project root on sys.path (`pv gate` does)."""
    top = module_name.partition(".")[0]
    if not isinstance(exc, ModuleNotFoundError) or exc.name != top:
        return ""
    from pv.errors import PvError

    try:
        root = project_root()
    except PvError:
        return ""
    for folder, base in ((".", root), ("src", root / "src")):
        if (base / top).is_dir() or (base / f"{top}.py").is_file():
            return (
                f" ({top} lies in {base}, which is not on sys.path; `pv gate` puts the project root there: "
                f'for a plain pytest run add pythonpath = ["{folder}"] to [tool.pytest.ini_options], or '
                "install the project with `pip install -e .`)"
            )
    return ""


def resolve(target: str, *, allowed: tuple[str, ...] | None = None):
    """Import and return the object `module.path:attr.sub` (or the module itself without `:attr`),
    checking the module and every hop of the attribute chain against `allowed` (default: the
    project's `[tool.pv].target_packages`)."""
    allowed = allowed if allowed is not None else target_packages()
    module_name, attr = check_allowed(target, allowed)
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        hint = _not_on_path_hint(module_name, exc)
        raise TargetError(f"target {target!r}: cannot import {module_name}: {exc}{hint}") from exc
    if getattr(obj, "__name__", None) != module_name:  # an alias planted in sys.modules
        raise TargetError(f"target {target!r}: importing {module_name} gave {obj!r}, not that module")
    check_object(target, module_name, obj, allowed)
    hops = attr.split(".") if attr else []
    for i, part in enumerate(hops):
        where = f"{module_name}:{'.'.join(hops[: i + 1])}"
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise TargetError(f"target {target!r}: {where} does not exist") from exc
        check_object(target, where, obj, allowed)
    return obj


def resolve_sibling(target: str, name: str):
    """Another attribute of the target's module, e.g. the resolver next to a click command. A name
    with a colon is a full target of its own; either way `resolve` checks every hop."""
    module_name, _ = check_allowed(target, target_packages())
    return resolve(name if ":" in name else f"{module_name}:{name}")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")
