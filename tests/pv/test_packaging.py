"""The distribution: the wheel ships only pv's namespace and needs no torch, and the core commands run
where torch (numpy, tokenizers, safetensors, transformers) cannot be imported at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "numpy", "tokenizers", "safetensors", "transformers")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """`pip wheel --no-deps` of a copy of the repository (a build writes build/ and *.egg-info next to
    the sources; the copy keeps concurrent test runs out of each other's way)."""
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns(
        "__pycache__", "*.egg-info", ".venv", ".git", ".pv", ".demo", "build", "dist"
    )
    for name in ("pv", "trainer", "falsifiers", "bench", "tests", "contracts"):
        shutil.copytree(REPO / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md", "conftest.py"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            ".",
        ],
        cwd=src,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("*.whl")
    return zipfile.ZipFile(path)


def _metadata(whl: zipfile.ZipFile):
    name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
    return Parser().parsestr(whl.read(name).decode("utf-8"))


def test_wheel_ships_only_pv(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/")[0] for n in wheel.namelist()}
    assert tops == {"pv", "pv_contracts-0.1.0.dist-info"}  # no trainer, falsifiers, bench, tests
    names = set(wheel.namelist())
    assert "pv/schema/contract-v1.json" in names and "pv/templates/contract.yaml.tmpl" in names
    assert not [n for n in names if "/generated/" in n or n.split("/")[-1].startswith("test_")]


def test_core_requirements_hold_no_torch(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    assert meta["Name"] == "pv-contracts"
    core = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    assert core and not [r for r in core if r.split(">")[0].split("=")[0].strip().lower() in HEAVY]
    torch_extra = [r for r in meta.get_all("Requires-Dist") if 'extra == "torch"' in r]
    assert any(r.startswith("torch") for r in torch_extra)


def test_entry_points(wheel: zipfile.ZipFile) -> None:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    text = wheel.read(name).decode()
    assert "[console_scripts]\npv = pv.cli:main" in text
    assert "[pytest11]\npv = pv.pytest_plugin" in text
    assert "trainer" not in text  # the reference trainer's launcher is the checkout's, not the wheel's


BLOCKER = f"""\
import sys

BLOCKED = {set(HEAVY)!r}


class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the torch-free test)")
        return None


sys.meta_path.insert(0, _Blocked())
"""

CONTRACT = """\
schema: pv/v1
id: C-CORE
version: 1.0.0
status: active
kind: tool
title: Core
summary: A torch-free project.
changelog:
  - {version: 1.0.0, date: 2026-01-01, summary: First.}
constants: {answer: 42}
acceptance_criteria:
  - {id: AC-CORE-001, statement: The answer is right.}
invariants:
  - {id: INV-CORE-001, statement: The answer is 42., rationale: r}
gates:
  - {id: GATE-CORE-001, rule: r, enforces: [INV-CORE-001], binds_to: AC-CORE-001, ship_blocking: true,
     falsifiers: [FALSIFY-CORE-001, FALSIFY-CORE-002]}
falsifiers:
  - {id: FALSIFY-CORE-001, attacks: [INV-CORE-001], description: the constant, kind: constant-matches,
     target: "core_demo:ANSWER", params: {expected: $answer}}
  - {id: FALSIFY-CORE-002, attacks: [INV-CORE-001], description: a drawn trace, kind: convergence-verdict,
     target: "core_demo:verdict"}
"""


def test_core_commands_run_without_torch(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    project = tmp_path / "project"
    (project / "contracts").mkdir(parents=True)
    (project / "contracts" / "core.yaml").write_text(CONTRACT)
    (project / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["core_demo"]\n')
    (project / "core_demo.py").write_text(
        textwrap.dedent("""\
        ANSWER = 42


        def verdict(val_losses, target, completed_budget):
            if any(v <= target for v in val_losses):
                return "OK"
            return "NOT_CONVERGED" if completed_budget else "EARLY_STOP"
        """)
    )
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    env.pop("PV_PROFILE", None)
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)  # this suite's own, set by its ci profile

    def pv(*args: str, cwd: Path = project) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pv", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )

    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode == 1 and "blocked by the torch-free test" in probe.stderr  # the block is real
    (project / "sub").mkdir()
    for args, cwd in [
        (("validate", "--no-cache"), project),
        (("kinds",), project),
        (("generate",), project),
        (("generate", "--check"), project),
        (("trace",), project),
        (("gate", "-j", "0"), project / "sub"),  # from below the root, too
    ]:
        res = pv(*args, cwd=cwd)
        assert res.returncode == 0, f"pv {' '.join(args)}: {res.stdout}{res.stderr}"
        assert "Traceback" not in res.stderr
    assert "2 falsifiers executed, 2 passed" in res.stdout
    assert not (project / ".hypothesis").exists()  # derandomized, and nothing left behind
