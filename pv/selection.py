"""Which rules a run reports: `select` / `ignore` / `per-file-ignores` of [tool.pv], CLI overrides.

API (stable):
    resolve(selector) -> frozenset[str]         rule ids a selector names; SelectorError if none
    check_selectors(values, *, what, inline=False) -> tuple[str, ...]   normalised; SelectorError
    RuleSelection.for_config(config)            .reason(rule_id, path) -> str | None (None = report it)
    with_overrides(config, select=, ignore=, extend_select=, extend_ignore=) -> PvConfig
    ALWAYS_ON_PREFIX                            load rules (PV0xx): never selected away

A selector is a rule id (`PV501`), an id prefix (`PV5`, `PV50`, `PV`), a rule name
(`unattacked-invariant`) or `ALL`. As in ruff, the most specific selector that matches a rule decides:
`select = ["PV5"]`, `ignore = ["PV501"]` reports PV5xx but PV501; `select = ["PV501"]`,
`ignore = ["PV5"]` reports PV501 alone of PV5xx. On a tie, ignore wins. Load rules (PV0xx) stay on
whatever the selection says: a file pv cannot load is not validated at all, so there is nothing
else it could report about it; exclude such a file from [tool.pv].contracts instead.

per-file-ignores patterns are globs relative to the project root: `*` stays inside one path
segment, `**` spans any number of them, a pattern without `/` matches the file name in any
directory, and a pattern naming a directory covers every file below it.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

from pv.config import PvConfig

ALWAYS_ON_PREFIX = "PV0"
_ID = re.compile(r"(?i)pv[0-9]*")


class SelectorError(ValueError):
    """A selector names no rule (the message says which and suggests close ones)."""


def _rules() -> dict[str, object]:
    from pv.rules.registry import all_rules  # lazily: pv.config imports this module

    return {r.id: r for r in all_rules()}


def normalize(selector: str) -> str:
    s = selector.strip()
    return s.upper() if _ID.fullmatch(s) or s.lower() == "all" else s.lower()


def specificity(selector: str) -> int:
    """How narrowly a (normalised) selector names rules: ALL 0, a prefix its length, a name 99."""
    if selector == "ALL":
        return 0
    return len(selector) if _ID.fullmatch(selector) else 99


@lru_cache(maxsize=512)
def resolve(selector: str) -> frozenset[str]:
    """The rule ids `selector` names. Raises SelectorError when it names none."""
    rules = _rules()
    s = normalize(selector)
    if s == "ALL":
        return frozenset(rules)
    if _ID.fullmatch(s):
        found = frozenset(rid for rid in rules if rid.startswith(s))
    else:
        found = frozenset(rid for rid, r in rules.items() if r.name == s)  # type: ignore[attr-defined]
    if not found:
        raise SelectorError(f"{selector.strip()!r} matches no rule.{_hint(s, rules)} `pv rules` lists them.")
    return found


def _hint(s: str, rules: dict[str, object]) -> str:
    if _ID.fullmatch(s):  # PV599: name the family that exists
        for n in range(len(s) - 1, 2, -1):
            family = sorted(rid for rid in rules if rid.startswith(s[:n]))
            if family:
                shown = ", ".join(family) if len(family) <= 4 else f"{family[0]} … {family[-1]}"
                return f" Rules starting with {s[:n]}: {shown}."
        return ""
    names = {r.name: r.name for r in rules.values()}  # type: ignore[attr-defined]
    names |= {rid.lower(): rid for rid in rules}  # 'PV5O1' (a letter O) is close to pv501
    close = difflib.get_close_matches(s.lower(), list(names), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(names[c] for c in close)}?" if close else ""


def check_selectors(values: Iterable[str], *, what: str, inline: bool = False) -> tuple[str, ...]:
    """Normalised selectors; SelectorError naming `what` (e.g. "[tool.pv].ignore") for a bad one.

    inline: only whole ids or names (a suppression comment names the rules it silences)."""
    out = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise SelectorError(f"{what}: {value!r} is not a rule id, prefix or name.")
        s = normalize(value)
        if inline and specificity(s) < 5:
            raise SelectorError(f"{what}: {value!r} is a prefix; name whole rules, e.g. PV501.")
        try:
            resolve(value)
        except SelectorError as exc:
            raise SelectorError(f"{what}: {exc}") from None
        out.append(s)
    return tuple(dict.fromkeys(out))


def check_ignorable(values: Iterable[str], *, what: str) -> None:
    """An ignore that could only ever name load rules matches nothing: say so."""
    for s in values:
        ids = resolve(s)
        if ids and all(rid.startswith(ALWAYS_ON_PREFIX) for rid in ids):
            raise SelectorError(
                f"{what}: {s!r} names only load rules (PV0xx), which cannot be ignored: a file pv cannot "
                "load is not validated at all. Remove the file from [tool.pv].contracts instead."
            )


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A per-file-ignores glob as a regex over a root-relative posix path (see module doc)."""
    pat = pattern.strip().replace("\\", "/")
    while pat.startswith("./"):
        pat = pat[2:]
    anywhere = "/" not in pat.rstrip("/")
    pat = pat.strip("/")
    out, i = [], 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pat.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pat.find("]", i + 2 if pat[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pat[i + 1 : end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    prefix = "(?:.*/)?" if anywhere else ""
    # A directory pattern covers the files below it.
    return re.compile(prefix + "".join(out) + "(?:/.*)?")


def _rel(path: str, root: str) -> str:
    # The directory resolved like the (resolved) root; the file itself not, so a symlinked contract
    # is matched where it is listed.
    absolute = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path))
    try:
        rel = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        rel = absolute
    return PurePath(absolute if rel.startswith("..") else rel).as_posix()


def _decide(rule_id: str, select: Sequence[str], ignore: Sequence[str]) -> str | None:
    """None when selected, else the selector that ignores it (or "not selected")."""
    best_sel = max((specificity(s) for s in select if rule_id in resolve(s)), default=-1)
    hits = [s for s in ignore if rule_id in resolve(s)]
    best_ign = max((specificity(s) for s in hits), default=-1)
    if best_ign >= 0 and best_ign >= best_sel:
        winner = max(hits, key=specificity)
        return f"ignore {winner}"
    if best_sel < 0:
        return "not selected"
    return None


@dataclass(frozen=True)
class RuleSelection:
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    per_file: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...]
    root: str

    @classmethod
    def for_config(cls, config: PvConfig) -> RuleSelection:
        select = config.select if config.select is not None else ("ALL",)
        per_file = tuple((glob_regex(p), p, ids) for p, ids in config.per_file_ignores)
        return cls(tuple(select), tuple(config.ignore), per_file, str(config.root))

    @property
    def everything(self) -> bool:
        return not self.ignore and not self.per_file and "ALL" in self.select

    def globally(self, rule_id: str) -> str | None:
        """Why rule_id is off for the whole project (None: it is on)."""
        if rule_id.startswith(ALWAYS_ON_PREFIX):
            return None
        return _decide(rule_id, self.select, self.ignore)

    def reason(self, rule_id: str, path: str) -> str | None:
        """Why a finding of rule_id in path is not reported, as a short phrase; None to report it."""
        if self.everything or rule_id.startswith(ALWAYS_ON_PREFIX):
            return None
        why = self.globally(rule_id)
        if why is not None:
            return why
        if self.per_file:
            rel = _rel(path, self.root)
            for regex, pattern, ids in self.per_file:
                hit = next((s for s in ids if rule_id in resolve(s)), None)
                if hit is not None and regex.fullmatch(rel):
                    return f"per-file-ignores {pattern!r}: {hit}"
        return None


def with_overrides(
    config: PvConfig,
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    extend_select: Sequence[str] = (),
    extend_ignore: Sequence[str] = (),
) -> PvConfig:
    """CLI flags over [tool.pv]: --select/--ignore replace the config's list (None: keep it; an
    empty list clears it), --extend-* add to it.

    Raises SelectorError naming the flag for a selector that matches no rule."""
    sel = check_selectors(select or (), what="--select")
    ign = check_selectors(ignore or (), what="--ignore")
    ext_sel = check_selectors(extend_select, what="--extend-select")
    ext_ign = check_selectors(extend_ignore, what="--extend-ignore")
    check_ignorable(ign, what="--ignore")
    check_ignorable(ext_ign, what="--extend-ignore")
    new_select = sel if select is not None else config.select
    if ext_sel:
        new_select = (*(new_select if new_select is not None else ("ALL",)), *ext_sel)
    new_ignore = (*(ign if ignore is not None else config.ignore), *ext_ign)
    return dataclasses.replace(
        config,
        select=tuple(dict.fromkeys(new_select)) if new_select is not None else None,
        ignore=tuple(dict.fromkeys(new_ignore)),
    )
