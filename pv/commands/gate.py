"""`pv gate`: run the ship-blocking gates' falsifiers; exit 1 unless every selected gate is green.

Exit 0 all green, 1 a gate failed or executed nothing, 2 usage error or the gate could not run.
"""

from __future__ import annotations

import click

from pv.commands._common import emit


@click.command("gate")
@click.option("--gate", "gate_ids", multiple=True, metavar="ID", help="Run only this gate (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "github"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (atomically), not stdout.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=None,
    help="pytest-xdist workers (0 = in one process; default: xdist only with 4+ cores).",
)
@click.option(
    "-x",
    "--exitfirst",
    is_flag=True,
    help="Stop at the first failing falsifier; the rest are reported not-run and no gate counts as green.",
)
@click.option(
    "--contracts",
    "contract_paths",
    multiple=True,
    metavar="PATH",
    help="Contract files or folders (default: [tool.pv].contracts; repeatable).",
)
def gate(
    gate_ids: tuple[str, ...],
    fmt: str,
    output: str | None,
    jobs: int | None,
    exitfirst: bool,
    contract_paths: tuple[str, ...],
) -> None:
    """Run the falsifiers of every ship-blocking gate and print a verdict per gate."""
    from pv.config import load_config
    from pv.gate import run_gate
    from pv.gate_render import RENDERERS, render_text

    config = load_config()
    result = run_gate(
        config,
        gate_ids=list(gate_ids) or None,
        jobs=jobs,
        contract_paths=list(contract_paths) or None,
        exitfirst=exitfirst,
    )
    emit(RENDERERS[fmt](result), output)
    if output:
        click.echo(render_text(result).rstrip("\n").splitlines()[-1] + f" → {output}", err=True)
    raise SystemExit(result.exit_code)
