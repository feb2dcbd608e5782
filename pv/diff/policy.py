"""Structural diff of two versions of one contract (schema v1 data) and the semver bump it needs.

The policy (docs/versioning.md is the user-facing copy; keep them in step):

* **major**: a guarantee is removed or loosened: an invariant, gate, falsifier, acceptance
  criterion, constant or constraint removed; a constant's value changed; a constraint loosened
  (its operator admits more, its bound moves the permissive way, or a side names another
  constant); a gate stops enforcing an invariant, stops naming a falsifier, binds to another
  acceptance criterion or turns ship_blocking true → false; a falsifier stops attacking an
  invariant, loses its kind/target (becomes prose), loses pinned examples or max_examples
  drops; status becomes deprecated/retired; the contract id or schema changes.
* **minor**: a guarantee is added or tightened: invariant, gate, falsifier, acceptance
  criterion, constant, constraint added; a constraint tightened; a gate enforces more, names
  more falsifiers or turns ship_blocking false → true; a falsifier attacks more, becomes
  executable, gains examples, changes kind/target/params; depends_on / kind / other status
  changes.
* **patch**: wording only: statements, rules, descriptions, rationales, summary, title,
  references, evidence notes, failure modes.

The changelog itself is not part of the diff (editing it needs no bump).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pv.diff.semver import Bump, Version, actual_bump

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Change:
    bump: Bump
    what: str  # kebab, e.g. "invariant-removed"
    subject: str  # the element, e.g. "INV-TOK-001" or "constants.vocab_size"
    detail: str  # one line for humans, shows old → new where it helps
    path: JsonPath  # where it is: in the NEW document, or in the OLD one when side == "old"
    side: str = "new"


# ---- the diff -------------------------------------------------------------------------------


def _items(data: dict, key: str) -> dict[str, tuple[int, dict]]:
    out: dict[str, tuple[int, dict]] = {}
    seq = data.get(key)
    if isinstance(seq, list):
        for i, item in enumerate(seq):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                out.setdefault(item["id"], (i, item))
    return out


def _str_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def _set_change(
    old: Any, new: Any, path: JsonPath, subject: str, noun: str, lose: Bump, gain: Bump
) -> Iterator[Change]:
    """Members dropped from / added to a list of ids (enforces, attacks, falsifiers, depends_on)."""
    before, after = _str_list(old), _str_list(new)
    for gone in (x for x in before if x not in after):
        yield Change(
            lose, f"{noun}-removed", subject, f"{subject} no longer {noun.replace('-', ' ')}s {gone}", path
        )
    for added in (x for x in after if x not in before):
        yield Change(gain, f"{noun}-added", subject, f"{subject} now {noun.replace('-', ' ')}s {added}", path)


def _wording(old: dict, new: dict, fields: tuple[str, ...], base: JsonPath, subject: str) -> Iterator[Change]:
    for f in fields:
        if old.get(f) != new.get(f):
            yield Change(
                Bump.PATCH, f"{f}-reworded", subject, f"{subject}: {f} changed (wording)", (*base, f)
            )


def _keyed(
    old: dict, new: dict, key: str, noun: str
) -> Iterator[tuple[str, dict | None, dict | None, JsonPath]]:
    """Pairs (id, old item, new item, path) over a keyed list; emits removed/added elsewhere."""
    o, n = _items(old, key), _items(new, key)
    for ident, (_, item) in n.items():
        yield ident, o.get(ident, (0, None))[1], item, (key, n[ident][0])
    for ident, (i, item) in o.items():
        if ident not in n:
            yield ident, item, None, (key, i)


def _added_removed(
    ident: str, before: dict | None, after: dict | None, path: JsonPath, noun: str
) -> Change | None:
    if before is None:
        return Change(Bump.MINOR, f"{noun}-added", ident, f"{noun} {ident} added", path)
    if after is None:
        return Change(Bump.MAJOR, f"{noun}-removed", ident, f"{noun} {ident} removed", path, side="old")
    return None


def _invariants(old: dict, new: dict) -> Iterator[Change]:
    for ident, a, b, path in _keyed(old, new, "invariants", "invariant"):
        ch = _added_removed(ident, a, b, path, "invariant")
        if ch:
            yield ch
            continue
        assert a is not None and b is not None
        yield from _wording(a, b, ("statement", "rationale"), path, ident)


def _acceptance(old: dict, new: dict) -> Iterator[Change]:
    for ident, a, b, path in _keyed(old, new, "acceptance_criteria", "acceptance-criterion"):
        ch = _added_removed(ident, a, b, path, "acceptance-criterion")
        if ch:
            yield ch
            continue
        assert a is not None and b is not None
        yield from _wording(a, b, ("statement",), path, ident)


def _gates(old: dict, new: dict) -> Iterator[Change]:
    for ident, a, b, path in _keyed(old, new, "gates", "gate"):
        ch = _added_removed(ident, a, b, path, "gate")
        if ch:
            yield ch
            continue
        assert a is not None and b is not None
        yield from _wording(a, b, ("rule",), path, ident)
        yield from _set_change(
            a.get("enforces"),
            b.get("enforces"),
            (*path, "enforces"),
            ident,
            "enforce",
            Bump.MAJOR,
            Bump.MINOR,
        )
        yield from _set_change(
            a.get("falsifiers"),
            b.get("falsifiers"),
            (*path, "falsifiers"),
            ident,
            "name-falsifier",
            Bump.MAJOR,
            Bump.MINOR,
        )
        if a.get("binds_to") != b.get("binds_to"):
            yield Change(
                Bump.MAJOR,
                "binding-changed",
                ident,
                f"{ident} binds_to {a.get('binds_to')} → {b.get('binds_to')}",
                (*path, "binds_to"),
            )
        sa, sb = bool(a.get("ship_blocking")), bool(b.get("ship_blocking"))
        if sa != sb:
            yield Change(
                Bump.MAJOR if sa else Bump.MINOR,
                "ship-blocking-changed",
                ident,
                f"{ident} ship_blocking {str(sa).lower()} → {str(sb).lower()}",
                (*path, "ship_blocking"),
            )
        if a.get("evidence") != b.get("evidence"):
            yield Change(
                Bump.PATCH, "evidence-changed", ident, f"{ident}: evidence changed", (*path, "evidence")
            )


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _executable(f: dict) -> bool:
    return bool(f.get("kind")) and bool(f.get("target"))


def _falsifiers(old: dict, new: dict) -> Iterator[Change]:
    for ident, a, b, path in _keyed(old, new, "falsifiers", "falsifier"):
        ch = _added_removed(ident, a, b, path, "falsifier")
        if ch:
            yield ch
            continue
        assert a is not None and b is not None
        yield from _wording(a, b, ("description",), path, ident)
        yield from _set_change(
            a.get("attacks"), b.get("attacks"), (*path, "attacks"), ident, "attack", Bump.MAJOR, Bump.MINOR
        )
        ea, eb = _executable(a), _executable(b)
        if ea and not eb:
            yield Change(
                Bump.MAJOR,
                "falsifier-made-prose",
                ident,
                f"{ident} lost its kind/target: it no longer executes",
                path,
            )
        elif eb and not ea:
            yield Change(Bump.MINOR, "falsifier-made-executable", ident, f"{ident} is now executable", path)
        else:
            for f in ("kind", "target", "params"):
                if a.get(f) != b.get(f):
                    yield Change(
                        Bump.MINOR,
                        f"falsifier-{f}-changed",
                        ident,
                        f"{ident}: {f} {a.get(f)!r} → {b.get(f)!r}",
                        (*path, f),
                    )
        xa, xb = _list(a.get("examples")), _list(b.get("examples"))
        if any(x not in xb for x in xa):
            yield Change(
                Bump.MAJOR,
                "examples-removed",
                ident,
                f"{ident}: pinned examples removed",
                (*path, "examples"),
            )
        elif any(x not in xa for x in xb):
            yield Change(
                Bump.MINOR, "examples-added", ident, f"{ident}: pinned examples added", (*path, "examples")
            )
        ma, mb = a.get("max_examples"), b.get("max_examples")
        if ma != mb:
            weaker = isinstance(ma, int) and (not isinstance(mb, int) or mb < ma)
            yield Change(
                Bump.MAJOR if weaker else Bump.MINOR,
                "max-examples-changed",
                ident,
                f"{ident}: max_examples {ma} → {mb}",
                (*path, "max_examples"),
            )


def _constants(old: dict, new: dict) -> Iterator[Change]:
    o = old.get("constants") if isinstance(old.get("constants"), dict) else {}
    n = new.get("constants") if isinstance(new.get("constants"), dict) else {}
    for name, value in n.items():
        if name not in o:
            yield Change(
                Bump.MINOR,
                "constant-added",
                f"constants.{name}",
                f"constant {name} = {value!r} added",
                ("constants", name),
            )
        elif o[name] != value or type(o[name]) is not type(value):
            yield Change(
                Bump.MAJOR,
                "constant-changed",
                f"constants.{name}",
                f"constant {name}: {o[name]!r} → {value!r}",
                ("constants", name),
            )
    for name, value in o.items():
        if name not in n:
            yield Change(
                Bump.MAJOR,
                "constant-removed",
                f"constants.{name}",
                f"constant {name} (= {value!r}) removed",
                ("constants", name),
                side="old",
            )


# Which (lhs vs rhs) orderings each operator admits: a subset is tighter, a superset looser.
_ADMITS = {"<": {"lt"}, "<=": {"lt", "eq"}, "==": {"eq"}, "!=": {"lt", "gt"}, ">": {"gt"}, ">=": {"gt", "eq"}}


def _constraint_bump(a: dict, b: dict) -> tuple[Bump, str]:
    reasons, bump = [], Bump.NONE
    if a.get("lhs") != b.get("lhs"):
        bump = Bump.MAJOR
        reasons.append(f"lhs {a.get('lhs')} → {b.get('lhs')}")
    oa, ob = (_ADMITS.get(op) if isinstance(op, str) else None for op in (a.get("op"), b.get("op")))
    if a.get("op") != b.get("op"):
        tighter = oa is not None and ob is not None and ob < oa
        bump = max(bump, Bump.MINOR if tighter else Bump.MAJOR)
        reasons.append(
            f"op {a.get('op')} → {b.get('op')} ({'tighter' if tighter else 'looser or different'})"
        )
    ra, rb = a.get("rhs"), b.get("rhs")
    if ra != rb:
        numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (ra, rb))
        op = b.get("op")
        if numeric and op in ("<", "<="):
            bump = max(bump, Bump.MINOR if rb < ra else Bump.MAJOR)  # type: ignore[operator]
        elif numeric and op in (">", ">="):
            bump = max(bump, Bump.MINOR if rb > ra else Bump.MAJOR)  # type: ignore[operator]
        else:
            bump = Bump.MAJOR
        reasons.append(f"rhs {ra!r} → {rb!r}")
    return bump, ", ".join(reasons)


def _constraints(old: dict, new: dict) -> Iterator[Change]:
    for ident, a, b, path in _keyed(old, new, "constraints", "constraint"):
        ch = _added_removed(ident, a, b, path, "constraint")
        if ch:
            yield ch
            continue
        assert a is not None and b is not None
        bump, why = _constraint_bump(a, b)
        if bump is not Bump.NONE:
            what = "constraint-tightened" if bump is Bump.MINOR else "constraint-loosened"
            yield Change(bump, what, ident, f"{ident}: {why}", path)
        yield from _wording(a, b, ("reason",), path, ident)


def _failure_modes(old: dict, new: dict) -> Iterator[Change]:
    # Failure modes document how things break; they guarantee nothing, so every edit is wording.
    for ident, a, b, path in _keyed(old, new, "failure_modes", "failure-mode"):
        if a != b:
            verb = "added" if a is None else "removed" if b is None else "changed"
            yield Change(
                Bump.PATCH,
                f"failure-mode-{verb}",
                ident,
                f"failure mode {ident} {verb}",
                path,
                side="old" if b is None else "new",
            )


def _top(old: dict, new: dict) -> Iterator[Change]:
    for f, bump in (("schema", Bump.MAJOR), ("id", Bump.MAJOR), ("kind", Bump.MINOR)):
        if old.get(f) != new.get(f):
            yield Change(bump, f"{f}-changed", f, f"{f}: {old.get(f)!r} → {new.get(f)!r}", (f,))
    sa, sb = old.get("status"), new.get("status")
    if sa != sb:
        bump = Bump.MAJOR if sb in ("deprecated", "retired") else Bump.MINOR
        yield Change(bump, "status-changed", "status", f"status: {sa} → {sb}", ("status",))
    yield from _set_change(
        old.get("depends_on"),
        new.get("depends_on"),
        ("depends_on",),
        "contract",
        "depend-on",
        Bump.MINOR,
        Bump.MINOR,
    )
    for f in ("title", "summary", "references"):
        if old.get(f) != new.get(f):
            yield Change(Bump.PATCH, f"{f}-changed", f, f"{f} changed (wording)", (f,))


class _NaN:
    """Stands in for every float NaN while diffing: NaN != NaN, so an unchanged `.nan` in a pinned
    example or constant would otherwise read as removed and re-added."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _NaN)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "nan"


