"""Target escape (issue 11): only the module part of `target:` was checked, so `trainer.cli:os.system`
passed `pv validate` and `pv gate` ran the contract's shell command; params naming code were never
checked. Now every hop is checked statically (PV504/PV507, with file:line) and at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pv.config import load_config
from pv.generate import GenerateError, render_all
from pv.kinds import KindRegistry
from pv.runtime import TargetError, resolve
from pv.validate import validate_paths
from tests.security.conftest import REPO, contract

# The three escapes the attack used, through this repository's own trainer/cli.py.
ISSUE_ESCAPES = [
    "trainer.cli:os.system",
    "trainer.cli:click.utils.os.system",
    "trainer.cli:json.codecs.builtins.eval",
]


def findings(root: Path) -> list:
    return list(validate_paths(["contracts"], config=load_config(root), use_cache=False).findings)


@pytest.mark.parametrize("target", ISSUE_ESCAPES)
def test_issue_escapes_are_refused_at_run_time(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PV_PROJECT_ROOT", str(REPO))  # target_packages = trainer, pv
    with pytest.raises(TargetError, match="outside"):
        resolve(target)


@pytest.mark.parametrize("target", ISSUE_ESCAPES)
def test_issue_escapes_are_found_statically_with_the_import_line(target: str) -> None:
    from pv.targets import ESCAPE, check_target

    problem = check_target(target, ("trainer", "pv"), REPO)
    assert problem is not None and problem.kind == ESCAPE
    name = target.split(":")[1].split(".")[0]
    assert (
        f"{name} in trainer.cli is the module {name}" in problem.message
        and "trainer/cli.py:" in problem.message
    )


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("victim.cli:os.system", "the module os"),  # a module reached through an attribute
        ("victim.cli:run_shell", "code defined in posix"),  # `from os import system as run_shell`
        ("victim.cli:shell", "code defined in posix"),  # an alias assignment `shell = os.system`
        ("victim.cli:json.loads", "the module json"),
        ("victim.cli:Command.__init__", "dunder"),  # into the interpreter
        ("victim.cli:__builtins__", "dunder"),
        ("victim.cli:Command.mro", "built into the interpreter"),  # a C method of `type`
        ("victim.consts:ANSWER.bit_length", "built into the interpreter"),
    ],
)
def test_run_time_checks_every_hop(project: Path, target: str, why: str) -> None:
    with pytest.raises(TargetError, match=why):
        resolve(target)


@pytest.mark.parametrize(
    "target", ["victim.consts:ANSWER", "victim.cli:resolve_config", "victim.cli:Command.run", "victim.cli"]
)
def test_the_projects_own_objects_resolve(project: Path, target: str) -> None:
    assert resolve(target) is not None


def test_static_check_follows_imports_only_into_the_packages(project: Path) -> None:
    from pv.targets import ESCAPE, OUTSIDE, UNRESOLVED, check_target

    packages = ("victim",)
    assert check_target("victim.cli:ANSWER", packages, project) is None  # from victim.consts: inside
    for target in ("victim.cli:os.system", "victim.cli:run_shell", "victim.cli:shell.__call__"):
        assert check_target(target, packages, project).kind == ESCAPE, target
    assert check_target("json:loads", packages, project).kind == OUTSIDE
    assert check_target("victim.cli:nope", packages, project).kind == UNRESOLVED


def test_validate_reports_the_escape_with_file_and_line(project: Path) -> None:
    (project / "contracts" / "scratch.yaml").write_text(
        contract(target="victim.cli:os.system", params="{expected: 0, call: {command: 'touch PWNED'}}")
    )
    (f,) = [f for f in findings(project) if f.rule_id == "PV507"]
    assert (f.location.path, f.location.line) == ("contracts/scratch.yaml", 16)
    assert "os in victim.cli is the module os, imported at" in f.message and f.severity.name == "ERROR"


def test_the_issue_exploit_never_runs(project: Path, tmp_path: Path) -> None:
    """The attack end to end: constant-matches with `call:` on `…:os.system`. pv generate refuses it; a
    module rendered without the check (as an older pv wrote it) fails at resolve, before any call."""
    canary = tmp_path / "PWNED"
    params = f"{{expected: 0, call: {{command: 'touch {canary}'}}}}"
    (project / "contracts" / "scratch.yaml").write_text(
        contract(target="victim.cli:os.system", params=params)
    )
    with pytest.raises(GenerateError, match="the module os"):
        render_all(["contracts"], project / "gen", target_packages=("victim",), root=project)
    (unchecked,) = render_all(["contracts"], project / "gen", target_packages=(), root=project)
    namespace: dict = {"__name__": "generated_scratch"}
    exec(compile(unchecked.source.encode(), "gen/test_scratch.py", "exec"), namespace)
    with pytest.raises(TargetError, match="outside"):
        namespace["test_FALSIFY_SCRATCH_001"]()
    assert not canary.exists()


def test_declared_target_params_are_checked_too(project: Path) -> None:
    (project / "contracts" / "scratch.yaml").write_text(
        contract(
            kind="cli-routing",
            target="victim.cli:Command",
            params="{selector: $sel, resolver: os.system, regimes: {}, default_mode: x}",
            constants="sel: victim.cli:json.codecs.builtins.eval\n",
        )
    )
    pyproject = project / "pyproject.toml"  # this repo's kinds, found through the import system
    pyproject.write_text(pyproject.read_text() + 'kinds = ["falsifiers.kinds"]\n')
    escapes = {f.message.split(" = ")[0]: f for f in findings(project) if f.rule_id == "PV507"}
    assert set(escapes) == {"params.selector", "params.resolver"}
    assert "(= 'victim.cli:json.codecs.builtins.eval')" in escapes["params.selector"].message  # $constant
    assert escapes["params.selector"].location.line == 19  # the param's own line
    with pytest.raises(GenerateError, match=r"params\.selector"):
        render_all(["contracts"], project / "gen", target_packages=("victim",), root=project)


def test_every_kind_declares_the_params_it_resolves() -> None:
    """A kind that resolves a param it did not declare would dodge `pv validate` (the run-time check
    still holds): every `resolve(p)` / `resolve_sibling(t, p)` of a param must be declared."""
    registry = KindRegistry.for_config(load_config(REPO))
    for ref in registry.refs():
        kind = registry.load(ref.name)
        tree = ast.parse(Path(kind.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if fn not in ("resolve", "resolve_sibling") or not node.args:
                continue
            arg = node.args[1 if fn == "resolve_sibling" else 0]
            if isinstance(arg, ast.Name) and arg.id in kind.PARAMS:
                declared = ref.sibling_params if fn == "resolve_sibling" else ref.target_params
                assert arg.id in declared, f"{ref.module}: {fn}({arg.id}) but {arg.id} is not declared"


def test_a_declaration_pv_cannot_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pv.kinds import KindRef, UnknownKindError

    (tmp_path / "sneaky_kind.py").write_text(
        'NAME = "sneaky"\nSUMMARY = "s"\nPARAMS = {"hook": "code"}\nARGS = ()\n'
        'TARGET_PARAMS = tuple(["ho" + "ok"])\n\ndef check(target, hook=None):\n    pass\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = KindRegistry([KindRef("sneaky", "sneaky_kind", "project", tmp_path / "sneaky_kind.py")])
    with pytest.raises(
        UnknownKindError, match="TARGET_PARAMS is \\('hook',\\) at run time but reads as \\(\\)"
    ):
        registry.load("sneaky")


def test_an_entry_point_kind_declares_its_code_params_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pv.kinds as kinds_mod

    pkg = tmp_path / "plugin_kinds"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "adapter.py").write_text(
        'NAME = "adapter"\nSUMMARY = "s"\nPARAMS = {"model": "factory"}\nARGS = ()\n'
        'TARGET_PARAMS = ("model",)\n\ndef check(target, model=None):\n    pass\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    class EP:
        name, value, dist = "adapter", "plugin_kinds.adapter", None

    monkeypatch.setattr(kinds_mod.importlib.metadata, "entry_points", lambda group: [EP()])
    registry = KindRegistry.for_config(load_config(tmp_path))
    assert registry.ref("adapter").target_params == ("model",)
    assert registry.load("adapter").TARGET_PARAMS == ("model",)


def test_a_project_package_off_sys_path_gets_the_fix_named(tmp_path: Path, monkeypatch) -> None:
    # A plain `pytest` in a user project: the package sits next to pyproject.toml, nothing put the
    # root on sys.path. The error says so and names the pytest setting that fixes it.
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["offpath_pkg"]\n')
    (tmp_path / "offpath_pkg").mkdir()
    (tmp_path / "offpath_pkg" / "__init__.py").write_text("X = 1\n")
    monkeypatch.setenv("PV_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(TargetError, match=r'No module named .offpath_pkg.* add pythonpath = \["\."\]'):
        resolve("offpath_pkg:X")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve("offpath_pkg:X") == 1
