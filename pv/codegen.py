"""The one way contract text enters a generated Python module.

A contract is data from anyone who can open a pull request; the generated module is code that the
gate imports. Every contract-controlled string (ids, paths, versions, summaries, descriptions, params,
examples) reaches the module through `escape` — as a string literal, a docstring or a comment — and
every other value through `literal`. `escape` keeps printable text readable and turns everything else
into a backslash escape: line breaks (`\\n`, `\\r`, U+2028, NEL), control and format characters
(bidi overrides included) and lone surrogates, plus the backslash and the enclosing quote, so no
contract text can end a literal, a docstring or a comment line. Generated modules also start with an
explicit `# -*- coding: utf-8 -*-` line (`CODING_LINE`), so no text later in the file can declare
another source encoding (`coding: unicode_escape` would turn an escaped quote into a real one).
"""

from __future__ import annotations

import keyword
import math
import textwrap

CODING_LINE = "# -*- coding: utf-8 -*-"


class CodegenError(ValueError):
    """A value that has no Python literal here (a date object, a set, a non-string key...)."""


def escape(text: str, quote: str = "") -> str:
    """`text` safe inside a literal delimited by `quote` (also a comment or docstring body): the
    backslash, `quote` and every non-printable character backslash-escaped; the result has no line
    break of any kind."""
    out = []
    for c in _plain(text):
        if c == "\\" or (c in quote and c):
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        else:
            out.append(c.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)


def string(text: str, quote: str = "'") -> str:
    """A Python string literal (delimited by `quote`, ' or ") that evaluates to `text`."""
    if quote not in ("'", '"'):
        raise CodegenError(f"a string literal is delimited by ' or \", not {quote!r}")
    return quote + escape(text, quote) + quote


def _plain(text: object) -> str:
    """A plain str (a str subclass loses its own __str__; other YAML scalars are formatted)."""
    return str.__str__(text) if isinstance(text, str) else str(text)


def comment(text: object) -> str:
    """`text` as the rest of one comment line (no line break can survive)."""
    return escape(_plain(text))


def docstring(text: object, *, width: int | None = 100, indent: str = "    ") -> str:
    """A triple-double-quoted docstring for `text` (whitespace runs collapsed), wrapped at spaces
    only, so an escape never splits; every double quote is escaped, so the body can neither close
    the docstring nor merge with its closing quotes. width=None: one line."""
    body = escape(" ".join(_plain(text).split()), '"')
    if width is not None:
        body = textwrap.fill(
            body, width=width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
        )
    return f'"""{body}"""'


def identifier(name: str, what: str) -> str:
    """`name` if it is a plain ASCII Python identifier (and no keyword), else CodegenError."""
    if not (isinstance(name, str) and name.isascii() and name.isidentifier() and not keyword.iskeyword(name)):
        raise CodegenError(f"{what} {name!r} is not a Python identifier")
    return name


def dotted(name: str, what: str) -> str:
    """A dotted module path of plain identifiers, else CodegenError."""
    if not isinstance(name, str) or not name:
        raise CodegenError(f"{what} {name!r} is not a dotted module path")
    for part in name.split("."):
        identifier(part, what)
    return name


def literal(value: object) -> str:
    """A deterministic Python literal for YAML data (dicts keep the contract's key order). Only the
    plain YAML types are accepted; subclasses are rendered as their base type, never by their own
    __repr__."""
    if value is None or isinstance(value, bool):
        return repr(bool(value)) if value is not None else "None"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        v = float(value)
        return repr(v) if math.isfinite(v) else f'float("{v}")'
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list | tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise CodegenError(f"a {type(value).__name__} value has no literal in generated tests: {value!r:.80}")