_NAN = _NaN()


def _nan_safe(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return _NAN
    if isinstance(value, dict):
        return {k: _nan_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_safe(v) for v in value]
    return value


def diff_contracts(old: dict, new: dict) -> list[Change]:
    """Every structural change from `old` to `new` (both schema-v1 shaped plain data)."""
    old, new = _nan_safe(old), _nan_safe(new)
    changes: list[Change] = []
    for part in (
        _top,
        _invariants,
        _acceptance,
        _gates,
        _falsifiers,
        _constants,
        _constraints,
        _failure_modes,
    ):
        changes.extend(part(old, new))
    return changes


def required_bump(changes: list[Change]) -> Bump:
    return max((c.bump for c in changes), default=Bump.NONE)


def changelog_versions(data: dict) -> list[str]:
    log = data.get("changelog")
    if not isinstance(log, list):
        return []
    return [str(e.get("version")) for e in log if isinstance(e, dict) and e.get("version") is not None]


@dataclass(frozen=True)
class Verdict:
    """What one contract's change needs, and whether the version and changelog deliver it."""

    changes: tuple[Change, ...]
    required: Bump
    old_version: Version | None
    new_version: Version | None
    made: Bump | None  # None: went backwards or unparsable
    changelog_has_entry: bool

    @property
    def version_ok(self) -> bool:
        if self.required is Bump.NONE:
            return self.made is not None
        return self.made is not None and self.made >= self.required

    @property
    def changelog_ok(self) -> bool:
        # A version that moved needs its entry; an unchanged version needs none from the diff.
        return self.made in (None, Bump.NONE) or self.changelog_has_entry

    @property
    def minimum_version(self) -> Version | None:
        if self.old_version is None:
            return None
        bump = self.required
        if self.old_version.major == 0 and bump is not Bump.NONE:
            bump = Bump(bump - 1) or Bump.PATCH  # 0.x: breaking changes move the minor
        return self.old_version.bumped(bump)


def judge(old: dict, new: dict) -> Verdict:
    changes = diff_contracts(old, new)
    ov, nv = Version.parse(old.get("version")), Version.parse(new.get("version"))
    made = actual_bump(ov, nv) if ov and nv else None
    has_entry = str(new.get("version")) in changelog_versions(new)
    return Verdict(tuple(changes), required_bump(changes), ov, nv, made, has_entry)
