"""Falsifier kinds: pv's built-ins (the modules of this package) plus a project's own.

A kind is a module that follows `pv.kinds.api.Kind`. Kinds come from three places, merged into one
registry; a name defined twice is an error, never a silent override:

1. built-ins: every module of this package whose name does not start with `_`;
2. project kinds: the packages or single modules listed in `[tool.pv].kinds` (the older
   `kinds_package` key counts as one more entry), found on disk from the project root;
3. installed plugins: the `pv.kinds` entry-point group (entry point name = kind name, value = module).

Discovery never imports a kind module: names come from each module's `NAME = "..."` line (read with
`ast`) or from the entry point, so `pv validate` can tell a misspelled kind without running project
code. `KindRegistry.load(name)` imports the one module a generated test needs; a project kind is
imported from the file discovery found, with the project root made importable for it if it is not
(the `pv` console script runs with its own bin directory on sys.path, not the project's).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

BUILTIN_PACKAGE = __name__
ENTRY_POINT_GROUP = "pv.kinds"
REQUIRED = ("NAME", "SUMMARY", "PARAMS", "ARGS", "check")


class UnknownKindError(LookupError):
    pass


class KindConfigError(ValueError):
    """A `[tool.pv].kinds` entry that cannot be found, or two kinds with one name."""


@dataclass(frozen=True)
class KindRef:
    """Where a kind lives, known without importing it."""

    name: str  # the kebab name contracts write in `kind:`
    module: str  # dotted module path that defines it
    origin: str  # "built-in" | "project" | "entry point (<distribution>)"
    path: Path | None = None  # its source file, when found on disk
    target_params: tuple[str, ...] = ()  # params naming code: `module.path[:attr]` (pv.kinds.api)
    sibling_params: tuple[str, ...] = ()  # params naming an attribute of the target's module

    @property
    def code_params(self) -> tuple[str, ...]:
        return (*self.target_params, *self.sibling_params)


def alias(name: str) -> str:
    """The identifier generated code binds a kind module to: the kind name in snake case."""
    return name.replace("-", "_").replace(".", "_")


# A top-level `NAME = "kebab-name"` line (optionally annotated `NAME: str = ...`). Read with a pattern,
# not `ast`: discovery must stay cheap and thread-safe (CPython 3.11's AST constructor is not, under
# concurrent `pv validate` runs in one process).
_NAME_LINE = re.compile(
    r"""^NAME\s*(?::\s*str\s*)?=\s*(["'])([A-Za-z0-9][A-Za-z0-9._-]*)\1\s*(?:#.*)?$""", re.M
)


# `TARGET_PARAMS = ("a", "b")` (a tuple or list of string literals, optionally annotated), read the
# same way. A declaration pv cannot read this way is an error at load time, never silently empty.
_PARAMS_DECL = {
    attr: re.compile(rf"^{attr}\s*(?::[^=\n]*)?=\s*[(\[]([^)\]]*)[)\]]", re.M)
    for attr in ("TARGET_PARAMS", "SIBLING_PARAMS")
}
_STRING = re.compile(r"""(["'])([A-Za-z_][A-Za-z0-9_]*)\1""")


def _declared_params(text: str, attr: str) -> tuple[str, ...]:
    match = _PARAMS_DECL[attr].search(text)
    return tuple(m.group(2) for m in _STRING.finditer(match.group(1))) if match else ()


def _declared(path: Path | None) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """The module's top-level NAME, TARGET_PARAMS and SIBLING_PARAMS, read without importing it."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path else ""
    except OSError:
        return None, (), ()
    match = _NAME_LINE.search(text)
    name = match.group(2) if match else None
    return name, _declared_params(text, "TARGET_PARAMS"), _declared_params(text, "SIBLING_PARAMS")


def _modules_in(directory: Path, package: str) -> Iterable[tuple[str, Path]]:
    for path in sorted(directory.glob("*.py")):
        if not path.name.startswith("_"):
            yield f"{package}.{path.stem}", path


def _refs_from_files(entries: Iterable[tuple[str, Path]], origin: str) -> list[KindRef]:
    """Modules that declare a NAME are kinds; the others (helpers, `api`) are not."""
    refs = []
    for module, path in entries:
        name, targets, siblings = _declared(path)
        if name is not None:
            refs.append(KindRef(name, module, origin, path, targets, siblings))
    return refs


def _locate(dotted: str, search: list[Path]) -> Path | None:
    """The file or package directory of `dotted`, found on disk (no import): first under the given
    roots as a plain path, then through the import system's path finder for the top-level package."""
    parts = dotted.split(".")
    for base in search:
        candidate = base.joinpath(*parts)
        if candidate.is_dir():
            return candidate
        if candidate.with_suffix(".py").is_file():
            return candidate.with_suffix(".py")
    spec = importlib.machinery.PathFinder.find_spec(parts[0], [str(p) for p in search] + sys.path)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        base = Path(next(iter(spec.submodule_search_locations)))
    elif spec.origin and len(parts) == 1:
        return Path(spec.origin)
    else:
        return None
    candidate = base.joinpath(*parts[1:])
    if candidate.is_dir():
        return candidate
    if candidate.with_suffix(".py").is_file():
        return candidate.with_suffix(".py")
    return None


def builtin_refs() -> list[KindRef]:
    return _refs_from_files(_modules_in(Path(__file__).parent, BUILTIN_PACKAGE), "built-in")


def project_refs(entries: Iterable[str], root: Path) -> list[KindRef]:
    refs: list[KindRef] = []
    for dotted in entries:
        if not dotted or any(not p.isidentifier() for p in dotted.split(".")):
            raise KindConfigError(f"[tool.pv].kinds entry {dotted!r} is not a dotted module path")
        where = _locate(dotted, [root])
        if where is None:
            raise KindConfigError(
                f"[tool.pv].kinds entry {dotted!r} is neither a package nor a module under {root} "
                "nor importable; fix the entry or create the module"
            )
        if where.is_dir():
            refs += _refs_from_files(_modules_in(where, dotted), "project")
        else:
            refs += _refs_from_files([(dotted, where)], "project")
    return refs


def entry_point_refs() -> list[KindRef]:
    refs = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
        module = ep.value.partition(":")[0].strip()
        path = None
        if module and all(p.isidentifier() for p in module.split(".")):
            from pv.targets import module_source  # finds editable installs too; imports nothing

            path = module_source(module, None)
        _, targets, siblings = _declared(path)
        refs.append(KindRef(ep.name, module, f"entry point ({dist})", path, targets, siblings))
    return refs


class KindRegistry:
    """Every kind a project can use, by name."""

    def __init__(self, refs: Iterable[KindRef]) -> None:
        self._refs: dict[str, KindRef] = {}
        for ref in refs:
            other = self._refs.get(ref.name)
            if other is not None and other.module != ref.module:
                raise KindConfigError(
                    f"kind {ref.name!r} is defined twice: {other.module} ({other.origin}) and "
                    f"{ref.module} ({ref.origin}); rename one (its NAME) so contracts can tell them apart"
                )
            self._refs[ref.name] = ref

    @classmethod
    def for_config(cls, config) -> KindRegistry:
        """Built-ins, the project's `[tool.pv].kinds` (and `kinds_package`), and entry points."""
        entries = config.kind_entries
        return cls([*builtin_refs(), *project_refs(entries, Path(config.root)), *entry_point_refs()])

    @classmethod
    def builtin(cls) -> KindRegistry:
        return cls(builtin_refs())

    def names(self) -> list[str]:
        return sorted(self._refs)

    def refs(self) -> list[KindRef]:
        return [self._refs[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._refs

    def ref(self, name: str) -> KindRef:
        try:
            return self._refs[name]
        except KeyError:
            raise UnknownKindError(
                f"unknown falsifier kind {name!r}; known kinds: {', '.join(self.names())}"
            ) from None

    def load(self, name: str) -> ModuleType:
        """Import the kind's module and check it has what generation and the runtime need."""
        ref = self.ref(name)
        if ref.origin == "project" and ref.path is not None:
            _make_importable(ref)
        try:
            mod = importlib.import_module(ref.module)
        except ImportError as exc:
            raise UnknownKindError(f"kind {name!r}: cannot import {ref.module} ({exc})") from exc
        if ref.origin == "project" and ref.path is not None:
            where = Path(getattr(mod, "__file__", "") or "").resolve()
            if where != ref.path.resolve():
                raise UnknownKindError(
                    f"kind {name!r}: {ref.module} imports from {where}, but [tool.pv].kinds found it at "
                    f"{ref.path}: another package named {ref.module.partition('.')[0]!r} shadows the "
                    "project's; rename the project's kinds package"
                )
        missing = [attr for attr in REQUIRED if not hasattr(mod, attr)]
        if missing:
            raise UnknownKindError(
                f"kind module {ref.module} is not a kind: it lacks {', '.join(missing)} "
                "(see pv.kinds.api.Kind)"
            )
        if name != mod.NAME:
            raise UnknownKindError(
                f"kind module {ref.module} declares NAME {mod.NAME!r}, registered as {name!r}"
            )
        for attr, declared in (("TARGET_PARAMS", ref.target_params), ("SIBLING_PARAMS", ref.sibling_params)):
            actual = tuple(getattr(mod, attr, ()))
            if actual != declared:  # `pv validate` checks what it read; the two must agree
                raise UnknownKindError(
                    f"kind module {ref.module}: {attr} is {actual!r} at run time but reads as "
                    f"{declared!r} from its source; write it as one top-level literal, "
                    f'e.g. {attr} = ("param",)'
                )
            unknown = sorted(set(actual) - set(mod.PARAMS))
            if unknown:
                raise UnknownKindError(f"kind module {ref.module}: {attr} names no param(s) {unknown}")
        return mod


_added_roots: set[str] = set()  # sys.path entries pv appended for project kinds


def _import_root(ref: KindRef) -> Path:
    """The directory `ref.module` is imported from: its file's ancestor one level per dotted part."""
    assert ref.path is not None
    return ref.path.resolve().parents[len(ref.module.split(".")) - 1]


def _make_importable(ref: KindRef) -> None:
    """Let `import ref.module` find the file discovery found, without the caller's sys.path knowing
    the project: append (never prepend: installed packages and pv itself keep precedence) its import
    root. A module of the same name imported earlier from another project pv opened in this process
    (tests, a long-lived caller) is dropped first, so each project gets its own kinds."""
    root = str(_import_root(ref))
    top = ref.module.partition(".")[0]
    loaded = sys.modules.get(top)
    if loaded is not None:
        origin = Path(getattr(loaded, "__file__", "") or "").resolve()
        stale = not str(origin).startswith(root + "/")
        if stale and any(str(origin).startswith(r + "/") for r in _added_roots):
            for key in [k for k in sys.modules if k == top or k.startswith(top + ".")]:
                del sys.modules[key]
            importlib.invalidate_caches()
        else:
            return
    if importlib.util.find_spec(top) is None and root not in sys.path:
        sys.path.append(root)
        _added_roots.add(root)
        importlib.invalidate_caches()


def render(kind: ModuleType, falsifier: dict, contract: dict) -> str:
    """The kind's own `render`, or the standard test shape (`pv.kinds._render.render_test`)."""
    own = getattr(kind, "render", None)
    if own is not None:
        return own(falsifier, contract)
    from pv.kinds._render import render_test

    return render_test(falsifier, kind, contract)
