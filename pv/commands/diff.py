"""`pv diff OLD NEW` / `pv diff --base REF [PATHS]…`: what changed in the contracts, the semver bump
each change needs, and whether the version and changelog deliver it.

Exit 0 when every contract is bumped enough, 1 when one is not (or its changelog lacks the
entry), 2 on usage / git errors. `--base auto` skips cleanly (exit 0, a note on stderr) when there
is no repository or no remote branch to find a merge base with.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from pv.commands._common import emit
from pv.errors import UsageError
from pv.reporters import REPORTERS
from pv.reporters._common import verdict_line


@click.command("diff")
@click.argument("paths", nargs=-1, metavar="[OLD NEW | PATHS...]")
@click.option(
    "--base",
    "base",
    metavar="GIT_REF",
    help="Compare PATHS (default [tool.pv].contracts) with their versions at GIT_REF. "
    "`auto`: the merge base of HEAD and the upstream / origin/main; skipped when none.",
)
@click.option("--format", "fmt", type=click.Choice(list(REPORTERS)), default="text", show_default=True)
@click.option(
    "-o", "--output", metavar="FILE", help="Write the report to FILE (atomically) instead of stdout."
)
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("-q", "--quiet", is_flag=True, help="text: only failing findings; silent on pass.")
@click.pass_context
def diff(
    ctx: click.Context,
    paths: tuple[str, ...],
    base: str | None,
    fmt: str,
    output: str | None,
    strict: bool,
    quiet: bool,
) -> None:
    """Diff contract versions and check their semver bumps (docs/versioning.md has the policy).

    \b
    pv diff old.yaml new.yaml            two files (or two folders)
    pv diff --base origin/main           [tool.pv].contracts against origin/main
    pv diff --base HEAD~1 contracts      what the last commit changed
    pv diff --base auto                  merge base with the upstream; skips when there is none
    """
    from pv.config import load_config
    from pv.diff.compare import compare_sides, expand, load_at_ref, load_side, summary_line
    from pv.gitref import NoBaseError, base_ref

    config = load_config()
    if base is None:
        if len(paths) != 2:
            raise UsageError("give OLD and NEW (two files or two folders), or --base GIT_REF [PATHS]...")
        old_p, new_p = (Path(p) for p in paths)
        for p in (old_p, new_p):
            if not p.exists():
                raise UsageError(f"{p}: no such file or folder.")
        if old_p.is_dir() != new_p.is_dir():
            raise UsageError("OLD and NEW must both be files or both be folders.")
        old = load_side(expand([str(old_p)]), config.max_bytes)
        new = load_side(expand([str(new_p)]), config.max_bytes)
        for name, path, side in (("OLD", old_p, old), ("NEW", new_p, new)):
            _require_contracts(name, path, side)
        label = str(old_p)
        report = compare_sides(old, new, pair_all=not new_p.is_dir(), base=label)
    else:
        targets = list(paths) or [os.path.relpath(config.path(c)) for c in config.contracts]
        try:
            repo, ref = base_ref(base)
        except NoBaseError as exc:
            click.echo(f"pv diff: skipped: no base to compare with: {exc}", err=True)
            ctx.exit(0)
        new = load_side(expand(targets), config.max_bytes)
        old = load_at_ref(ref, repo, targets, config.max_bytes)
        report = compare_sides(old, new, base=ref.description)
    if not report.files and not report.extra.get("deleted"):
        raise UsageError(
            f"nothing to compare: no contract files under {', '.join(paths) or 'the configured paths'}."
        )

    root = os.getcwd()
    text = REPORTERS[fmt](report, strict=strict, quiet=quiet, color=False, root=root)
    emit(text, output)
    if not quiet:
        click.echo(f"pv diff: {summary_line(report)}", err=True)
        if output:
            click.echo(f"{verdict_line(report, strict)} → {output}", err=True)
    ctx.exit(report.exit_code(strict))


def _require_contracts(name: str, path: Path, side) -> None:
    """OLD and NEW named on the command line must hold contracts: a file that is none (a README, a
    broken YAML file) compared with a contract would report every field as added and pass."""
    from pv.diff.compare import contract_id

    if path.is_file() and side.failures:
        why = side.failures[0].finding.message
        raise UsageError(f"{name} {path}: cannot be read as a contract ({why}). Pass a contract file.")
    if path.is_dir() and not side.docs and not side.failures:
        return  # an empty folder: every contract of the other side is added or deleted
    if not any(contract_id(d) for d in side.docs):
        what = "is not a pv contract (no mapping with an id)" if path.is_file() else "holds no contracts"
        raise UsageError(f"{name} {path}: {what}; pv diff compares two versions of contracts.")
