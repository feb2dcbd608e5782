"""On-disk cache, so a warm `pv validate` parses nothing and, when nothing changed, checks nothing.

API (stable):
    ResultCache(directory, salt, key)
        .get(sha, display) -> CachedResult | None    one document's results (a miss: None)
        .put(sha, display, result)                   staged in memory; .flush() writes them
        .flush()                                     atomic rewrite of the pack shards that changed
        .get_report(key) -> dict | None              a whole run's payload (see pv.validate)
        .put_report(key, payload)                    atomic; keeps the REPORTS_KEPT newest
        .write_errors                                failed writes (the cache never fails a run)
    CachedResult(data | None, positions, findings, dialect)   # data None = the file failed to load
    cache_salt(config) -> str       pv version + schema + rule registry + loader/dialect sources + caps
    default_cache_dir(config) -> Path   <root>/.pv/cache
    user_key() -> bytes | None          the per-user signing key (None: no cache)
    cache_disabled_reason() -> str | None   CI / PV_NO_CACHE turn the cache off
    load_signed(path, key) -> object | None the JSON body of a file whose signature checks out

Two layers. The document pack (`docs-<salt>-<0-f>.json`: 16 shards by the sha's first digit, each
read once, so an edit rewrites 1/16 of it) maps a file's content sha to its data, positions and
per-document findings; findings are stored path-free and re-pathed on read,
so a moved pv/v1 file is still a hit (foreign-dialect checks quote the path: for them a different
path is a miss). The report entries (`report-<key>.json`) hold a finished run under a key the caller
derives from every input (see pv.validate). Writes are temp file + os.replace, so a reader sees a
whole old or a whole new file, never half of one; concurrent writers can only lose entries, which
the next run recomputes. Unreadable or malformed entries are misses, rewritten by that run.
JSON, never pickle: a planted cache file must not be able to run code.

Trust: a cache must never turn a failing tree green. Every file starts with a line
`pv-cache <FORMAT> <hmac>`: an HMAC-SHA256 of its name and JSON body under a per-user secret key kept
outside the tree (`$XDG_CACHE_HOME/pv/cache-key`, else `~/.cache/pv/cache-key`, mode 0600, created on
first use). A file planted in `.pv/cache` (the keys are derivable from the inputs), copied from another
machine or another user, or damaged in any way fails the check and is a miss. Where the tree is not
the user's own the cache is off altogether: `CI` set (true/1/yes) or `PV_NO_CACHE` set; also when no
usable key exists (no home directory, a key file others can read or write).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pv
from pv.config import PvConfig
from pv.findings import Finding, Location, Severity
from pv.rules.registry import registry_fingerprint

FORMAT = 3
PV_DIALECT = "pv/v1"  # pv.dialects.PV, spelled here to keep this module's imports light
SHARD_CHARS = 1  # the pack is split by the sha's first hex digit: an edit rewrites 1/16 of it
MAX_PACK_ENTRIES = 8000  # entries of other content (other branches, subsets) kept beside this run's
_LEGACY = re.compile(r"[0-9a-f]{64}\.json")  # one file per document: pv's cache format 2
REPORTS_KEPT = 16  # distinct runs (path sets/configs) remembered
KEY_FILE = "cache-key"
_MAGIC = b"pv-cache"
_FALSEY = ("", "0", "false", "no", "off")


class LazyPositions(Mapping):
    """Positions from a cache entry, turned into the path -> (line, col) dict on first use:
    a warm run that finds nothing wrong never needs a single position."""

    def __init__(self, raw: str) -> None:
        if not isinstance(raw, str):
            raise TypeError("positions must be a JSON string")
        self._raw = raw
        self._map: dict | None = None

    @property
    def _d(self) -> dict:
        if self._map is None:
            try:
                self._map = {tuple(p): (line, col) for p, line, col in json.loads(self._raw)}
            except (ValueError, TypeError, RecursionError):
                self._map = {}  # a damaged entry only costs precision: locate falls back to 1:1
        return self._map

    def __getitem__(self, key: tuple) -> tuple[int, int]:
        return self._d[key]

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def raw(self) -> str:
        return self._raw


@dataclass(frozen=True)
class CachedResult:
    data: dict | None
    positions: Mapping
    findings: tuple[Finding, ...]
    dialect: str


def default_cache_dir(config: PvConfig) -> Path:
    return config.root / ".pv" / "cache"


def cache_disabled_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the cache is off in this environment (None: it may be used)."""
    env = os.environ if environ is None else environ
    if env.get("PV_NO_CACHE", "").strip().lower() not in _FALSEY:
        return "PV_NO_CACHE is set"
    if env.get("CI", "").strip().lower() not in _FALSEY:
        return "CI is set: on a CI machine the tree (and a restored .pv/) is not the user's own"
    return None


