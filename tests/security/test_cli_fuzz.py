"""A fuzz of bad flag combinations for every `pv` subcommand (issue 11: "0 tracebacks").

Argument lists are drawn (seeded, so a failure replays) from each command's own declared options —
commands added later are fuzzed too — mixed with junk flags and hostile values: huge numbers, NUL
bytes, newlines, non-UTF-8 names, devices behind links, missing and wrong-type paths. Every run must
end with exit 0, 1 or 2 and never an internal error. It runs in a scratch project with nothing
executable, so no combination can start a real gate or hunt."""

from __future__ import annotations

import os
import random
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pv.cli import COMMANDS, cli
from tests.security.conftest import contract

CASES = 150  # per seed; three seeds: 450 runs in a few seconds
SEEDS = (1, 6, 11)
# What the fuzz found (each an internal error before): kept as fixed cases.
FOUND = [
    ["generate", "--output-dir", "a\x00b"],  # ValueError: embedded null byte
    ["diff", "contracts/scratch.yaml", "x" * 300 + ".yaml"],  # OSError (name too long): Path.exists()
    ["new", "C-X", "--kind", "tool", "-o", "contracts/" + "x" * 300 + ".yaml"],
    ["validate", "--format", "sarif", os.fsdecode(b"contracts/\xff.yaml")],  # non-UTF-8 name in a URI
]
VALUES = [
    "",
    "0",
    "-1",
    "1",
    "9" * 400,
    "1e23",
    "nan",
    "inf",
    "-5s",
    "10m",
    "1h30m",
    "abc",
    "text",
    "json",
    "sarif",
    "junit",
    "html",
    "markdown",
    "C-X",
    "C-X\n",
    "C-" + "A" * 300,
    "tool",
    "Tool Kind",
    "GATE-NOPE",
    "FALSIFY-NOPE",
    "PV101",
    "unknown-key",
    "HEAD",
    "auto",
    "origin/main",
    "a\x00b",
    "x\ny",
    "-",
    "--",
    "contracts",
    "contracts/scratch.yaml",
    "contracts/*.yaml",
    "nope.yaml",
    "out.txt",
    "out/",
    "gen",
    "deep/er/out.txt",
    "a-file",
    "full-link",
    "dangling-link",
    "[x].yaml",
    os.fsdecode(b"\xff.yaml"),
    "x" * 300 + ".yaml",
]
JUNK_FLAGS = ["--nope", "-Z", "--format=", "--jobs", "--budget", "-o", "--debugx", "--help", "-h"]


def _options(command: click.Command) -> list[tuple[str, bool]]:
    """(flag, takes_no_value) for every option the command declares."""
    out = []
    for p in command.params:
        if isinstance(p, click.Option) and "--debug" not in p.opts:
            out.extend((flag, p.is_flag or p.count) for flag in [*p.opts, *p.secondary_opts])
    return out


def _argv(rng: random.Random, name: str, command: click.Command) -> list[str]:
    options = _options(command)
    argv = [name]
    for _ in range(rng.randint(0, 4)):
        if options and rng.random() < 0.8:
            flag, bare = rng.choice(options)
        else:
            flag, bare = rng.choice(JUNK_FLAGS), False
        argv.append(flag)
        if not bare and rng.random() < 0.9:  # sometimes the value is missing
            argv.append(rng.choice(VALUES))
    argv += [rng.choice(VALUES) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.2:
        rng.shuffle(argv)
    return argv


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "fuzz"
    (root / "contracts").mkdir(parents=True)
    prose = contract().split("    kind: constant-matches")[0]  # prose only: nothing can execute
    (root / "contracts" / "scratch.yaml").write_text(prose)
    (root / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["victim"]\ngenerated_dir = "gen"\n')
    (root / "a-file").write_text("not a folder\n")
    (root / "full-link").symlink_to("/dev/full")  # through a link: a regression hits only the link
    (root / "dangling-link").symlink_to(root / "missing")
    monkeypatch.chdir(root)
    monkeypatch.delenv("PV_DEBUG", raising=False)
    monkeypatch.setenv("PV_PROJECT_ROOT", str(root))
    return root


def _check(res, where: str) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), where
    assert res.exit_code in (0, 1, 2), where
    assert "pv: internal error" not in res.output and "Traceback" not in res.output, where


@pytest.mark.parametrize("argv", FOUND, ids=lambda a: a[0])
def test_what_the_fuzz_found_stays_fixed(scratch: Path, argv: list[str]) -> None:
    Path(os.fsdecode(b"contracts/\xff.yaml")).write_text(contract("C-FF").replace("summary:", "summry:"))
    res = CliRunner().invoke(cli, argv)
    _check(res, f"pv {argv!r}\n{res.output[-2000:]}")


@pytest.mark.parametrize("seed", SEEDS)
def test_bad_flag_combinations_never_end_in_a_traceback(scratch: Path, seed: int) -> None:
    rng = random.Random(seed)
    runner = CliRunner()
    ctx = click.Context(cli)
    commands = {name: cli.get_command(ctx, name) for name in sorted(COMMANDS)}
    seen_codes: dict[int, int] = {}
    for i in range(CASES):
        name = sorted(commands)[i % len(commands)]
        argv = _argv(rng, name, commands[name])
        res = runner.invoke(cli, argv)
        _check(res, f"case {i} (seed {seed}): pv {' '.join(map(repr, argv))}\n{res.output[-2000:]}")
        seen_codes[res.exit_code] = seen_codes.get(res.exit_code, 0) + 1
    assert seen_codes.get(2, 0) > CASES // 4  # the fuzz reaches usage errors, not only --help
