"""Static target checks: where a `module.path:attr.chain` leads, read from source, never imported.

`pv validate` and `pv generate` must not import project code, yet a target's attribute chain can leave
the allowed packages through a name the module imports (`trainer.cli:os.system`,
`trainer.cli:click.utils.os.system`). So the chain's first hop is looked up in the module's own
source with `ast`: a name defined there (def, class, assignment) is the project's; a name bound by
`import` is followed only into modules inside `target_packages`; an assignment that merely aliases
another name (`system = os.system`) is followed like the name itself. Hops past a definition are left
to the run-time check (`pv.runtime.resolve`), which judges the real objects.

API: check_target(target, packages, root, *, scratch=None) -> TargetProblem | None
     code_param_values(falsifier, ref, constants) -> [(param, raw, value)]   the code a falsifier names
"""

from __future__ import annotations

import ast
import importlib.util
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pv.runtime import DUNDER, in_packages

MAX_SOURCE_BYTES = 4 * 1024 * 1024
MAX_STEPS = 64  # alias / re-export hops followed before giving up (a cycle of re-exports)
# CPython 3.11's AST constructor is not safe under concurrent use in one process (see pv.kinds).
_AST_LOCK = threading.Lock()

OUTSIDE, ESCAPE, UNRESOLVED = "outside", "escape", "unresolved"


@dataclass(frozen=True)
class TargetProblem:
    kind: str  # OUTSIDE (module not in the packages) | ESCAPE (the chain leaves them) | UNRESOLVED
    message: str


@dataclass(frozen=True)
class _Binding:
    how: str  # "def" | "class" | "value" | "module" (import X) | "from" (from X import n) | "alias"
    line: int
    module: str = ""  # "module": the module bound; "from": the module imported from
    name: str = ""  # "from": the name imported; "alias": the dotted expression aliased


@dataclass
class _Module:
    path: Path
    names: dict[str, list[_Binding]] = field(default_factory=dict)
    dynamic: bool = False  # module-level __getattr__ or a star import: names pv cannot list
    error: str = ""


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None (a call, a literal, a subscript...)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _base_package(module: str, is_package: bool, level: int) -> str:
    parts = module.split(".") if is_package else module.split(".")[:-1]
    return ".".join(parts[: len(parts) - (level - 1)] if level > 1 else parts)


def _collect(stmts: list[ast.stmt], mod: _Module, dotted: str) -> None:
    """Top-level bindings, descending into if/try/with blocks (not into functions or classes)."""
    is_package = mod.path.name == "__init__.py"

    def bind(name: str, binding: _Binding) -> None:
        mod.names.setdefault(name, []).append(binding)

    for node in stmts:
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            bind(node.name, _Binding("def", line))
            mod.dynamic |= node.name == "__getattr__"
        elif isinstance(node, ast.ClassDef):
            bind(node.name, _Binding("class", line))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    bind(a.asname, _Binding("module", line, a.name))
                else:
                    top = a.name.split(".")[0]
                    bind(top, _Binding("module", line, top))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = _base_package(dotted, is_package, node.level)
                base = f"{pkg}.{base}" if base and pkg else (pkg or base)
            for a in node.names:
                if a.name == "*":
                    mod.dynamic = True
                else:
                    bind(a.asname or a.name, _Binding("from", line, base, a.name))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            alias = _dotted(node.value)
            for t in targets:
                if isinstance(t, ast.Name):
                    bind(t.id, _Binding("alias", line, name=alias) if alias else _Binding("value", line))
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody"):
                _collect(getattr(node, block, []) or [], mod, dotted)
            for handler in getattr(node, "handlers", []) or []:
                _collect(handler.body, mod, dotted)


def module_source(dotted: str, root: Path | None) -> Path | None:
    """The .py file of module `dotted` (a package: its __init__.py), found under `root` first, then
    where the import system would find its top-level package. Nothing is imported."""
    parts = dotted.split(".")
    bases = [root] if root is not None else []
    try:  # a top-level name: finds (through editable-install finders too), imports nothing
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        bases += [Path(p).parent for p in spec.submodule_search_locations]
    elif spec is not None and spec.origin and len(parts) == 1 and spec.origin.endswith(".py"):
        return Path(spec.origin)
    for base in bases:
        candidate = base.joinpath(*parts)
        for path in (candidate / "__init__.py", candidate.with_suffix(".py")):
            if path.is_file():
                return path
    return None