def key_path() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError, OSError):
            return None
    return Path(base) / "pv" / KEY_FILE


def _read_key(path: Path) -> bytes | None:
    """The key, if the file is a regular file of this user that nobody else can read or write."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        mine = not hasattr(os, "geteuid") or st.st_uid == os.geteuid()
        if not stat.S_ISREG(st.st_mode) or not mine or st.st_mode & 0o077 or st.st_size > 256:
            return None
        key = os.read(fd, 256).strip()
    except OSError:
        return None
    finally:
        os.close(fd)
    return key if len(key) >= 32 else None


def user_key() -> bytes | None:
    """The per-user secret that signs cache entries, created (0600) on first use; None when there
    is no usable one, which turns the cache off."""
    path = key_path()
    if path is None:
        return None
    key = _read_key(path)
    if key is not None:
        return key
    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = _mkstemp(path.parent)
        with os.fdopen(fd, "w", encoding="ascii") as fh:  # mkstemp files are 0600
            fh.write(secrets.token_hex(32) + "\n")
        os.link(tmp, path)  # create-if-absent in one step: a concurrent first run keeps its key
    except FileExistsError:
        pass
    except OSError:
        return None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return _read_key(path)


def _mkstemp(directory: Path) -> tuple[int, str]:
    import tempfile  # only runs that write pay for it

    return tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")


def _mac(key: bytes, name: str, body: bytes) -> str:
    return hmac.new(key, name.encode() + b"\0" + body, hashlib.sha256).hexdigest()


def _signed(key: bytes, name: str, body: bytes) -> bytes:
    return b"%s %d %s\n" % (_MAGIC, FORMAT, _mac(key, name, body).encode()) + body


def load_signed(path: Path, key: bytes) -> object | None:
    """The JSON body of a cache file whose signature checks out, else None (never raises)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, sep, body = raw.partition(b"\n")
    parts = head.split(b" ")
    if not sep or len(parts) != 3 or parts[0] != _MAGIC or parts[1] != str(FORMAT).encode():
        return None
    if not hmac.compare_digest(parts[2], _mac(key, path.name, body).encode()):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError, MemoryError):
        return None


def cache_salt(config: PvConfig) -> str:
    h = hashlib.sha256()
    h.update(f"{FORMAT}|{pv.__version__}|{pv.SCHEMA_VERSION}|{config.max_bytes}|".encode())
    h.update(resources.files("pv").joinpath("schema/contract-v1.json").read_bytes())
    h.update(registry_fingerprint().encode())
    for src in sorted((Path(pv.__file__).parent / "dialects").glob("*.py")):
        h.update(src.name.encode() + src.read_bytes())
    return h.hexdigest()


def encode_finding(f: Finding, *, with_path: bool) -> list:
    loc = f.location
    row = [f.rule_id, f.rule_name, str(f.severity), f.message, loc.line, loc.col, loc.end_line, loc.end_col]
    row += [f.fix, f.contract_id]
    return [loc.path, *row] if with_path else row


def decode_finding(row: list, path: str | None = None) -> Finding:
    """Inverse of encode_finding; `path` given = the row was stored path-free. Raises on bad rows."""
    if path is None:
        path, *row = row
    rid, name, sev, msg, line, col, end_line, end_col, fix, cid = row
    if not all(type(v) is str for v in (path, rid, name, msg, fix, cid)):
        raise TypeError("malformed finding")
    if not all(type(v) is int for v in (line, col, end_line, end_col)):
        raise TypeError("malformed location")
    return Finding(rid, name, Severity(sev), msg, Location(path, line, col, end_line, end_col), fix, cid)


