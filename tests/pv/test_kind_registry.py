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


USER_KIND = """\
from userkinds._helpers import parity

NAME = "is-even"
SUMMARY = "the target is even"
PARAMS = {}
ARGS = ()


def check(target):
    assert parity(target) == 0, f"{target} is odd"
"""

USER_CONTRACT = """\
schema: pv/v1
id: C-USER
version: 1.0.0
status: active
kind: tool
summary: A user's own kind.
changelog:
  - {version: 1.0.0, date: 2026-01-01, summary: First.}
acceptance_criteria:
  - {id: AC-USER-001, statement: X is even.}
invariants:
  - {id: INV-USER-001, statement: X is even.}
gates:
  - {id: GATE-USER-001, rule: r, enforces: [INV-USER-001], binds_to: AC-USER-001, ship_blocking: true,
     falsifiers: [FALSIFY-USER-001]}
falsifiers:
  - {id: FALSIFY-USER-001, attacks: [INV-USER-001], description: d, kind: is-even, target: "userdemo:X"}
"""


def test_console_script_sees_the_project_from_any_cwd(tmp_path: Path) -> None:
    # The installed `pv` script runs with its bin directory on sys.path, not the project: generating
    # from a project kind (which imports a helper module of its own package) used to end in
    # "internal error … bug in pv", and the gate needed PYTHONPATH set by hand.
    import os
    import subprocess

    script = Path(sys.executable).with_name("pv")
    if not script.is_file():
        pytest.skip(f"no pv console script next to {sys.executable}")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pv]\ntarget_packages = ["userdemo"]\nkinds = ["userkinds"]\n'
    )
    (tmp_path / "userkinds").mkdir()
    (tmp_path / "userkinds" / "__init__.py").write_text("")
    (tmp_path / "userkinds" / "is_even.py").write_text(USER_KIND)
    (tmp_path / "userkinds" / "_helpers.py").write_text("def parity(n):\n    return n % 2\n")
    (tmp_path / "userdemo.py").write_text("X = 4\n")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "user.yaml").write_text(USER_CONTRACT)
    deep = tmp_path / "deep" / "er"
    deep.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PV_PROJECT_ROOT")}
    for args in (["validate", "--no-cache"], ["generate"], ["gate", "-j", "0", "-q"]):
        res = subprocess.run(
            [str(script), *args], cwd=deep, env=env, capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, f"pv {' '.join(args)}: {res.stdout}{res.stderr}"
    assert "1/1 ship-blocking gates green" in res.stdout


def test_a_shadowing_package_is_named_not_silently_used(tmp_path: Path, monkeypatch) -> None:
    # The project's kinds package and an importable package of the same name elsewhere: pv refuses to
    # render with the wrong module.
    other = tmp_path / "elsewhere" / "userkinds"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "is_even.py").write_text(USER_KIND.replace("from userkinds._helpers import parity\n", ""))
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))
    proj = tmp_path / "proj"
    (proj / "userkinds").mkdir(parents=True)
    (proj / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["userdemo"]\nkinds = ["userkinds"]\n')
    (proj / "userkinds" / "__init__.py").write_text("")
    (proj / "userkinds" / "is_even.py").write_text(USER_KIND)
    reg = KindRegistry.for_config(load_config(proj))
    monkeypatch.delitem(sys.modules, "userkinds", raising=False)
    monkeypatch.delitem(sys.modules, "userkinds.is_even", raising=False)
    with pytest.raises(UnknownKindError, match="shadows the project's"):
        reg.load("is-even")
