"""Shared fixtures for pv's validator tests (hypothesis profiles live in the root conftest only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pv.config import PvConfig, load_config

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good"

# Fixture trees hold YAML and evidence files for pv to read, never tests for pytest to run.
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture(autouse=True)
def _own_cache_key(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The validate cache signs entries with a per-user key: tests use a private one, and run with the
    cache on even where CI=true turns it off for real runs (tests of that set CI themselves)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PV_NO_CACHE", raising=False)


@pytest.fixture
def good_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the valid sample project (3 contracts, kinds, evidence); cwd is its root."""
    root = tmp_path / "proj"
    shutil.copytree(GOOD, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def good_config(good_tree: Path) -> PvConfig:
    return load_config(good_tree)
