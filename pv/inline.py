"""Suppression comments in a contract's YAML: `# pv: ignore[PV501]`, `# pv: ignore[PV501, PV306] why`.

API (stable):
    scan(text) -> Scan        Scan.directives (well-formed), Scan.problems (what pv could not use)
    Directive(line, col, target, rules, justification)
    Problem(line, col, message)

Placement: a comment at the end of a line covers that line (the `path:LINE:col` pv reports); a
comment on a line of its own covers the next line that is neither blank nor another comment, so
several can be stacked above one line. Text after the closing `]` is the justification.

Comments are not YAML events, so the loader never sees them: they are found in the raw text. A `#`
starts a comment when it begins a line or follows a space or tab, and lies outside every quoted and
block scalar; those scalars' spans come from ruamel's pure scanner (tokens, not a parse), so a
`"# pv: ignore[...]"` inside a string is text, never a suppression. Only files whose text contains
`# pv:` at all pay for the scan.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

# Cheap pre-filter: no file without this pattern can hold a directive.
_MARK = re.compile(r"#[ \t]*pv[ \t]*:", re.IGNORECASE)
_BODY = re.compile(r"#[ \t]*pv[ \t]*:[ \t]*(?P<body>[^\r\n]*)", re.IGNORECASE)
_IGNORE = re.compile(
    r"ignore\b[ \t]*(?P<bracket>\[(?P<rules>[^\]\r\n]*)\])?(?P<rest>[^\r\n]*)", re.IGNORECASE
)


@dataclass(frozen=True)
class Directive:
    line: int  # 1-based line of the comment
    col: int  # 1-based column of its '#'
    target: int  # the line it covers (0: none, the comment ends the file)
    rules: tuple[str, ...]  # as written, in order
    justification: str = ""


@dataclass(frozen=True)
class Problem:
    line: int
    col: int
    message: str


@dataclass(frozen=True)
class Scan:
    directives: tuple[Directive, ...] = ()
    problems: tuple[Problem, ...] = field(default_factory=tuple)


def _scalar_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of quoted and block scalars, where a '#' is content.

    A block scalar's span starts after its header line (`|-  # a comment` stays a comment)."""
    from ruamel.yaml import YAML

    spans = []
    for tok in YAML(typ="safe", pure=True).scan(text):
        style = getattr(tok, "style", None)
        if type(tok).__name__ != "ScalarToken" or style not in ('"', "'", "|", ">"):
            continue
        start, end = tok.start_mark.index, tok.end_mark.index
        if style in ("|", ">"):
            nl = text.find("\n", start)
            start = end if nl < 0 else min(nl + 1, end)
        if end > start:
            spans.append((start, end))
    return spans


def _inside(spans: list[tuple[int, int]], starts: list[int], offset: int) -> bool:
    i = bisect.bisect_right(starts, offset) - 1
    return i >= 0 and spans[i][0] <= offset < spans[i][1]


def scan(text: str) -> Scan:
    """Every `# pv:` comment of a YAML text. Raises ValueError when the text cannot be tokenised."""
    if not _MARK.search(text):
        return Scan()
    try:
        spans = _scalar_spans(text)
    except Exception as exc:  # any scanner error: the caller reports that comments were not read
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"cannot read the comments: {first}") from exc
    starts = [s for s, _ in spans]
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    lines = text.split("\n")

    def is_comment(offset: int) -> bool:
        prev = text[offset - 1] if offset else "\n"
        return prev in " \t\n" and not _inside(spans, starts, offset)

    def own_line(n: int) -> bool:
        """Line n (0-based) holds nothing but (possibly) a comment."""
        stripped = lines[n].lstrip(" \t")
        if not stripped.strip():
            return True
        return stripped.startswith("#") and is_comment(line_starts[n] + len(lines[n]) - len(stripped))

    directives: list[Directive] = []
    problems: list[Problem] = []
    for m in _BODY.finditer(text):
        offset = m.start()
        if not is_comment(offset):
            continue
        n = bisect.bisect_right(line_starts, offset) - 1
        line, col = n + 1, offset - line_starts[n] + 1
        before = text[line_starts[n] : offset]
        if before.strip() and not before.lstrip().startswith("#"):
            target = line  # trailing: covers its own line
        elif before.strip() and not is_comment(line_starts[n] + len(before) - len(before.lstrip())):
            target = line
        else:
            target = next((k + 1 for k in range(n + 1, len(lines)) if not own_line(k)), 0)
        body = m.group("body").strip()
        ig = _IGNORE.fullmatch(body)
        if ig is None:
            word = body.split()[0] if body.split() else ""
            problems.append(
                Problem(
                    line,
                    col,
                    f"`# pv: {word}` is not a pv directive; pv knows one: `# pv: ignore[RULE, ...]`",
                )
            )
            continue
        if ig.group("bracket") is None:
            problems.append(Problem(line, col, "blanket `# pv: ignore` names no rule and suppresses nothing"))
            continue
        rules = tuple(r.strip() for r in re.split(r"[,\s]+", ig.group("rules")) if r.strip())
        if not rules:
            problems.append(Problem(line, col, "`# pv: ignore[]` names no rule and suppresses nothing"))
            continue
        justification = ig.group("rest").strip().lstrip("-—:").strip()
        directives.append(Directive(line, col, target, rules, justification))
    return Scan(tuple(directives), tuple(problems))