def _parse(dotted: str, root: Path, scratch: dict) -> _Module | None:
    cache = scratch.setdefault("target_modules", {})
    if dotted in cache:
        return cache[dotted]
    path = module_source(dotted, root)
    mod = None
    if path is not None:
        mod = _Module(path)
        scratch.setdefault("external_inputs", set()).add(str(path))
        try:
            if path.stat().st_size > MAX_SOURCE_BYTES:
                raise ValueError(f"over {MAX_SOURCE_BYTES} bytes")
            data = path.read_bytes()
            with _AST_LOCK:
                tree = ast.parse(data, filename=str(path))
            _collect(tree.body, mod, dotted)
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            mod.error = f"cannot parse {path} ({type(exc).__name__}: {exc})"
    else:  # a module that appears later must invalidate a cached report
        scratch.setdefault("external_inputs", set()).add(str(root.joinpath(*dotted.split("."))) + ".py")
    cache[dotted] = mod
    return mod


def check_target(
    target: object, packages: tuple[str, ...], root: Path, *, scratch: dict | None = None
) -> TargetProblem | None:
    """None when `target` stays inside `packages` as far as the source shows; else what is wrong."""
    scratch = scratch if scratch is not None else {}
    if not isinstance(target, str):
        return TargetProblem(ESCAPE, "not a string naming code (module.path[:attr])")
    module, _, attr = target.partition(":")
    hops = attr.split(".") if attr else []
    parts = module.split(".") + hops
    if not module or not all(p.isidentifier() and p.isascii() for p in parts):
        return TargetProblem(ESCAPE, "not a dotted path module.path[:attr.path]")
    dunder = next((p for p in parts if DUNDER.match(p)), None)
    if dunder is not None:
        return TargetProblem(
            ESCAPE, f"goes through {dunder}, which leads into the interpreter, not to the project's code"
        )
    if packages and not in_packages(module, packages):
        return TargetProblem(
            OUTSIDE, f"module {module} is outside [tool.pv].target_packages ({', '.join(packages)})"
        )
    if not packages:
        return None  # nothing configured: the runtime refuses every target (no target_packages)
    return _walk(module, hops, packages, root, scratch)


def _walk(
    module: str, hops: list[str], packages: tuple[str, ...], root: Path, scratch: dict
) -> TargetProblem | None:
    i, steps = 0, 0
    while i < len(hops) and steps < MAX_STEPS:
        steps += 1
        mod = _parse(module, root, scratch)
        if mod is None:
            return TargetProblem(UNRESOLVED, f"cannot find the source of module {module}")
        if mod.error:
            return TargetProblem(UNRESOLVED, mod.error)
        name = hops[i]
        bindings = mod.names.get(name)
        if not bindings:
            sub = f"{module}.{name}"
            if mod.path.name == "__init__.py" and module_source(sub, root) is not None:
                module, i = sub, i + 1  # a submodule, reached as an attribute of its package
                continue
            if mod.dynamic:
                return None  # names made at import time: the run-time check judges them
            return TargetProblem(UNRESOLVED, f"{module} ({mod.path}) defines no top-level {name!r}")
        for b in bindings:  # any import of outside code under this name is an escape
            imported = b.module if b.how in ("module", "from") else ""
            if imported and not in_packages(imported, packages):
                what = f"the module {imported}" if b.how == "module" else f"{imported}.{b.name}"
                return TargetProblem(
                    ESCAPE,
                    f"{name} in {module} is {what}, imported at {mod.path}:{b.line} from outside "
                    f"[tool.pv].target_packages ({', '.join(packages)})",
                )
        last = bindings[-1]
        if last.how == "module":
            module, i = last.module, i + 1
        elif last.how == "from":
            module, hops = last.module, [*hops[:i], last.name, *hops[i + 1 :]]
        elif last.how == "alias":
            hops = [*hops[:i], *last.name.split("."), *hops[i + 1 :]]
        else:
            return None  # defined here: the project's own object
    return None


def code_param_values(falsifier: dict, ref, constants: object) -> list[tuple[str, object, object]]:
    """(param, as written, target string) for every param the kind declares as naming code; a
    `$name` value takes the contract constant `name` (skipped when the contract does not pin it)."""
    params = falsifier.get("params")
    if not isinstance(params, dict) or ref is None:
        return []
    target = falsifier.get("target")
    out = []
    for param in ref.code_params:
        if param not in params:
            continue
        raw = value = params[param]
        if isinstance(value, str) and value.startswith("$"):
            if not isinstance(constants, dict) or value[1:] not in constants:
                continue  # generation reports the missing constant
            value = constants[value[1:]]
        if param in ref.sibling_params and isinstance(value, str) and ":" not in value:
            module = target.partition(":")[0] if isinstance(target, str) else ""
            value = f"{module}:{value}" if module else value
        out.append((param, raw, value))
    return out
