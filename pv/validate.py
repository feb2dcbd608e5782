"""`pv validate` as a library: expand patterns, load (or recall from cache), check, report.

API (stable):
    validate_paths(patterns, *, config, use_cache=True, jobs=None, cache_dir=None, documents=True) -> Report
    validate_documents(docs, *, config, files=None) -> Report      # in-memory LoadedDocument/LoadFailure
    expand_patterns(patterns) -> list[Path]                        # raises UsageError on no match
    check_document(doc, ctx) -> tuple[str, list[Finding]]          # dialect + per-document findings
    check_index(index, ctx) -> list[Finding]                       # cross-contract findings
    count(index, files) -> Counts

Report.extra carries: "dialects" {name: files}, "cache_dir" (str or None), "cache_write_errors" (int),
"jobs" (workers used; 0 when the whole report came from the cache), "report_cached" (bool),
"loaded" (LoadedDocument tuple, pv/v1 only) and "index" (the ContractIndex) for callers that go on
to generate or gate. Findings are sorted and de-duplicated; output is deterministic. Report.findings
are the reported ones; what [tool.pv] select/ignore/per-file-ignores or a `# pv: ignore[...]` comment
suppressed is in Report.suppressed (pv.suppression), counted in every verdict.

The report cache: with documents=False (the CLI), a run whose inputs all match a cached run returns
that run's report without loading or checking anything. The inputs are pv's salt, the config, every
file's (path, content sha) in order, and what the cross-file checks read outside the contracts:
the bytes of every evidence test file the gates name and the listing of the kinds directory
(see _external_inputs; a new check that reads the filesystem must add what it reads there).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from pv.cache import (
    CachedResult,
    ResultCache,
    cache_salt,
    decode_finding,
    default_cache_dir,
    encode_finding,
)
from pv.config import PvConfig
from pv.dialects import PV, check_foreign, check_foreign_sets, detect_dialect
from pv.errors import UsageError
from pv.findings import Counts, Finding, Report, Suppressed
from pv.index import ContractIndex, build_index, items, tally
from pv.loader import LoadedDocument, LoadFailure, load_bytes, read_source
from pv.paths import expand_patterns
from pv.rules.coverage import inert_contract_ids
from pv.rules.registry import CheckContext, document_checks, index_checks

# Measured on the 2-core dev box (1,000 contracts, cold, fast schema path): serial 0.68-1.09 s,
# 2 workers 0.58-1.23 s; no reliable win there, so auto-parallelism needs >= 4 cores and many files.
PARALLEL_MIN_FILES = 256
PARALLEL_MIN_CPUS = 4


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
    return tally((d.data for d in index.docs), files=files, inert_contracts=len(inert_contract_ids(index)))


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
    results: list[_Result],
    ctx: CheckContext,
    files: Sequence[str],
    cached: int,
    extra: dict,
    sources: Mapping[str, bytes],
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
    # Selection and inline suppressions: comments are read only from files that loaded. Imported
    # here: a run answered from the report cache never needs them.
    from pv.suppression import apply as apply_suppressions

    texts = {r.doc.display: sources[r.doc.display] for r in results if r.doc and r.doc.display in sources}
    shown, suppressed = apply_suppressions(set(findings), config=ctx.config, texts=texts)
    extra = {**extra, "dialects": dict(sorted(dialects.items())), "loaded": index.docs, "index": index}
    return Report(
        findings=tuple(sorted(set(shown), key=Finding.sort_key)),
        counts=count(index, len(files)),
        files=tuple(files),
        cached_files=cached,
        extra=extra,
        suppressed=tuple(sorted(set(suppressed), key=lambda s: (*s.finding.sort_key(), s.by, s.reason))),
    )


def _disk_sources(docs: Iterable[LoadedDocument]) -> dict[str, bytes]:
    """In-memory documents still on disk unchanged: their bytes, for inline suppressions."""
    out = {}
    for d in docs:
        try:
            data = d.path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == d.source_sha256:
            out[d.display] = data
    return out


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
    sources = _disk_sources(r.doc for r in results if r.doc is not None)
    return _finish(results, ctx, names, 0, {"cache_dir": None, "jobs": 1}, sources)


def validate_paths(
    patterns: Sequence[str],
    *,
    config: PvConfig,
    use_cache: bool = True,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    documents: bool = True,
) -> Report:
    """documents=False: the caller needs no extra["loaded"]/["index"], so an unchanged run may be
    answered from the report cache (those two keys are then absent)."""
    paths = expand_patterns(patterns)
    cache = ResultCache(cache_dir or default_cache_dir(config), cache_salt(config)) if use_cache else None
    sources: list[tuple[bytes, str] | LoadFailure] = []
    for path in paths:
        data = read_source(path, max_bytes=config.max_bytes)
        sources.append(data if isinstance(data, LoadFailure) else (data, hashlib.sha256(data).hexdigest()))
    files = [str(p) for p in paths]
    key = _report_key(config, files, sources) if cache is not None else ""
    if cache is not None and not documents:
        hit = _cached_report(cache, key, config, files, sources)
        if hit is not None:
            return hit

    ctx = CheckContext(config)
    results: list[_Result | None] = [None] * len(paths)
    cold: list[tuple[int, bytes, str]] = []
    cached = 0
    for i, (path, src) in enumerate(zip(paths, sources, strict=True)):
        if isinstance(src, LoadFailure):
            results[i] = _Result(None, (src.finding,), "")
            continue
        data, sha = src
        hit = cache.get(sha, files[i]) if cache else None
        if hit is not None:
            doc = LoadedDocument(path, hit.data, sha, hit.positions) if hit.data is not None else None
            results[i] = _Result(doc, hit.findings, hit.dialect)
            cached += 1
        else:
            cold.append((i, data, sha))
    workers = _workers(jobs, len(cold))
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor  # only parallel runs pay for the import

        with ProcessPoolExecutor(max_workers=workers) as pool:
            args = [(data, files[i], config) for i, data, _ in cold]
            fresh = list(pool.map(_worker, args, chunksize=max(1, len(args) // (workers * 4))))
    else:
        fresh = [_process_source(data, paths[i], config) for i, data, _ in cold]
    for (i, _, sha), r in zip(cold, fresh, strict=True):
        results[i] = r
        if cache is not None:
            d = r.doc
            result = CachedResult(d.data if d else None, d.positions if d else {}, r.findings, r.dialect)
            cache.put(sha, files[i], result)
    if cache is not None:
        cache.flush()
    extra = {"cache_dir": str(cache.directory) if cache else None, "jobs": workers, "report_cached": False}
    raw = {name: src[0] for name, src in zip(files, sources, strict=True) if isinstance(src, tuple)}
    report = _finish([r for r in results if r is not None], ctx, files, cached, extra, raw)
    if cache is not None:
        cache.put_report(key, _report_payload(report, config))
        report.extra["cache_write_errors"] = cache.write_errors
    else:
        report.extra["cache_write_errors"] = 0
    return report


# ---------------------------------------------------------------- the report cache


def _report_key(config: PvConfig, files: list[str], sources: list) -> str:
    """Everything a run's report depends on inside the contracts: config and (path, content)."""
    h = hashlib.sha256()
    settings = [str(config.root), config.target_packages, config.kind_entries, config.tests_root]
    # Rule selection decides what is reported: a changed ignore list must miss this cache.
    settings += [config.select, config.ignore, config.per_file_ignores]
    h.update(json.dumps([*settings, config.max_bytes]).encode())
    for name, src in zip(files, sources, strict=True):
        # A file that could not be read: its finding (which says why) stands in for its content.
        digest = src[1] if isinstance(src, tuple) else "!" + src.finding.message
        h.update(f"\0{name}\0{digest}".encode())
    return h.hexdigest()


