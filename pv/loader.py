"""Load one contract file into plain, JSON-compatible data with positions, or a clean finding.

API (stable):
    load_document(path, *, max_bytes=DEFAULT_MAX_BYTES, root=None) -> LoadedDocument | LoadFailure
    load_bytes(data, path, *, max_bytes=...) -> LoadedDocument | LoadFailure   # in-memory input
    read_source(path, *, max_bytes=..., root=None) -> bytes | LoadFailure       # size-capped read
    LoadedDocument(path, data, source_sha256, positions); .locate(json_path) -> Location;
        .display (str path used in findings); .contract_id
    LoadFailure(path, finding, source_sha256)

How: the bytes are decoded strictly as UTF-8 by us first, then a YAML *event* stream (libyaml's C
parser when PyYAML is importable, else ruamel.yaml's pure parser; same events) is folded into
dicts/lists by one iterative loop here. Doing construction ourselves, not via a loader, is what makes
hostile input safe and cheap: YAML 1.2 core scalars only (dates stay strings, `yes` stays a string),
no tag ever builds an object, duplicate keys are caught at the second key, aliases and expanded nodes
are counted against budgets, depth is bounded without recursion, and every key/item position is
recorded for `locate`. Nothing is imported or executed. Set PV_YAML_BACKEND=ruamel to force the pure
parser.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pv.config import DEFAULT_MAX_BYTES
from pv.findings import Finding, Location
from pv.rules import load as R
from pv.rules.registry import Rule

MAX_DEPTH = 64  # no contract needs more; bounded so nothing downstream can hit the stack limit
MAX_ALIASES = 100  # contracts rarely use anchors at all
NODE_BUDGET = 250_000  # expanded nodes per document (a 2 MiB file of short lines is ~100k nodes)

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True, eq=False)
class LoadedDocument:
    path: Path
    data: dict
    source_sha256: str
    positions: Mapping[JsonPath, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def display(self) -> str:
        return str(self.path)

    @property
    def contract_id(self) -> str:
        cid = self.data.get("id")
        return cid if isinstance(cid, str) else ""

    def locate(self, json_path: JsonPath = ()) -> Location:
        """1-based line/col of the node at json_path (the key, for mapping entries); falls back
        to the nearest existing parent, and to 1:1 for the root."""
        path = tuple(json_path)
        pos = self.positions
        while path:
            hit = pos.get(path)
            if hit is not None:
                return Location(self.display, hit[0], hit[1])
            path = path[:-1]
        return Location(self.display, 1, 1)


@dataclass(frozen=True)
class LoadFailure:
    path: Path
    finding: Finding
    source_sha256: str = ""

    @property
    def display(self) -> str:
        return str(self.path)


class _Fail(Exception):
    def __init__(self, rule: Rule, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.rule, self.message, self.line, self.col = rule, message, line, col


def _fail(path: Path, rule: Rule, message: str, line: int = 0, col: int = 0, sha: str = "") -> LoadFailure:
    return LoadFailure(path, rule.finding(message, Location(str(path), line, col)), sha)


# ---------------------------------------------------------------- reading


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        # A dangling symlink stats as missing; say so rather than "no such file".
        what = "is a dangling symlink" if os.path.islink(path) else "does not exist"
        raise _Fail(R.FILE_UNREADABLE, f"{path} {what}") from exc
    except OSError as exc:  # ELOOP (symlink loop), ENAMETOOLONG, EACCES on a parent, ...
        raise _Fail(R.FILE_UNREADABLE, f"cannot read {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise _Fail(R.FILE_UNREADABLE, f"{path} is a directory, not a contract file")
    if not stat.S_ISREG(st.st_mode):  # FIFOs/devices would block or never end
        raise _Fail(R.FILE_UNREADABLE, f"{path} is not a regular file")
    if st.st_size > max_bytes:
        raise _Fail(R.FILE_TOO_LARGE, f"{path} is {st.st_size} bytes, over the {max_bytes}-byte cap")
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise _Fail(R.FILE_UNREADABLE, f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:  # grew between stat and read
        raise _Fail(R.FILE_TOO_LARGE, f"{path} is over the {max_bytes}-byte cap")
    return data


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, len(data[start:offset].decode("utf-8", "replace")) + 1


def _check_text(data: bytes) -> bytes:
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise _Fail(
            R.INVALID_ENCODING,
            f"invalid UTF-8 at byte offset {exc.start} (byte 0x{data[exc.start]:02x}): {exc.reason}",
            line,
            col,
        ) from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col(data, nul)
        raise _Fail(R.INVALID_ENCODING, f"NUL byte at byte offset {nul}", line, col)
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


# ---------------------------------------------------------------- events


def _events(data: bytes) -> Iterator:
    backend = os.environ.get("PV_YAML_BACKEND", "")
    if backend != "ruamel":
        try:
            from yaml._yaml import CParser  # libyaml: same events as ruamel's parser, ~10x faster
        except ImportError:
            CParser = None
        if CParser is not None:
            parser = CParser(data)
            try:
                while True:
                    ev = parser.get_event()
                    yield ev
                    if type(ev).__name__ == "StreamEndEvent":
                        return
            finally:
                parser.dispose()
    from ruamel.yaml import YAML

    yield from YAML(typ="safe", pure=True).parse(data.decode("utf-8"))


_CORE = "tag:yaml.org,2002:"
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfF")


def _resolve_plain(v: str):
    """YAML 1.2 core schema resolution of a plain scalar."""
    if v and v[0] not in _MAYBE_TYPED:
        return v
    if v in _NULLS:
        return None
    b = _BOOLS.get(v)
    if b is not None:
        return b
    if _INT10.fullmatch(v):
        return int(v)
    if _INT8.fullmatch(v):
        return int(v[2:], 8)
    if _INT16.fullmatch(v):
        return int(v[2:], 16)
    if _FLOAT.fullmatch(v):
        return float(v)
    if _INF.fullmatch(v):
        return float("-inf") if v[0] == "-" else float("inf")
    if _NAN.fullmatch(v):
        return float("nan")
    return v


def _scalar(ev):
    tag, value = ev.tag, ev.value
    if tag is None:
        return _resolve_plain(value) if not ev.style else value
    if tag == "!" or tag == _CORE + "str" or tag == _CORE + "timestamp":
        return value  # timestamps stay ISO strings: plain JSON-compatible data
    want = {_CORE + "int": int, _CORE + "float": float, _CORE + "bool": bool, _CORE + "null": type(None)}.get(
        tag
    )
    if want is None:
        raise _Fail(R.UNSAFE_TAG, f"unsupported tag {_short(tag)} on {value[:40]!r}", *_pos(ev))
    out = _resolve_plain(value)
    if want is float and type(out) is int:
        out = float(out)
    if type(out) is not want:
        raise _Fail(
            R.UNSAFE_TAG, f"{_short(tag)} value {value[:40]!r} is not a valid {want.__name__}", *_pos(ev)
        )
    return out


def _short(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _pos(ev) -> tuple[int, int]:
    m = ev.start_mark
    return m.line + 1, m.column + 1


def _build(events: Iterator) -> tuple[object, dict[JsonPath, tuple[int, int]]]:
    """Fold an event stream into plain data + positions, iteratively, under all budgets."""
    positions: dict[JsonPath, tuple[int, int]] = {}
    anchors: dict[str, tuple[object, int, str | None]] = {}  # value, expanded nodes, scalar text
    open_anchors: set[str] = set()
    # frame: [container, path, pending_key, key_pos, anchor, nodes_at_start]
    stack: list[list] = []
    root: list = []
    docs = nodes = aliases = 0

    def place(value: object, pos: tuple[int, int]) -> JsonPath | None:
        if not stack:
            root.append(value)
            return ()
        fr = stack[-1]
        container = fr[0]
        if type(container) is list:
            p = (*fr[1], len(container))
            container.append(value)
            positions[p] = pos
            return p
        if fr[2] is None:  # this value is a key
            if type(value) in (dict, list):
                raise _Fail(R.NON_SCALAR_KEY, "mapping keys must be scalars, not collections", *pos)
            key = value
            if key in container:
                first = positions.get((*fr[1], key), (0, 0))
                raise _Fail(
                    R.DUPLICATE_KEY, f"duplicate key {key!r} (first defined at line {first[0]})", *pos
                )
            fr[2], fr[3] = key, pos
            return None
        p = (*fr[1], fr[2])
        container[fr[2]] = value
        positions[p] = fr[3]
        fr[2] = None
        return p

    for ev in events:
        name = type(ev).__name__
        if name == "ScalarEvent":
            nodes += 1
            is_key = bool(stack) and type(stack[-1][0]) is dict and stack[-1][2] is None
            value = ev.value if is_key and ev.tag in (None, "!", _CORE + "str") else _scalar(ev)
            if is_key and type(value) is not str:
                value = ev.value  # JSON keys are strings: keep the key as written
            place(value, _pos(ev))
            if ev.anchor:
                anchors[ev.anchor] = (value, 1, ev.value)
        elif name in ("MappingStartEvent", "SequenceStartEvent"):
            nodes += 1
            if len(stack) >= MAX_DEPTH:
                raise _Fail(R.TOO_DEEP, f"nesting deeper than {MAX_DEPTH} levels", *_pos(ev))
            is_map = name == "MappingStartEvent"
            if ev.tag not in (None, "!", _CORE + ("map" if is_map else "seq")):
                raise _Fail(R.UNSAFE_TAG, f"unsupported tag {_short(ev.tag)}", *_pos(ev))
            container: dict | list = {} if is_map else []
            p = place(container, _pos(ev))
            if p is None:
                raise _Fail(R.NON_SCALAR_KEY, "mapping keys must be scalars, not collections", *_pos(ev))
            if ev.anchor:
                open_anchors.add(ev.anchor)
            stack.append([container, p, None, None, ev.anchor, nodes])
        elif name in ("MappingEndEvent", "SequenceEndEvent"):
            fr = stack.pop()
            if fr[4]:
                open_anchors.discard(fr[4])
                anchors[fr[4]] = (fr[0], nodes - fr[5] + 1, None)
        elif name == "AliasEvent":
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _Fail(R.ALIAS_LIMIT, f"more than {MAX_ALIASES} aliases", *_pos(ev))
            if ev.anchor in open_anchors:
                raise _Fail(
                    R.ALIAS_LIMIT, f"recursive alias *{ev.anchor} refers to its own ancestor", *_pos(ev)
                )
            if ev.anchor not in anchors:
                raise _Fail(
                    R.YAML_SYNTAX, f"alias *{ev.anchor} refers to no anchor defined before it", *_pos(ev)
                )
            value, count, raw = anchors[ev.anchor]
            nodes += count
            if stack and type(stack[-1][0]) is dict and stack[-1][2] is None and raw is not None:
                value = raw  # an aliased scalar used as a key: keys stay strings, as written
            if nodes > NODE_BUDGET:
                raise _Fail(R.ALIAS_LIMIT, f"aliases expand past the {NODE_BUDGET}-node budget", *_pos(ev))
            # A private copy: consumers may edit data (migrate) and must not see aliasing.
            place(copy.deepcopy(value) if type(value) in (dict, list) else value, _pos(ev))
        elif name == "DocumentStartEvent":
            docs += 1
            if docs > 1:
                raise _Fail(R.MULTIPLE_DOCUMENTS, "more than one YAML document in the file", *_pos(ev))
        if nodes > NODE_BUDGET:
            raise _Fail(R.ALIAS_LIMIT, f"document has more than {NODE_BUDGET} nodes", *_pos(ev))
    if not root:
        raise _Fail(R.EMPTY_DOCUMENT, "the file holds no YAML document", 1, 1)
    return root[0], positions


def _parse_error(exc: Exception, data: bytes) -> _Fail:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    context = getattr(exc, "context", None)
    msg = f"{context}: {problem}" if context else str(problem)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    position = getattr(exc, "position", None)  # reader errors (control characters) carry an offset
    if mark is None and isinstance(position, int):
        text = data.decode("utf-8", "replace")[:position]
        line, col = text.count("\n") + 1, position - (text.rfind("\n") + 1) + 1
    return _Fail(R.YAML_SYNTAX, f"YAML syntax error: {msg}", line, col)


# ---------------------------------------------------------------- public


def load_bytes(
    data: bytes, path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> LoadedDocument | LoadFailure:
    """Parse bytes already in memory (as if read from `path`)."""
    path = Path(path)
    sha = hashlib.sha256(data).hexdigest()
    try:
        if len(data) > max_bytes:
            raise _Fail(R.FILE_TOO_LARGE, f"{path} is {len(data)} bytes, over the {max_bytes}-byte cap")
        text = _check_text(data)
        try:
            root, positions = _build(_events(text))
        except _Fail:
            raise
        except RecursionError as exc:
            raise _Fail(R.TOO_DEEP, "nesting too deep for the YAML parser") from exc
        except MemoryError as exc:
            raise _Fail(R.ALIAS_LIMIT, "document too large to load") from exc
        except Exception as exc:  # every parser error (libyaml, ruamel) becomes a finding
            if "nesting depth" in str(exc):  # libyaml's own guard on flow nesting
                raise _Fail(R.TOO_DEEP, f"nesting too deep: {exc}") from exc
            raise _parse_error(exc, text) from exc
        if root is None:
            raise _Fail(R.EMPTY_DOCUMENT, "the document is empty", 1, 1)
        if type(root) is not dict:
            raise _Fail(R.ROOT_NOT_MAPPING, f"top level is a {_type_name(root)}, not a mapping", 1, 1)
    except _Fail as f:
        return _fail(path, f.rule, f.message, f.line, f.col, sha)
    return LoadedDocument(path, root, sha, positions)


def _check_inside(path: Path, root: Path) -> None:
    """A path inside the project must not resolve (through symlinks) to a file outside it."""
    real_root = Path(os.path.realpath(root))
    lexical = Path(os.path.abspath(path))
    if not (lexical.is_relative_to(os.path.abspath(root)) or lexical.is_relative_to(real_root)):
        return  # named explicitly outside the project: the user asked for that file
    if not Path(os.path.realpath(path)).is_relative_to(real_root):
        raise _Fail(
            R.SYMLINK_OUTSIDE,
            f"{path} is a symlink to a file outside the project ({root}); pv does not follow it",
        )


def read_source(
    path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, root: Path | str | None = None
) -> bytes | LoadFailure:
    """The file's bytes (size-capped, regular files only), or a LoadFailure saying why not. With
    `root`, a path inside it that resolves outside it is refused unread (PV013)."""
    path = Path(path)
    try:
        if root is not None:
            _check_inside(path, Path(root))
        return _read(path, max_bytes)
    except _Fail as f:
        return _fail(path, f.rule, f.message, f.line, f.col)


def load_document(
    path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, root: Path | str | None = None
) -> LoadedDocument | LoadFailure:
    """Read and parse one contract file; never raises for bad input, returns a LoadFailure."""
    data = read_source(path, max_bytes=max_bytes, root=root)
    if isinstance(data, LoadFailure):
        return data
    return load_bytes(data, path, max_bytes=max_bytes)


def _type_name(v: object) -> str:
    return {list: "sequence", str: "string", int: "integer", float: "float", bool: "boolean"}.get(
        type(v), type(v).__name__
    )
