"""`pv generate [PATHS] -o DIR [--check]`: render contracts' falsifiers into pytest modules.

Exit 0 written / up to date, 1 drift under --check (or a contract that cannot be rendered), 2 usage.
"""

from __future__ import annotations

import os

import click


@click.command("generate")
@click.argument("paths", nargs=-1, metavar="[PATHS]...")
@click.option(
    "-o",
    "--output-dir",
    "out_dir",
    metavar="DIR",
    help="Where the modules go (default: [tool.pv].generated_dir).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing generated files that drifted.")
def generate(paths: tuple[str, ...], out_dir: str | None, check: bool) -> None:
    """Generate one pytest module per contract from its executable falsifiers.

    Without PATHS the contracts come from [tool.pv].contracts. Output is deterministic; commit it.
    """
    from pv.config import load_config
    from pv.generate import generate as run_generate
    from pv.generate import kind_registry

    config = load_config()
    patterns = list(paths) or [os.path.relpath(config.path(p)) for p in config.contracts]
    out = out_dir or os.path.relpath(config.path(config.generated_dir))
    result = run_generate(
        patterns,
        out,
        check=check,
        kinds=kind_registry(config),
        target_packages=config.target_packages,
        root=config.root,  # headers name the contract relative to the project root, from any cwd
    )
    tests = sum(len(f.falsifiers) for f in result.files)
    if result.foreign:
        click.echo(
            f"skipped {len(result.foreign)} file(s) in another dialect (aprender / kernel): no executable "
            "falsifiers until `pv migrate` brings them to schema v1.",
            err=True,
        )
    if check:
        if result.drifted:
            for p in result.drifted:
                click.echo(f"drifted: {p}")
            stale = f", {len(result.stale)} left over from a deleted contract" if result.stale else ""
            modules = {f.path for f in result.files}
            differ = sum(p in modules for p in result.drifted)
            click.echo(
                f"{differ} of {len(result.files)} generated file(s) differ "
                f"from the contracts{stale}; run `pv generate {' '.join(patterns)} -o {out}`.",
                err=True,
            )
            raise SystemExit(1)
        click.echo(f"{len(result.files)} generated file(s) up to date ({tests} falsifier tests).")
        return
    for p in result.written:
        click.echo(f"wrote {p}")
    if result.package_init is not None:
        click.echo(f"wrote {result.package_init} (a package: generated modules cannot clash with test names)")
    for p in result.stale:
        click.echo(f"removed {p} (its contract is gone)")
    for p in result.kept:
        click.echo(f"kept {p}: its contract is gone, but it changed since pv wrote it; delete it by hand")
    click.echo(
        f"{len(result.files)} contract(s) → {tests} falsifier tests: {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {len(result.stale)} removed."
    )
