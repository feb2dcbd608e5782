"""validate_paths / validate_documents: pattern expansion, cache, parallelism, determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pv import cache
from pv import validate as V
from pv.cache import load_signed, user_key
from pv.config import PvConfig, load_config
from pv.errors import UsageError
from pv.loader import load_bytes, load_document
from pv.validate import expand_patterns, validate_documents, validate_paths

ALL = ["contracts/acceptance.yaml", "contracts/model.yaml", "contracts/tokenizer.yaml"]


def test_expand_files_dirs_globs_dedup(good_tree: Path) -> None:
    (good_tree / "contracts" / "sub").mkdir()
    (good_tree / "contracts" / "sub" / "x.yml").write_text("a: 1\n")
    (good_tree / "contracts" / "notes.md").write_text("not a contract\n")
    got = [str(p) for p in expand_patterns(["contracts/model.yaml", "contracts", "./contracts/*.yaml"])]
    assert got == [
        "contracts/model.yaml",
        "contracts/acceptance.yaml",
        "contracts/tokenizer.yaml",
        "contracts/sub/x.yml",
    ]
    assert [str(p) for p in expand_patterns(["**/sub/*.yml"])] == ["contracts/sub/x.yml"]


@pytest.mark.parametrize("patterns", [[], ["nope.yaml"], ["contracts/*.json"], ["kinds"]])
def test_no_match_is_usage_error(good_tree: Path, patterns: list[str]) -> None:
    with pytest.raises(UsageError) as err:
        expand_patterns(patterns)
    assert err.value.exit_code == 2
    if patterns:
        assert patterns[0] in str(err.value)


def test_directory_symlink_loop_terminates(good_tree: Path) -> None:
    (good_tree / "contracts" / "self").symlink_to(good_tree / "contracts")
    assert len(expand_patterns(["contracts"])) == 3
    assert len(expand_patterns(["contracts/**/*.yaml"])) == 3


def test_cache_warm_run_skips_parsing(good_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(good_tree)
    cold = validate_paths(["contracts"], config=cfg)
    assert cold.cached_files == 0 and (good_tree / ".pv" / "cache").is_dir()

    def boom(*a: object, **k: object) -> object:
        raise AssertionError("parsed on a warm run")

    monkeypatch.setattr(V, "load_bytes", boom)
    warm = validate_paths(["contracts"], config=cfg)
    assert warm.cached_files == 3
    assert warm.findings == cold.findings and warm.counts == cold.counts


def test_cache_keeps_findings_and_repaths_them(good_tree: Path) -> None:
    cfg = load_config(good_tree)
    bad = good_tree / "contracts" / "tokenizer.yaml"
    bad.write_text(bad.read_text().replace("title:", "titel:"))
    cold = validate_paths(["contracts"], config=cfg)
    warm = validate_paths(["contracts"], config=cfg)
    assert warm.cached_files == 3 and warm.findings == cold.findings and cold.findings
    # Same bytes under another name: a cache hit, reported under the new name.
    shutil.move(bad, good_tree / "contracts" / "tok2.yaml")
    moved = validate_paths(["contracts"], config=cfg)
    assert moved.cached_files == 3
    assert {f.location.path for f in moved.findings} == {"contracts/tok2.yaml"}


def test_cache_invalidated_by_content(good_tree: Path) -> None:
    cfg = load_config(good_tree)
    validate_paths(["contracts"], config=cfg)
    model = good_tree / "contracts" / "model.yaml"
    model.write_text(model.read_text().replace("vocab_size: 640", "vocab_size: 500"))
    report = validate_paths(["contracts"], config=cfg)
    assert report.cached_files == 2
    assert [f.rule_id for f in report.findings] == ["PV601"]


def test_corrupt_cache_entry_ignored_and_rewritten(good_tree: Path) -> None:
    cfg = load_config(good_tree)
    first = validate_paths(["contracts"], config=cfg)
    shards = sorted((good_tree / ".pv" / "cache").glob("docs-*.json"))
    key = user_key()
    entries = {sha: shard for shard in shards for sha in load_signed(shard, key)["entries"]}
    assert len(entries) == 3
    a, b, _ = sorted(entries)
    for sha, damage in ((a, {"format": 2, "sha": "x"}), (b, "cut")):  # wrong shape; a cut-short finding
        raw = load_signed(entries[sha], key)
        raw["entries"][sha] = damage if damage != "cut" else {**raw["entries"][sha], "findings": [["PV1"]]}
        # signed as pv signs: the entry itself is malformed, and only that entry is a miss
        entries[sha].write_bytes(cache._signed(key, entries[sha].name, json.dumps(raw).encode()))
    again = validate_paths(["contracts"], config=cfg)
    assert again.cached_files == 1 and again.findings == first.findings
    assert validate_paths(["contracts"], config=cfg).cached_files == 3
    for shard in shards:
        shard.write_text("{not json")  # unreadable shards: every file is a miss, shards rewritten
    assert validate_paths(["contracts"], config=cfg).cached_files == 0
    assert validate_paths(["contracts"], config=cfg).cached_files == 3


def test_load_failures_are_cached_too(good_tree: Path) -> None:
    (good_tree / "contracts" / "bad.yaml").write_bytes(b"a: [1\n")
    cfg = load_config(good_tree)
    cold = validate_paths(["contracts"], config=cfg)
    warm = validate_paths(["contracts"], config=cfg)
    assert warm.cached_files == 4 and warm.findings == cold.findings
    assert [f.rule_id for f in warm.findings] == ["PV004"]


def test_no_cache_writes_nothing(good_tree: Path, tmp_path: Path) -> None:
    validate_paths(["contracts"], config=load_config(good_tree), use_cache=False)
    assert not (good_tree / ".pv").exists()
    validate_paths(["contracts"], config=load_config(good_tree), cache_dir=tmp_path / "c")
    written = {p.name.split("-")[0] for p in (tmp_path / "c").glob("*.json")}
    assert written == {"docs", "report"} and not (good_tree / ".pv").exists()


def test_parallel_matches_serial(good_tree: Path) -> None:
    model = good_tree / "contracts" / "model.yaml"
    model.write_text(model.read_text().replace("title", "x").replace("vocab_size: 640", "vocab_size: 5"))
    cfg = load_config(good_tree)
    serial = validate_paths(["contracts"], config=cfg, use_cache=False, jobs=1)
    parallel = validate_paths(["contracts"], config=cfg, use_cache=False, jobs=2)
    assert parallel.extra["jobs"] == 2 and serial.extra["jobs"] == 1
    assert parallel.findings == serial.findings and parallel.counts == serial.counts and serial.findings


def test_deterministic_order(good_tree: Path) -> None:
    cfg = load_config(good_tree)
    model = good_tree / "contracts" / "model.yaml"
    model.write_text(
        model.read_text().replace("schema: pv/v1\n", "").replace("status: proposed", "status: x")
    )
    a = validate_paths(["contracts/tokenizer.yaml", "contracts"], config=cfg, use_cache=False)
    b = validate_paths(["contracts"], config=cfg, use_cache=False)
    assert a.findings == b.findings
    assert list(a.findings) == sorted(a.findings, key=lambda f: f.sort_key())


def test_validate_documents_in_memory(good_tree: Path) -> None:
    cfg = load_config(good_tree)
    docs = [load_document(good_tree / p) for p in ALL]
    report = validate_documents(docs, config=cfg)
    assert report.findings == () and report.counts.contracts == 3
    assert [d.contract_id for d in report.extra["loaded"]] == [
        "C-ACCEPTANCE",
        "C-MODEL-FAMILY",
        "C-TOKENIZER-BPE",
    ]
    assert report.extra["index"].lookup("invariant", "INV-TOK-001").doc.contract_id == "C-TOKENIZER-BPE"
    broken = validate_documents([*docs, load_bytes(b"- x\n", "mem.yaml")], config=cfg)
    assert [(f.rule_id, f.location.path) for f in broken.findings] == [("PV011", "mem.yaml")]
    assert broken.counts.files == 4 and broken.exit_code() == 1
    with pytest.raises(UsageError):
        validate_documents([], config=cfg)


def test_foreign_dialects_are_dispatched(good_tree: Path) -> None:
    (good_tree / "contracts" / "old.yaml").write_text("contract_id: C-OLD\nmetadata: {version: '1.0.0'}\n")
    report = validate_paths(["contracts"], config=load_config(good_tree), use_cache=False)
    assert report.extra["dialects"] == {"aprender": 1, "pv/v1": 3}
    assert report.counts.contracts == 3  # pv/v1 counts only
    assert not [f for f in report.findings if f.location.path != "contracts/old.yaml"]


def test_unknown_dialect_gets_schema_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text("id: C-A\n")
    report = validate_paths(["c.yaml"], config=PvConfig.default(tmp_path), use_cache=False)
    assert "PV100" in {f.rule_id for f in report.findings}
    assert report.counts.files == 1 and report.files == ("c.yaml",)
