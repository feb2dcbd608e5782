"""The whole shared corpus (../shared/corpus/**.yaml next to the repo): every file loads, gets a
verdict, never a traceback, through `validate_paths` and through `pv migrate` + validating the output."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pv.cli import cli
from pv.config import PvConfig
from pv.loader import LoadedDocument, load_document
from pv.migrate import MigrationError, plan
from pv.migrate.render import render_yaml
from pv.validate import validate_paths

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
FILES = sorted(CORPUS.rglob("*.yaml")) if CORPUS.is_dir() else []
pytestmark = pytest.mark.skipif(
    not FILES, reason=f"shared corpus not found at {CORPUS} (a sibling of the clone)"
)


def test_every_corpus_file_gets_a_verdict(tmp_path):
    report = validate_paths([str(CORPUS)], config=PvConfig.default(tmp_path), use_cache=False, jobs=1)
    assert len(report.files) == len(FILES) > 90
    seen = {Path(f).resolve() for f in report.files}
    assert seen == {f.resolve() for f in FILES}
    assert report.errors > 0  # the corpus has real inconsistencies (e.g. the 370M version drift)
    assert sum(report.extra["dialects"].values()) == len(FILES)


def test_migrating_the_corpus_round_trips_and_validates(tmp_path):
    docs = [load_document(f) for f in FILES]
    assert all(isinstance(d, LoadedDocument) for d in docs)
    migrated = 0
    for doc, m in plan(docs):  # type: ignore[arg-type]
        if isinstance(m, MigrationError):
            continue
        text = render_yaml(m, doc.display, "x.migration.md")
        out = tmp_path / f"{Path(doc.display).parent.name}-{Path(doc.display).stem}.yaml"
        out.write_text(text, encoding="utf-8")
        back = load_document(out)
        assert isinstance(back, LoadedDocument), back
        assert back.data == m.data, doc.display  # what we wrote is what we meant
        migrated += 1
    assert migrated >= 85  # aprender + kernel dialects; a few files are in neither
    report = validate_paths([str(tmp_path)], config=PvConfig.default(tmp_path), use_cache=False, jobs=1)
    assert len(report.files) == migrated and report.counts.contracts == migrated


def test_pv_migrate_cli_on_the_aprender_contracts(tmp_path):
    files = sorted(str(p) for p in (CORPUS / "aprender").glob("*.yaml"))
    res = CliRunner().invoke(cli, ["migrate", *files, "-o", str(tmp_path / "v1")])
    assert res.exit_code == 0, res.output
    assert "migrated 3 of 3" in res.output and "not mapped:" in res.output
    assert sorted(p.name for p in (tmp_path / "v1").iterdir()) == sorted(
        n for f in files for n in (Path(f).stem + ".yaml", Path(f).stem + ".migration.md")
    )
    res = CliRunner().invoke(cli, ["validate", "--no-cache", str(tmp_path / "v1")])
    assert res.exit_code == 1 and "internal error" not in res.output and "3 contracts" in res.output
    assert "inert" in res.output  # prose falsifiers only: honestly inert
