"""How the guard kinds read a verdict from code they did not write: what a refusal raised, the status
label it carries, and the order in which a guard takes its arguments.

Adapters a contract declares (all optional; the defaults are the convention of this repo's trainer):

  status_of  dotted `module:attr`, `(exc) -> str`: the status label a raised exception carries.
             Default: `exc.status.label`, else `exc.status`, else the exception's class name — so a
             guard that raises `VocabMismatch` (no status at all) is read as "VocabMismatch".
  raises     the exception class every refusal must be an instance of, by name: `ValueError`, or
             `mypkg.errors:GuardStop` / `mypkg.errors.GuardStop`, matched against the raised
             exception's MRO (nothing is imported, so a builtin class works as well as the project's).
             Anything else raised is a crash, not a refusal, and fails the falsifier.
  arguments  the names of the values, in the order the guard takes them positionally (each kind
             documents its names and default order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence


def default_status(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if status is None:
        return type(exc).__name__
    return str(getattr(status, "label", status))


def status_reader(status_of: str | None) -> Callable[[BaseException], str]:
    if status_of is None:
        return default_status
    from pv.runtime import resolve

    read = resolve(status_of)
    return lambda exc: str(read(exc))


def class_names(cls: type) -> set[str]:
    """Every name `raises` may use for `cls` or one of its bases."""
    names: set[str] = set()
    for c in cls.__mro__:
        names |= {c.__name__, f"{c.__module__}:{c.__qualname__}", f"{c.__module__}.{c.__qualname__}"}
    return names


def unexpected(exc: BaseException, raises: str | None) -> str | None:
    """Why `exc` is not a refusal of the declared class (None when it is, or when none is declared)."""
    if raises is None or raises in class_names(type(exc)):
        return None
    return f"raised {type(exc).__module__}.{type(exc).__qualname__} ({exc}), not the declared {raises}"


def ordered(arguments: Sequence[str], values: Mapping[str, object]) -> list:
    """The values in the order `arguments` names them; an unknown name is a contract error."""
    unknown = [a for a in arguments if a not in values]
    if unknown:
        raise ValueError(f"arguments name unknown value(s) {unknown}; use names from {sorted(values)}")
    return [values[a] for a in arguments]


def refusal(target: Callable, arguments, values, status_of: str | None, raises: str | None):
    """Call the guard: (False, None) when it accepts, (True, status label) when it refuses with the
    declared exception class. A different exception is an AssertionError naming it."""
    __tracebackhide__ = True
    read = status_reader(status_of)
    args = ordered(arguments, values)
    try:
        target(*args)
    except Exception as exc:
        why = unexpected(exc, raises)
        assert why is None, f"guard with {dict(values)}: {why}"
        return True, read(exc)
    return False, None
