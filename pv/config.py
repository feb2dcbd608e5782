"""pv project settings: the `[tool.pv]` table of the nearest pyproject.toml.

API (stable):
    load_config(start: Path | None = None) -> PvConfig
    PvConfig(root, contracts, target_packages, kinds, kinds_package, generated_dir, tests_root, max_bytes,
             select, ignore, per_file_ignores)
    PvConfig.default(root) -> PvConfig     # defaults, no pyproject needed

`root` is the directory holding the pyproject.toml (or `start` when none is found); every
relative path in the config is resolved against it via `PvConfig.path(...)`.

Rule selection (`select`, `ignore`, `per-file-ignores`; semantics in pv.selection) is checked here
against the rule registry, so a selector that names no rule is a ConfigError at load time.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pv.errors import ConfigError

DEFAULT_MAX_BYTES = 2 * 1024 * 1024  # 2 MiB: a contract is prose-sized; bigger is a mistake or an attack

_STR_LIST_KEYS = ("contracts", "target_packages", "kinds")
_STR_KEYS = ("kinds_package", "generated_dir", "tests_root")
_SELECTION_KEYS = ("select", "ignore", "per-file-ignores")
_KNOWN_KEYS = frozenset((*_STR_LIST_KEYS, *_STR_KEYS, "max_bytes", *_SELECTION_KEYS))


@dataclass(frozen=True)
class PvConfig:
    root: Path
    contracts: tuple[str, ...] = ("contracts",)
    target_packages: tuple[str, ...] = ()
    # Project kinds next to pv's built-ins: packages (every kind module in them) or single modules.
    kinds: tuple[str, ...] = ()
    kinds_package: str | None = None  # older spelling of one `kinds` entry; adds, never replaces
    generated_dir: str = "falsifiers/generated"
    tests_root: str = "."
    max_bytes: int = DEFAULT_MAX_BYTES
    # Rule selection, normalised selectors (see pv.selection). select None = every rule.
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob relative to root, selectors)
    pyproject: Path | None = None  # where the settings came from; None = defaults

    @classmethod
    def default(cls, root: Path) -> PvConfig:
        return cls(root=Path(root).resolve())

    def path(self, rel: str | Path) -> Path:
        """A config-relative path made absolute against the project root."""
        return (self.root / rel) if not Path(rel).is_absolute() else Path(rel)

    @property
    def kind_entries(self) -> tuple[str, ...]:
        """`kinds` plus the legacy `kinds_package`, in that order, without repeats."""
        extra = (self.kinds_package,) if self.kinds_package and self.kinds_package not in self.kinds else ()
        return (*self.kinds, *extra)


def _find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for d in (start, *start.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path | None = None) -> PvConfig:
    """Read `[tool.pv]` from the nearest pyproject.toml at or above `start` (default: cwd).

    No pyproject.toml, or one without `[tool.pv]`, gives the defaults rooted at `start`
    (resp. the pyproject's directory). Malformed TOML or wrongly typed keys raise ConfigError.
    """
    start = Path.cwd() if start is None else Path(start)
    if start.is_file():
        start = start.parent
    pyproject = _find_pyproject(start)
    if pyproject is None:
        return PvConfig.default(start)
    try:
        doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}. Fix the syntax error.") from exc
    except OSError as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc.strerror or exc}") from exc
    table = doc.get("tool", {}).get("pv", {})
    root = pyproject.parent.resolve()
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.pv] must be a table, got {type(table).__name__}.")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        close = [m for k in unknown for m in difflib.get_close_matches(k, _KNOWN_KEYS, n=1, cutoff=0.7)]
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"{pyproject}: unknown key(s) in [tool.pv]: {', '.join(unknown)}.{hint} "
            f"Known keys: {', '.join(sorted(_KNOWN_KEYS))}."
        )
    kwargs: dict = {}
    for key in _STR_LIST_KEYS:
        if key in table:
            value = table[key]
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{pyproject}: [tool.pv].{key} must be a list of strings, got {value!r}.")
            kwargs[key] = tuple(value)
    for key in _STR_KEYS:
        if key in table:
            if not isinstance(table[key], str) or not table[key]:
                raise ConfigError(
                    f"{pyproject}: [tool.pv].{key} must be a non-empty string, got {table[key]!r}."
                )
            kwargs[key] = table[key]
    if "max_bytes" in table:
        mb = table["max_bytes"]
        if not isinstance(mb, int) or isinstance(mb, bool) or mb <= 0:
            raise ConfigError(f"{pyproject}: [tool.pv].max_bytes must be a positive integer, got {mb!r}.")
        kwargs["max_bytes"] = mb
    if any(key in table for key in _SELECTION_KEYS):
        kwargs.update(_selection(table, pyproject))
    return PvConfig(root=root, pyproject=pyproject, **kwargs)


def _selection(table: dict, pyproject: Path) -> dict:
    """select / ignore / per-file-ignores, each selector checked against the rule registry."""
    from pv.selection import SelectorError, check_ignorable, check_selectors  # the registry: only when used

    def selectors(value: object, what: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                f"{pyproject}: {what} must be a list of rule ids, prefixes or names "
                f'(e.g. ["PV5", "PV306"]), got {value!r}.'
            )
        try:
            out = check_selectors(value, what=what)
            if what != "[tool.pv].select":
                check_ignorable(out, what=what)
        except SelectorError as exc:
            raise ConfigError(f"{pyproject}: {exc}") from None
        return out

    out: dict = {}
    if "select" in table:
        out["select"] = selectors(table["select"], "[tool.pv].select")
    if "ignore" in table:
        out["ignore"] = selectors(table["ignore"], "[tool.pv].ignore")
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        if not isinstance(pfi, dict):
            raise ConfigError(
                f"{pyproject}: [tool.pv].per-file-ignores must be a table of glob = [rule ids], e.g. "
                f'[tool.pv.per-file-ignores] "contracts/legacy/*.yaml" = ["PV5"]; got {pfi!r}.'
            )
        entries = []
        for pattern, value in pfi.items():
            if not pattern.strip():
                raise ConfigError(f"{pyproject}: [tool.pv].per-file-ignores has an empty pattern.")
            entries.append((pattern, selectors(value, f"[tool.pv].per-file-ignores.{pattern!r}")))
        out["per_file_ignores"] = tuple(entries)
    return out
