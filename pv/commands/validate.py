"""`pv validate PATHS…`: check contracts, report in one of the REPORTERS formats.

Exit 0 clean, 1 findings (errors; warnings too under --strict), 2 usage / I/O error / nothing matched.
--changed (the pre-commit hook): PATHS are the changed files; the whole [tool.pv].contracts set is
loaded as context, and only findings in PATHS are reported and decide the exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from pv.commands._common import emit
from pv.errors import UsageError
from pv.reporters import REPORTERS
from pv.reporters._common import verdict_line


def default_patterns(config) -> list[str]:
    """[tool.pv].contracts, spelled relative to the cwd when possible so findings read naturally."""
    out = []
    for entry in config.contracts:
        p = Path(config.path(entry))
        try:
            out.append(os.path.relpath(p))
        except ValueError:  # another drive on Windows
            out.append(str(p))
    return out


@click.command("validate")
@click.argument("paths", nargs=-1, metavar="[PATHS]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(REPORTERS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (atomically), not stdout.")
@click.option("--no-cache", is_flag=True, help="Check every file afresh; neither read nor write .pv/cache.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: pv decides).")
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("-q", "--quiet", is_flag=True, help="text: failing findings only, no hints, silent on pass.")
@click.option(
    "--changed",
    is_flag=True,
    help="PATHS are changed files: check them with all of [tool.pv].contracts as context, "
    "report only their findings (pre-commit).",
)
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="RULES",
    help="Rules to report (ids, prefixes, names; comma-separated), instead of [tool.pv].select.",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    metavar="RULES",
    help="Rules not to report, instead of [tool.pv].ignore.",
)
@click.option(
    "--extend-select", multiple=True, metavar="RULES", help="Rules to report in addition to the selection."
)
@click.option(
    "--extend-ignore", multiple=True, metavar="RULES", help="Rules not to report, in addition to the ignores."
)
@click.option(
    "--show-suppressed",
    is_flag=True,
    help="text: list the suppressed findings too (they are always counted).",
)
@click.pass_context
def validate(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    no_cache: bool,
    jobs: int | None,
    strict: bool,
    quiet: bool,
    changed: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    extend_ignore: tuple[str, ...],
    show_suppressed: bool,
) -> None:
    """Validate contract files against schema v1 and pv's rules.

    PATHS are files, directories (searched recursively for *.yaml / *.yml) or glob patterns,
    `**` included; quote globs so pv, not the shell, expands them. Without PATHS pv validates
    [tool.pv].contracts from the nearest pyproject.toml.

    RULES for --select/--ignore/--extend-*: rule ids (PV501), prefixes (PV5) or names, comma-separated
    or repeated; ALL names every rule. See docs/cli.md for [tool.pv] select/ignore/per-file-ignores
    and `# pv: ignore[PV501]` comments.
    """
    # Imported here so `pv --help` and other commands never load the validator.
    from pv.config import load_config
    from pv.validate import validate_paths

    config = _with_cli_selection(load_config(), select, ignore, extend_select, extend_ignore)
    patterns = list(paths)
    if changed:
        if not patterns:
            raise UsageError("--changed needs the changed files as PATHS (pre-commit passes them).")
        # The whole set is context: references from a changed file into unchanged ones resolve.
        context = [p for p in default_patterns(config) if Path(p).exists()]
        patterns = [*context, *patterns]
    if not patterns:
        patterns = default_patterns(config)
        if not any(Path(p).exists() for p in patterns):
            where = config.pyproject or "defaults, no pyproject.toml found"
            raise UsageError(
                f"no PATHS given and [tool.pv].contracts ({', '.join(config.contracts)}; from {where}) "
                "matches nothing. Pass the contract files or directories to validate."
            )
    report = validate_paths(patterns, config=config, use_cache=not no_cache, jobs=jobs, documents=False)
    if changed:
        from pv.focus import focus

        report = focus(report, paths)

    root = os.getcwd()
    color = fmt == "text" and not output and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = REPORTERS[fmt](
        report, strict=strict, quiet=quiet, color=color, root=root, show_suppressed=show_suppressed
    )
    emit(text, output)
    if output and not quiet:
        click.echo(f"{verdict_line(report, strict)} → {output}", err=True)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if fmt == "github" and summary_path:
        from pv.reporters.github import render_step_summary

        try:
            with open(summary_path, "a", encoding="utf-8") as fh:
                fh.write(render_step_summary(report, strict=strict, root=root))
        except OSError as exc:
            why = exc.strerror or exc
            raise UsageError(f"GITHUB_STEP_SUMMARY={summary_path}: cannot append: {why}") from exc
    ctx.exit(report.exit_code(strict))


def _split(values: tuple[str, ...]) -> list[str] | None:
    """Comma-separated and/or repeated; None when the flag was not given at all."""
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _with_cli_selection(config, select, ignore, extend_select, extend_ignore):
    if not (select or ignore or extend_select or extend_ignore):
        return config
    from pv.selection import SelectorError, with_overrides

    try:
        return with_overrides(
            config,
            select=_split(select),
            ignore=_split(ignore),
            extend_select=_split(extend_select) or (),
            extend_ignore=_split(extend_ignore) or (),
        )
    except SelectorError as exc:
        raise UsageError(str(exc)) from None
