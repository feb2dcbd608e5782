"""`pv migrate FILE… -o DIR`: convert aprender / kernel dialect contracts to schema v1.

For each input it writes DIR/<name>.yaml and DIR/<name>.migration.md (every field it could not
map, with its value and source line, and the decisions to review), and prints the same list.
Nothing is written unless every output can be: existing files are refused without --force.
Exit 0 all migrated, 1 some input could not be migrated, 2 usage error.
"""

from __future__ import annotations

from pathlib import Path

import click

from pv.commands._common import atomic_write_text
from pv.errors import UsageError


@click.command("migrate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "-o",
    "--output-dir",
    "out_dir",
    required=True,
    metavar="DIR",
    help="Folder for the v1 files and their *.migration.md reports (created if missing).",
)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("-q", "--quiet", is_flag=True, help="Print one line per file, not every unmapped field.")
@click.pass_context
def migrate(ctx: click.Context, files: tuple[str, ...], out_dir: str, force: bool, quiet: bool) -> None:
    """Convert aprender- and kernel-dialect contracts to schema v1 (lossless where possible)."""
    from pv.config import load_config
    from pv.loader import LoadedDocument, load_document
    from pv.migrate import MigrationError, plan
    from pv.migrate.render import render_report, render_yaml
    from pv.paths import expand_patterns

    config = load_config()
    paths = expand_patterns(list(files))  # UsageError naming a path or glob that matches nothing
    stems: dict[str, Path] = {}
    for p in paths:
        if p.stem in stems:
            raise UsageError(
                f"{p} and {stems[p.stem]} would both be written as {p.stem}.yaml; migrate them separately."
            )
        stems[p.stem] = p

    failed = 0
    docs = []
    for p in paths:
        res = load_document(p, max_bytes=config.max_bytes)
        if isinstance(res, LoadedDocument):
            docs.append(res)
        else:
            failed += 1
            click.echo(f"{res.finding.location}: error: {res.finding.message}; not migrated", err=True)
    results = plan(docs)
    outdir = Path(out_dir)
    writes: list[tuple[Path, str]] = []
    for doc, result in results:
        if isinstance(result, MigrationError):
            failed += 1
            click.echo(f"{doc.display}: not migrated: {result}", err=True)
            continue
        target = outdir / f"{Path(doc.display).stem}.yaml"
        report = outdir / f"{Path(doc.display).stem}.migration.md"
        writes += [
            (target, render_yaml(result, doc.display, report.name)),
            (report, render_report(result, doc.display, str(target))),
        ]
    clash = [str(t) for t, _ in writes if t.exists()]
    if clash and not force:
        raise UsageError(
            f"{len(clash)} output file(s) exist: {', '.join(clash[:5])}"
            f"{' …' if len(clash) > 5 else ''}; pass --force to overwrite them."
        )
    if writes:
        try:
            outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{outdir}: cannot create the output folder: {exc.strerror or exc}") from exc
    for target, text in writes:
        atomic_write_text(target, text, overwrite=force)

    total_unmapped = 0
    for doc, result in results:
        if isinstance(result, MigrationError):
            continue
        total_unmapped += len(result.unmapped)
        name = Path(doc.display).stem
        click.echo(
            f"{doc.display} → {outdir / (name + '.yaml')} ({result.dialect}): "
            f"{len(result.unmapped)} field(s) not mapped, {len(result.notes)} decision(s) to review "
            f"→ {outdir / (name + '.migration.md')}"
        )
        if not quiet:
            for n in result.notes:
                click.echo(f"  note: {n}")
            for u in result.unmapped:
                click.echo(f"  not mapped: {doc.display}:{u.line} {u.path}: {u.reason}")
    migrated = len(results) - sum(isinstance(r, MigrationError) for _, r in results)
    click.echo(
        f"migrated {migrated} of {len(paths)} file(s); {total_unmapped} field(s) not mapped"
        f"{f'; {failed} not migrated' if failed else ''}. Check them with `pv validate {outdir}`."
    )
    ctx.exit(1 if failed else 0)
