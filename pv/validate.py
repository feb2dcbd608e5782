"""`pv validate` as a library: expand patterns, load (or recall from cache), check, report.

API (stable):
    validate_paths(patterns, *, config, use_cache=True, jobs=None, cache_dir=None) -> Report
    validate_documents(docs, *, config, files=None) -> Report      # in-memory LoadedDocument/LoadFailure
    expand_patterns(patterns) -> list[Path]                        # raises UsageError on no match
    check_document(doc, ctx) -> tuple[str, list[Finding]]          # dialect + per-document findings
    check_index(index, ctx) -> list[Finding]                       # cross-contract findings
    count(index, files) -> Counts

Report.extra carries: "dialects" {name: files}, "cache_dir" (str or None), "cache_write_errors" (int),
"jobs" (workers used),
"loaded" (LoadedDocument tuple, pv/v1 only) and "index" (the ContractIndex) for callers that go on
to generate or gate. Findings are sorted and de-duplicated; output is deterministic.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pv.cache import CachedResult, ResultCache, cache_salt, default_cache_dir
from pv.config import PvConfig
from pv.dialects import PV, check_foreign, check_foreign_sets, detect_dialect
from pv.errors import UsageError
from pv.findings import Counts, Finding, Report
from pv.index import ContractIndex, build_index, is_executable, items
from pv.loader import LoadedDocument, LoadFailure, load_bytes, read_source
from pv.rules.coverage import inert_contract_ids
from pv.rules.registry import CheckContext, document_checks, index_checks

YAML_SUFFIXES = (".yaml", ".yml")
# Measured on the 2-core dev box (1,000 contracts, cold, fast schema path): serial 0.68-1.09 s,
# 2 workers 0.58-1.23 s; no reliable win there, so auto-parallelism needs >= 4 cores and many files.
PARALLEL_MIN_FILES = 256
PARALLEL_MIN_CPUS = 4


def _has_magic(p: str) -> bool:
    return any(c in p for c in "*?[")


def _walk(directory: str) -> list[str]:
    out = []
    # followlinks=False: a symlink loop among directories must not recurse forever.
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(YAML_SUFFIXES))
    return out


def expand_patterns(patterns: Sequence[str]) -> list[Path]:
    """Files, directories (recursively *.yaml/*.yml) and globs (with **), de-duplicated, in order."""
    if not patterns:
        raise UsageError("no contract paths given; pass files, directories or globs (e.g. contracts/)")
    seen: set[str] = set()
    out: list[Path] = []
    for pattern in patterns:
        if _has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            found = []
            for m in matches:
                if os.path.isdir(m):
                    found.extend(_walk(m))
                elif m.endswith(YAML_SUFFIXES):
                    found.append(m)
        elif os.path.isdir(pattern):
            found = _walk(pattern)
        elif os.path.lexists(pattern):
            found = [pattern]  # named explicitly: load it whatever it is, and report what is wrong
        else:
            raise UsageError(f"{pattern}: no such file or directory")
        if not found:
            raise UsageError(f"{pattern}: matched no contract files (*.yaml, *.yml)")
        for f in found:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                out.append(Path(os.path.normpath(f)))
    return out


def check_document(doc: LoadedDocument, ctx: CheckContext) -> tuple[str, list[Finding]]:
    dialect = detect_dialect(doc.data)
    if dialect not in (PV, "unknown"):
        return dialect, check_foreign(doc, dialect)
    findings: list[Finding] = []
    for check in document_checks():
        findings.extend(check(doc, ctx))
    return PV, findings


def check_index(index: ContractIndex, ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    for check in index_checks():
        findings.extend(check(index, ctx))
    return findings


def count(index: ContractIndex, files: int) -> Counts:
    invariants = gates = blocking = falsifiers = executable = 0
    for d in index.docs:
        invariants += len(items(d.data, "invariants"))
        g = items(d.data, "gates")
        gates += len(g)
        blocking += sum(1 for _, gate in g if gate.get("ship_blocking") is True)
        f = items(d.data, "falsifiers")
        falsifiers += len(f)
        executable += sum(1 for _, x in f if is_executable(x))
    return Counts(
        files=files,
        contracts=len(index.docs),
        invariants=invariants,
        gates=gates,
        ship_blocking_gates=blocking,
        falsifiers=falsifiers,
        executable_falsifiers=executable,
        inert_contracts=len(inert_contract_ids(index)),
    )


@dataclass(frozen=True)
class _Result:
    doc: LoadedDocument | None
    findings: tuple[Finding, ...]
    dialect: str  # "" when the file failed to load


def _process_source(data: bytes, path: Path, config: PvConfig) -> _Result:
    loaded = load_bytes(data, path, max_bytes=config.max_bytes)
    if isinstance(loaded, LoadFailure):
        return _Result(None, (loaded.finding,), "")
    dialect, findings = check_document(loaded, CheckContext(config))
    return _Result(loaded, tuple(findings), dialect)


def _worker(args: tuple[bytes, str, PvConfig]) -> _Result:
    return _process_source(args[0], Path(args[1]), args[2])


def _finish(
    results: list[_Result], ctx: CheckContext, files: Sequence[str], cached: int, extra: dict
) -> Report:
    findings: list[Finding] = [f for r in results for f in r.findings]
    pv_docs = [r.doc for r in results if r.doc is not None and r.dialect == PV]
    index = build_index(pv_docs)
    findings.extend(check_index(index, ctx))
    foreign: dict[str, list[LoadedDocument]] = {}
    dialects: dict[str, int] = {}
    for r in results:
        if r.dialect:
            dialects[r.dialect] = dialects.get(r.dialect, 0) + 1
            if r.dialect != PV and r.doc is not None:
                foreign.setdefault(r.dialect, []).append(r.doc)
    findings.extend(check_foreign_sets(foreign))
    unique = sorted(set(findings), key=Finding.sort_key)
    extra = {**extra, "dialects": dict(sorted(dialects.items())), "loaded": index.docs, "index": index}
    return Report(
        findings=tuple(unique),
        counts=count(index, len(files)),
        files=tuple(files),
        cached_files=cached,
        extra=extra,
    )


def validate_documents(
    docs: Iterable[LoadedDocument | LoadFailure], *, config: PvConfig, files: Sequence[str] | None = None
) -> Report:
    """Check documents already in memory (no cache). Empty input is a UsageError."""
    ctx = CheckContext(config)
    results: list[_Result] = []
    for d in docs:
        if isinstance(d, LoadFailure):
            results.append(_Result(None, (d.finding,), ""))
        else:
            dialect, findings = check_document(d, ctx)
            results.append(_Result(d, tuple(findings), dialect))
    if not results:
        raise UsageError("no contracts to validate")
    names = (
        list(files)
        if files is not None
        else [r.doc.display if r.doc else r.findings[0].location.path for r in results]
    )
    return _finish(results, ctx, names, 0, {"cache_dir": None, "jobs": 1})


def validate_paths(
    patterns: Sequence[str],
    *,
    config: PvConfig,
    use_cache: bool = True,
    jobs: int | None = None,
    cache_dir: Path | None = None,
) -> Report:
    paths = expand_patterns(patterns)
    ctx = CheckContext(config)
    cache = ResultCache(cache_dir or default_cache_dir(config), cache_salt(config)) if use_cache else None
    results: list[_Result | None] = [None] * len(paths)
    cold: list[tuple[int, bytes, str]] = []
    cached = 0
    for i, path in enumerate(paths):
        data = read_source(path, max_bytes=config.max_bytes)
        if isinstance(data, LoadFailure):
            results[i] = _Result(None, (data.finding,), "")
            continue
        sha = hashlib.sha256(data).hexdigest()
        hit = cache.get(sha, str(path)) if cache else None
        if hit is not None:
            doc = LoadedDocument(path, hit.data, sha, hit.positions) if hit.data is not None else None
            results[i] = _Result(doc, hit.findings, hit.dialect)
            cached += 1
        else:
            cold.append((i, data, sha))
    workers = _workers(jobs, len(cold))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            args = [(data, str(paths[i]), config) for i, data, _ in cold]
            fresh = list(pool.map(_worker, args, chunksize=max(1, len(args) // (workers * 4))))
    else:
        fresh = [_process_source(data, paths[i], config) for i, data, _ in cold]
    for (i, _, sha), r in zip(cold, fresh, strict=True):
        results[i] = r
        if cache is not None:
            cache.put(
                sha,
                CachedResult(
                    r.doc.data if r.doc else None, r.doc.positions if r.doc else {}, r.findings, r.dialect
                ),
            )
    extra = {
        "cache_dir": str(cache.directory) if cache else None,
        "cache_write_errors": cache.write_errors if cache else 0,
        "jobs": workers,
    }
    return _finish([r for r in results if r is not None], ctx, [str(p) for p in paths], cached, extra)


def _workers(jobs: int | None, cold: int) -> int:
    if jobs is not None:
        return max(1, min(jobs, cold or 1))
    cpus = os.cpu_count() or 1
    if cold < PARALLEL_MIN_FILES or cpus < PARALLEL_MIN_CPUS:
        return 1
    return min(cpus, 8)