class ResultCache:
    def __init__(self, directory: Path, salt: str, key: bytes) -> None:
        """`key` signs and checks every file (user_key()); a file it did not sign is a miss."""
        self.directory = Path(directory)
        self.salt = salt
        self._key = key
        self.write_errors = 0
        self._shards: dict[str, dict] = {}  # shard -> {sha: entry}, each read on its first get
        self._new: dict[str, dict[str, dict]] = {}  # shard -> {sha: entry} added by this run
        self._used: set[str] = set()

    def shard_file(self, shard: str) -> Path:
        return self.directory / f"docs-{self.salt[:24]}-{shard}.json"

    def _shard(self, shard: str) -> dict:
        entries = self._shards.get(shard)
        if entries is None:
            raw = load_signed(self.shard_file(shard), self._key)
            ok = isinstance(raw, dict) and raw.get("format") == FORMAT and raw.get("salt") == self.salt
            entries = raw.get("entries") if ok else None  # missing, forged or corrupt: misses, rewritten
            entries = self._shards[shard] = entries if isinstance(entries, dict) else {}
        return entries

    def get(self, sha: str, display: str) -> CachedResult | None:
        entry = self._shard(sha[:SHARD_CHARS]).get(sha)
        try:
            dialect = entry["dialect"]
            if dialect not in ("", PV_DIALECT) and entry["display"] != display:
                return None  # foreign-dialect findings quote the file's path
            data = entry["data"]
            if data is not None and type(data) is not dict:
                return None
            findings = tuple(decode_finding(row, display) for row in entry["findings"])
            result = CachedResult(data, LazyPositions(entry["positions"]), findings, dialect)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # absent or malformed entry: a miss, rewritten by the caller
        self._used.add(sha)
        return result

    def put(self, sha: str, display: str, result: CachedResult) -> None:
        pos = result.positions
        self._new.setdefault(sha[:SHARD_CHARS], {})[sha] = {
            "display": display,
            "dialect": result.dialect,
            "data": result.data,
            # A JSON string inside JSON: the warm path decodes it only when a finding needs it.
            "positions": pos.raw()
            if isinstance(pos, LazyPositions)
            else json.dumps([[list(p), lc[0], lc[1]] for p, lc in pos.items()], separators=(",", ":")),
            "findings": [encode_finding(f, with_path=False) for f in result.findings],
        }

    def flush(self) -> None:
        """Rewrite the shards this run added entries to: this run's entries first, then older ones
        (other branches, other subsets) up to the shard's share of MAX_PACK_ENTRIES. Shards of
        other salts (an older pv, changed rules) are removed."""
        if not self._new:
            return
        cap = max(1, MAX_PACK_ENTRIES // 16**SHARD_CHARS)
        wrote = False
        for shard, new in sorted(self._new.items()):
            old = self._shard(shard)
            entries = {sha: old[sha] for sha in self._used if sha in old}
            entries.update(new)
            for sha, entry in old.items():
                if len(entries) >= cap:
                    break
                entries.setdefault(sha, entry)
            payload = {"format": FORMAT, "salt": self.salt, "entries": entries}
            if self._write(self.shard_file(shard), payload):
                self._shards[shard], wrote = entries, True
        self._new = {}
        if wrote:
            self._prune_other_salts()

    def _prune_other_salts(self) -> None:
        mine = f"docs-{self.salt[:24]}-"
        try:
            stale = [p for p in self.directory.glob("docs-*.json") if not p.name.startswith(mine)]
            stale += [p for p in self.directory.glob("*.json") if _LEGACY.fullmatch(p.name)]
        except OSError:
            return
        for p in stale:
            with contextlib.suppress(OSError):
                p.unlink()

    def _report_file(self, key: str) -> Path:
        digest = hashlib.sha256(f"{self.salt}:{key}".encode()).hexdigest()
        return self.directory / f"report-{digest[:32]}.json"

    def get_report(self, key: str) -> dict | None:
        raw = load_signed(self._report_file(key), self._key)
        if not isinstance(raw, dict) or raw.get("format") != FORMAT or raw.get("key") != key:
            return None
        payload = raw.get("payload")
        return payload if isinstance(payload, dict) else None

    def put_report(self, key: str, payload: dict) -> None:
        if self._write(self._report_file(key), {"format": FORMAT, "key": key, "payload": payload}):
            self._prune("report-*.json", keep=REPORTS_KEPT)

    def _write(self, target: Path, payload: dict) -> bool:
        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # dumps, not dump: dump streams through the pure-Python encoder, ~10x slower.
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8", "surrogatepass")
            fd, tmp = _mkstemp(self.directory)
            with os.fdopen(fd, "wb") as fh:
                fh.write(_signed(self._key, target.name, body))
            os.replace(tmp, target)
            return True
        except (OSError, TypeError, ValueError, RecursionError):
            # The cache is an optimisation: a read-only tree or odd data just means no caching.
            self.write_errors += 1
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return False

    def _prune(self, pattern: str, keep: int) -> None:
        """Drop all but the `keep` most recently written files matching pattern (best effort)."""
        try:
            files = sorted(self.directory.glob(pattern), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        except OSError:
            return
        for stale in files[keep:]:
            with contextlib.suppress(OSError):
                stale.unlink()
