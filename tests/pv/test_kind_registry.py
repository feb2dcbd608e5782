"""pv.kinds.KindRegistry: built-ins always there, project kinds added (never replacing), found without
importing project code; duplicates and missing entries are clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import pv.kinds as kinds_mod
from pv.cli import cli
from pv.config import load_config
from pv.kinds import KindConfigError, KindRef, KindRegistry, UnknownKindError


def _project(tmp_path: Path, kinds: str = '["mykinds"]') -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[tool.pv]\ntarget_packages = ["demo"]\nkinds = {kinds}\n')
    pkg = tmp_path / "mykinds"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise RuntimeError('discovery must not import the package')\n")
    (pkg / "my_kind.py").write_text('NAME = "my-kind"\nraise RuntimeError("not at discovery")\n')
    (pkg / "_helper.py").write_text('NAME = "helper"\n')
    (pkg / "notes.py").write_text("# no NAME: not a kind\n")
    return tmp_path


def test_builtins_are_always_there_without_config(tmp_path: Path) -> None:
    reg = KindRegistry.for_config(load_config(tmp_path))
    assert {"constant-matches", "loss-guard", "raises"} <= set(reg.names())
    assert all(r.origin == "built-in" for r in reg.refs())


def test_project_kinds_are_added_next_to_builtins_without_import(tmp_path: Path) -> None:
    reg = KindRegistry.for_config(load_config(_project(tmp_path)))
    assert "my-kind" in reg and "constant-matches" in reg
    assert "helper" not in reg and "notes" not in reg
    assert reg.ref("my-kind").module == "mykinds.my_kind" and reg.ref("my-kind").origin == "project"
    assert "mykinds" not in sys.modules


def test_single_module_entry_and_missing_entry(tmp_path: Path) -> None:
    _project(tmp_path, '["mykinds.my_kind"]')
    assert "my-kind" in KindRegistry.for_config(load_config(tmp_path))
    other = tmp_path / "b"
    other.mkdir()
    _project(other, '["nowhere.kinds"]')
    with pytest.raises(KindConfigError, match=r"'nowhere\.kinds' is neither a package nor a module"):
        KindRegistry.for_config(load_config(tmp_path / "b"))


def test_a_name_defined_twice_is_an_error() -> None:
    a = KindRef("x", "pkg.a", "built-in")
    b = KindRef("x", "pkg.b", "project")
    with pytest.raises(KindConfigError, match=r"kind 'x' is defined twice: pkg\.a .* pkg\.b"):
        KindRegistry([a, b])


def test_entry_points_register_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class EP:
        name, value, dist = "plugged", "plugin_pkg.plugged:ignored", None

    monkeypatch.setattr(kinds_mod.importlib.metadata, "entry_points", lambda group: [EP()])
    reg = KindRegistry.for_config(load_config(tmp_path))
    assert reg.ref("plugged").module == "plugin_pkg.plugged"
    assert reg.ref("plugged").origin.startswith("entry point")


def test_load_checks_the_protocol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "halfkinds"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "half.py").write_text('NAME = "half"\nSUMMARY = "no check"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = KindRegistry([KindRef("half", "halfkinds.half", "project")])
    with pytest.raises(UnknownKindError, match="lacks PARAMS, ARGS, check"):
        reg.load("half")
    with pytest.raises(UnknownKindError, match="unknown falsifier kind 'nope'"):
        reg.load("nope")


def test_pv_kinds_lists_every_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path))
    out = CliRunner().invoke(cli, ["kinds"]).output
    assert "my-kind" in out and "mykinds.my_kind" in out and "built-in" in out
    assert out.rstrip().splitlines()[-1].startswith(f"{len(out.splitlines()) - 2} kinds (")
