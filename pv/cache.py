"""On-disk cache of per-document results, so a warm `pv validate` skips YAML parsing and schema
checks entirely (cross-contract checks still run, over the cached data).

API (stable):
    ResultCache(directory, salt); .get(sha) -> CachedResult | None; .put(sha, result)
    CachedResult(data | None, positions, findings, dialect)   # data None = the file failed to load
    cache_salt(config) -> str       pv version + schema + rule registry + loader/dialect sources + caps
    default_cache_dir(config) -> Path   <root>/.pv/cache

Entries are keyed by sha256(salt + file-bytes sha), so any change to pv's rules invalidates
everything, and content (not the path) is the key: findings are stored path-free and re-pathed
on read. Writes are atomic (temp file + os.replace); unreadable or corrupt entries are misses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pv
from pv.config import PvConfig
from pv.findings import Finding, Location, Severity
from pv.rules.registry import registry_fingerprint

FORMAT = 2


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
            except (ValueError, TypeError):
                self._map = {}  # a damaged entry only costs precision: locate falls back to 1:1
        return self._map

    def __getitem__(self, key: tuple) -> tuple[int, int]:
        return self._d[key]

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


@dataclass(frozen=True)
class CachedResult:
    data: dict | None
    positions: Mapping
    findings: tuple[Finding, ...]
    dialect: str


def default_cache_dir(config: PvConfig) -> Path:
    return config.root / ".pv" / "cache"


def cache_salt(config: PvConfig) -> str:
    h = hashlib.sha256()
    h.update(f"{FORMAT}|{pv.__version__}|{pv.SCHEMA_VERSION}|{config.max_bytes}|".encode())
    h.update(resources.files("pv").joinpath("schema/contract-v1.json").read_bytes())
    h.update(registry_fingerprint().encode())
    for src in sorted((Path(pv.__file__).parent / "dialects").glob("*.py")):
        h.update(src.name.encode() + src.read_bytes())
    return h.hexdigest()


class ResultCache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = Path(directory)
        self.salt = salt
        self.write_errors = 0

    def _file(self, sha: str) -> Path:
        key = hashlib.sha256(f"{self.salt}:{sha}".encode()).hexdigest()
        return self.directory / f"{key}.json"

    def get(self, sha: str, display: str) -> CachedResult | None:
        try:
            raw = json.loads(self._file(sha).read_bytes())
            if raw.get("sha") != sha or raw.get("format") != FORMAT:
                return None
            positions = LazyPositions(raw["positions"])
            findings = tuple(
                Finding(rid, name, Severity(sev), msg, Location(display, line, col), fix, cid)
                for rid, name, sev, msg, line, col, fix, cid in raw["findings"]
            )
            return CachedResult(raw["data"], positions, findings, raw["dialect"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing or corrupt: a miss, rewritten by the caller

    def put(self, sha: str, result: CachedResult) -> None:
        entry = {
            "format": FORMAT,
            "sha": sha,
            "dialect": result.dialect,
            "data": result.data,
            # A JSON string inside JSON: the warm path decodes it only when a finding needs it.
            "positions": json.dumps([[list(p), lc[0], lc[1]] for p, lc in result.positions.items()]),
            "findings": [
                [
                    f.rule_id,
                    f.rule_name,
                    str(f.severity),
                    f.message,
                    f.location.line,
                    f.location.col,
                    f.fix,
                    f.contract_id,
                ]
                for f in result.findings
            ],
        }
        target = self._file(sha)
        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # dumps, not dump: dump streams through the pure-Python encoder, ~10x slower.
            text = json.dumps(entry, separators=(",", ":"))
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except (OSError, TypeError, ValueError):
            # The cache is an optimisation: a read-only tree or odd data just means no caching.
            self.write_errors += 1
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
