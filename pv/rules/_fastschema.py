"""A conservative fast path for JSON Schema: compile the subset of keywords the contract schema
uses into closures that answer "certainly valid?".

True means the instance is valid; False means "not sure" and the caller runs the full jsonschema
validator for the real errors. Anything unusual (an unknown keyword, 1.0 as an integer,
non-string uniqueItems) answers False, so the fast path can only skip work, never findings.
Valid contracts are the common case, and jsonschema's generic machinery is ~10x slower on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Check = Callable[[object], bool]
_IGNORED = {"$schema", "$id", "title", "description", "definitions", "$defs", "$comment", "examples"}


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not know: use jsonschema only."""


def _is_type(name: str) -> Check:
    return {
        "object": lambda v: type(v) is dict,
        "array": lambda v: type(v) is list,
        "string": lambda v: type(v) is str,
        "integer": lambda v: type(v) is int,
        "number": lambda v: type(v) in (int, float),
        "boolean": lambda v: type(v) is bool,
        "null": lambda v: v is None,
    }[name]


def compile_schema(schema: dict, root: dict | None = None) -> Check:
    root = root if root is not None else schema
    return _compile(schema, root, {})


def _compile(schema: object, root: dict, refs: dict[str, Check]) -> Check:
    if schema is True:
        return lambda v: True
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    checks: list[Check] = []
    for key, val in schema.items():
        if key in _IGNORED:
            continue
        if key == "$ref":
            if not (isinstance(val, str) and val.startswith("#/")):
                raise Unsupported(val)
            if val not in refs:
                refs[val] = lambda v: False  # placeholder while compiling a recursive ref
                node: object = root
                for part in val[2:].split("/"):
                    node = node[part]  # type: ignore[index]
                refs[val] = _compile(node, root, refs)
            checks.append(lambda v, r=val: refs[r](v))
        elif key == "type":
            names = [val] if isinstance(val, str) else list(val)
            preds = [_is_type(n) for n in names]
            checks.append(lambda v, p=preds: any(f(v) for f in p))
        elif key == "properties":
            props = {k: _compile(s, root, refs) for k, s in val.items()}
            checks.append(
                lambda v, p=props: type(v) is not dict or all(p[k](x) for k, x in v.items() if k in p)
            )
        elif key == "additionalProperties":
            allowed = set(schema.get("properties", {}))
            if val is False:
                checks.append(lambda v, a=allowed: type(v) is not dict or a.issuperset(v))
            else:
                sub = _compile(val, root, refs)
                checks.append(
                    lambda v, a=allowed, s=sub: (
                        type(v) is not dict or all(s(x) for k, x in v.items() if k not in a)
                    )
                )
        elif key == "required":
            req = tuple(val)
            checks.append(lambda v, r=req: type(v) is not dict or all(k in v for k in r))
        elif key == "propertyNames":
            sub = _compile(val, root, refs)
            checks.append(lambda v, s=sub: type(v) is not dict or all(s(k) for k in v))
        elif key == "items":
            sub = _compile(val, root, refs)
            checks.append(lambda v, s=sub: type(v) is not list or all(s(x) for x in v))
        elif key == "pattern":  # ECMA-262 `$` is the end of the string: Python's \Z
            rx = re.compile(val[:-1] + r"\Z" if val.endswith("$") and not val.endswith("\\$") else val)
            checks.append(lambda v, rx=rx: type(v) is not str or rx.search(v) is not None)
        elif key in ("enum", "const"):
            options = tuple(val) if key == "enum" else (val,)
            if not all(type(o) is str for o in options):
                raise Unsupported(key)
            checks.append(lambda v, o=options: type(v) is str and v in o)
        elif key == "minLength":
            checks.append(lambda v, n=val: type(v) is not str or len(v) >= n)
        elif key == "minItems":
            checks.append(lambda v, n=val: type(v) is not list or len(v) >= n)
        elif key == "uniqueItems":
            if val:
                checks.append(
                    lambda v: (
                        type(v) is not list or (all(type(x) is str for x in v) and len(set(v)) == len(v))
                    )
                )
        elif key == "minimum":
            checks.append(lambda v, n=val: type(v) not in (int, float) or v >= n)
        elif key == "maximum":
            checks.append(lambda v, n=val: type(v) not in (int, float) or v <= n)
        elif key == "anyOf":
            subs = [_compile(s, root, refs) for s in val]
            checks.append(lambda v, s=subs: any(f(v) for f in s))
        else:
            raise Unsupported(key)
    return lambda v: all(c(v) for c in checks)
