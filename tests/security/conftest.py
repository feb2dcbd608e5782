"""Shared setup for the security regressions (issue 11): a scratch project per test, a private cache
key, and a CliRunner. Every test here reproduces one finding of the attack and fails without its fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]

CONTRACT = """\
schema: pv/v1
id: {cid}
version: 1.0.0
status: active
kind: tool
summary: A scratch contract.
changelog:
  - {{version: 1.0.0, date: 2026-01-01, summary: First.}}
{constants}invariants:
  - {{id: INV-{slug}-001, statement: It holds.}}
falsifiers:
  - id: FALSIFY-{slug}-001
    attacks: [INV-{slug}-001]
    description: Try to break it.
    kind: {kind}
    target: {target}
    params: {params}
"""


def contract(
    cid: str = "C-SCRATCH",
    *,
    kind: str = "constant-matches",
    target: str = "victim.consts:ANSWER",
    params: str = "{expected: 42}",
    constants: str = "",
) -> str:
    slug = cid.removeprefix("C-")
    block = f"constants:\n{textwrap.indent(constants, '  ')}" if constants else ""
    return CONTRACT.format(cid=cid, slug=slug, kind=kind, target=target, params=params, constants=block)


# A tiny project package: what a contract may attack, and the imports it must not reach through.
VICTIM = {
    "victim/__init__.py": "",
    "victim/consts.py": "ANSWER = 42\n",
    "victim/cli.py": (
        "import json\nimport os\nfrom os import system as run_shell\n"
        "from victim.consts import ANSWER\n\n"
        "shell = os.system\n\n\n"
        "def resolve_config(params):\n    return dict(params)\n\n\n"
        "class Command:\n    def run(self):\n        return 0\n"
    ),
}


@pytest.fixture(autouse=True)
def _own_cache_key(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private signing key for the validate cache; the cache on unless a test turns it off."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("PV_NO_CACHE", raising=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch pv project (cwd) with the `victim` package on sys.path and one clean contract."""
    root = tmp_path / "proj"
    for rel, text in VICTIM.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "contracts").mkdir()
    (root / "contracts" / "scratch.yaml").write_text(contract())
    (root / "pyproject.toml").write_text(
        '[tool.pv]\ncontracts = ["contracts"]\ntarget_packages = ["victim"]\ngenerated_dir = "gen"\n'
    )
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PV_PROJECT_ROOT", str(root))
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