def _file_fingerprint(path: str) -> str:
    """What a check reading `path` sees: absent/not a regular file, or the content's sha."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return "not-a-file"
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError as exc:
        return f"error:{exc.errno}"


def _kinds_fingerprint(config: PvConfig) -> list:
    """The kind names the unknown-kind check sees (reading NAME lines is cheap: no import)."""
    from pv.kinds import KindConfigError, KindRegistry

    try:
        return [[r.name, r.module] for r in KindRegistry.for_config(config).refs()]
    except KindConfigError as exc:
        return [f"error:{exc}"]


def _external_inputs(index: ContractIndex, config: PvConfig) -> list[str]:
    """Files outside the contracts the cross-file checks read: gate evidence test files
    (pv.rules.references.check_evidence). The kinds directory is fingerprinted separately."""
    tests_root = config.path(config.tests_root)
    out = set()
    for d in index.docs:
        for _, gate in index.items(d, "gates"):
            for _, ev in items(gate, "evidence"):
                test = ev.get("test")
                if isinstance(test, str) and "::" in test:
                    out.add(str(tests_root / test.split("::")[0]))
    return sorted(out)


def _report_payload(report: Report, config: PvConfig) -> dict:
    deps = _external_inputs(report.extra["index"], config)
    return {
        "deps": [[p, _file_fingerprint(p)] for p in deps],
        "kinds": _kinds_fingerprint(config),
        "findings": [encode_finding(f, with_path=True) for f in report.findings],
        "suppressed": [
            [s.by, s.reason, *encode_finding(s.finding, with_path=True)] for s in report.suppressed
        ],
        "counts": asdict(report.counts),
        "dialects": report.extra["dialects"],
    }


def _cached_report(
    cache: ResultCache, key: str, config: PvConfig, files: list[str], sources: list
) -> Report | None:
    payload = cache.get_report(key)
    if payload is None:
        return None
    try:
        if payload["kinds"] != _kinds_fingerprint(config):
            return None
        for path, fp in payload["deps"]:
            if _file_fingerprint(path) != fp:
                return None
        findings = tuple(decode_finding(row) for row in payload["findings"])
        suppressed = tuple(_decode_suppressed(row) for row in payload["suppressed"])
        counts = Counts(**payload["counts"])
        dialects = dict(payload["dialects"])
    except (KeyError, TypeError, ValueError):
        return None  # malformed entry: run the checks, which rewrites it
    extra = {
        "cache_dir": str(cache.directory),
        "cache_write_errors": 0,
        "jobs": 0,
        "report_cached": True,
        "dialects": dialects,
    }
    readable = sum(1 for s in sources if isinstance(s, tuple))
    return Report(
        findings=findings,
        counts=counts,
        files=tuple(files),
        cached_files=readable,
        extra=extra,
        suppressed=suppressed,
    )


def _decode_suppressed(row: list) -> Suppressed:
    by, reason, *finding = row
    if by not in ("config", "inline") or type(reason) is not str:
        raise TypeError("malformed suppression")
    return Suppressed(decode_finding(finding), by, reason)


def _workers(jobs: int | None, cold: int) -> int:
    if jobs is not None:
        return max(1, min(jobs, cold or 1))
    cpus = os.cpu_count() or 1
    if cold < PARALLEL_MIN_FILES or cpus < PARALLEL_MIN_CPUS:
        return 1
    return min(cpus, 8)
