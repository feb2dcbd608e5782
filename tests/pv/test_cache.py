"""The validate cache: the whole-report layer (unchanged run = no checks) must never serve a stale
verdict, the document pack must survive corruption and concurrent writers, writes are atomic."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import pv.cache as C
from pv import validate as V
from pv.cache import CachedResult, ResultCache, load_signed, user_key
from pv.config import load_config
from pv.findings import Location
from pv.rules.coverage import UNKNOWN_KIND
from pv.validate import validate_paths


def run(root: Path, **kw: object):
    return validate_paths(["contracts"], config=load_config(root), documents=False, **kw)


def rule_ids(report) -> list[str]:
    return sorted(f.rule_id for f in report.findings)


def body(path: Path):
    """A cache file's JSON body (its signature checked with this user's key)."""
    key = user_key()
    assert key is not None
    return load_signed(path, key)


def pack(directory: Path, salt: str) -> ResultCache:
    key = user_key()
    assert key is not None
    return ResultCache(directory, salt, key)


def test_unchanged_run_is_answered_from_the_report_cache(
    good_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = run(good_tree)
    assert cold.extra["report_cached"] is False

    def boom(*a: object, **k: object) -> object:
        raise AssertionError("checked on an unchanged run")

    monkeypatch.setattr(V, "check_index", boom)
    monkeypatch.setattr(V, "load_bytes", boom)
    warm = run(good_tree)
    assert warm.extra["report_cached"] is True and warm.extra["jobs"] == 0
    assert (warm.findings, warm.counts, warm.files) == (cold.findings, cold.counts, cold.files)
    assert warm.extra["dialects"] == cold.extra["dialects"] and warm.cached_files == 3
    assert "loaded" not in warm.extra  # documents=False: the caller said it needs none


def test_documents_true_always_gives_the_index(good_tree: Path) -> None:
    run(good_tree)
    report = validate_paths(["contracts"], config=load_config(good_tree))
    assert report.extra["report_cached"] is False and len(report.extra["loaded"]) == 3


def test_edited_contract_between_warm_runs_is_seen(good_tree: Path) -> None:
    run(good_tree)
    assert run(good_tree).extra["report_cached"]
    model = good_tree / "contracts" / "model.yaml"
    model.write_text(model.read_text().replace("vocab_size: 640", "vocab_size: 500"))
    edited = run(good_tree)
    assert not edited.extra["report_cached"] and edited.cached_files == 2
    assert rule_ids(edited) == ["PV601"]
    again = run(good_tree)
    assert again.extra["report_cached"] and again.findings == edited.findings


def test_deleted_evidence_test_is_seen(good_tree: Path) -> None:
    assert rule_ids(run(good_tree)) == []
    (good_tree / "tests" / "evidence_tokenizer.py").unlink()
    report = run(good_tree)
    assert not report.extra["report_cached"]
    assert rule_ids(report) == ["PV306", "PV306"]
    assert "file not found" in report.findings[0].message


def test_edited_evidence_test_is_seen(good_tree: Path) -> None:
    run(good_tree)
    ev = good_tree / "tests" / "evidence_tokenizer.py"
    ev.write_text(ev.read_text().replace("def test_round_trip", "def test_renamed"))
    report = run(good_tree)
    assert rule_ids(report) == ["PV306"] and "test_round_trip" in report.findings[0].message
    ev.write_text(ev.read_text().replace("def test_renamed", "def test_round_trip"))
    assert rule_ids(run(good_tree)) == []


def test_kind_module_added_and_removed_is_seen(good_tree: Path) -> None:
    tok = good_tree / "contracts" / "tokenizer.yaml"
    tok.write_text(
        tok.read_text().replace(
            "kind: bpe-round-trip\n    target: trainer.tokenizer:BpeTokenizer\n",
            "kind: fresh-kind\n    target: trainer.tokenizer:BpeTokenizer\n",
            1,
        )
    )
    missing = run(good_tree)
    assert rule_ids(missing) == [UNKNOWN_KIND.id]
    (good_tree / "kinds" / "fresh_kind.py").write_text('"""A new kind."""\nNAME = "fresh-kind"\n')
    added = run(good_tree)
    assert not added.extra["report_cached"] and rule_ids(added) == []
    (good_tree / "kinds" / "bpe_round_trip.py").unlink()
    removed = run(good_tree)
    assert rule_ids(removed) == [UNKNOWN_KIND.id] * 3  # the other falsifiers use round-trip
    assert all("'bpe-round-trip'" in f.message for f in removed.findings)


def test_config_change_is_seen(good_tree: Path) -> None:
    run(good_tree)
    py = good_tree / "pyproject.toml"
    py.write_text(py.read_text().replace('target_packages = ["trainer"]', 'target_packages = ["other"]'))
    report = run(good_tree)
    assert not report.extra["report_cached"] and report.errors  # targets now outside the packages


def test_file_set_change_is_seen(good_tree: Path) -> None:
    run(good_tree)
    (good_tree / "contracts" / "acceptance.yaml").unlink()
    report = run(good_tree)
    assert not report.extra["report_cached"] and report.counts.files == 2 and report.errors


def test_corrupt_report_entry_is_ignored_and_rewritten(good_tree: Path) -> None:
    cold = run(good_tree)
    (entry,) = (good_tree / ".pv" / "cache").glob("report-*.json")
    for bad in ("{not json", '{"format": 3}', json.dumps({"format": 3, "key": "x", "payload": {}})):
        entry.write_text(bad)
        report = run(good_tree)
        assert not report.extra["report_cached"] and report.findings == cold.findings
    run(good_tree)  # rewritten and signed again
    raw = body(entry)
    raw["payload"]["findings"] = [["only", "a", "path"]]  # malformed but genuinely signed
    entry.write_bytes(C._signed(user_key(), entry.name, json.dumps(raw).encode()))
    assert not run(good_tree).extra["report_cached"]
    assert run(good_tree).extra["report_cached"]


def test_no_cache_bypasses_both_layers(good_tree: Path) -> None:
    run(good_tree)
    model = good_tree / "contracts" / "model.yaml"
    model.write_text(model.read_text().replace("vocab_size: 640", "vocab_size: 500"))
    cache_files = {p: p.read_bytes() for p in (good_tree / ".pv" / "cache").iterdir()}
    report = run(good_tree, use_cache=False)
    assert rule_ids(report) == ["PV601"] and report.cached_files == 0
    assert {p: p.read_bytes() for p in (good_tree / ".pv" / "cache").iterdir()} == cache_files


def test_failed_writes_leave_no_partial_files(good_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    report = run(good_tree)
    assert report.extra["cache_write_errors"] >= 2 and rule_ids(report) == []  # shards + report
    assert list((good_tree / ".pv" / "cache").iterdir()) == []  # temp files removed


def test_concurrent_runs_do_not_corrupt_the_cache(good_tree: Path) -> None:
    cfg = load_config(good_tree)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            assert validate_paths(["contracts"], config=cfg, documents=False).errors == 0
        except BaseException as exc:  # re-raised by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cache = good_tree / ".pv" / "cache"
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
    shards = list(cache.glob("docs-*.json"))
    assert sum(len(body(p)["entries"]) for p in shards) == 3
    assert run(good_tree).extra["report_cached"]


def test_pack_repaths_pv_findings_but_not_foreign_ones(tmp_path: Path) -> None:
    cache = pack(tmp_path, "salt")
    finding = UNKNOWN_KIND.finding("m", Location("a.yaml", 3, 4, 3, 9))
    cache.put("s1", "a.yaml", CachedResult({"id": "C-A"}, {("id",): (1, 1)}, (finding,), "pv/v1"))
    cache.put("s2", "b.yaml", CachedResult({"x": 1}, {}, (), "aprender"))
    cache.flush()
    fresh = pack(tmp_path, "salt")
    moved = fresh.get("s1", "c.yaml")
    assert moved is not None and moved.findings[0].location == Location("c.yaml", 3, 4, 3, 9)
    assert dict(moved.positions) == {("id",): (1, 1)}
    assert fresh.get("s2", "b.yaml") is not None
    assert fresh.get("s2", "elsewhere.yaml") is None  # foreign findings quote their path
    assert pack(tmp_path, "other salt").get("s1", "a.yaml") is None


def test_pack_keeps_this_runs_entries_and_drops_other_salts(tmp_path: Path) -> None:
    old = pack(tmp_path, "old")
    old.put("s0", "a.yaml", CachedResult({}, {}, (), "pv/v1"))
    old.flush()
    new = pack(tmp_path, "new")
    assert new.get("s0", "a.yaml") is None
    new.put("s1", "a.yaml", CachedResult({}, {}, (), "pv/v1"))
    new.flush()
    assert [p.name for p in tmp_path.glob("docs-*.json")] == [new.shard_file("s").name]


def test_pack_is_bounded_and_old_format_files_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(C, "MAX_PACK_ENTRIES", 16 * 2)  # two entries per shard
    legacy = tmp_path / ("ab" * 32 + ".json")
    legacy.write_text("{}")
    first = pack(tmp_path, "salt")
    for i in range(3):
        first.put(f"0{i}", "a.yaml", CachedResult({}, {}, (), "pv/v1"))
    first.flush()
    assert not legacy.exists()
    second = pack(tmp_path, "salt")
    assert second.get("01", "a.yaml") is not None  # used by this run: kept whatever the cap
    second.put("0x", "b.yaml", CachedResult({}, {}, (), "pv/v1"))
    second.flush()
    kept = body(second.shard_file("0"))["entries"]
    assert set(kept) == {"01", "0x"}
