"""`pv gate`: run the ship-blocking gates' falsifiers; exit 1 unless every selected gate is green.

Exit 0 all green, 1 a gate failed, executed nothing, timed out or pytest died mid-run, 2 usage error or
the gate could not run. Live progress goes to stderr, the report to stdout (or -o FILE).
"""

from __future__ import annotations

import sys

import click

from pv.commands._common import emit

DEFAULT_TIMEOUT = "30m"


def _timeout_seconds(text: str) -> float | None:
    """`--timeout`: a duration (90s, 30m, 1h), or 0 / none for no limit."""
    from pv.errors import UsageError
    from pv.hunt import parse_budget

    if text.strip().lower() in ("0", "none", "off"):
        return None
    try:
        return parse_budget(text)
    except UsageError:
        raise UsageError(
            f"--timeout {text!r} is not a duration. Write e.g. 90s, 30m, 1h, or 0 for no limit."
        ) from None


@click.command("gate")
@click.option("--gate", "gate_ids", multiple=True, metavar="ID", help="Run only this gate (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "github", "sarif"]),
    default="text",
    show_default=True,
    help="Report format (sarif: one result per failed falsifier, at its line in the contract).",
)
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (atomically), not stdout.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=None,
    help="pytest-xdist workers (0 = in one process; default: xdist only with 4+ cores and xdist installed).",
)
@click.option(
    "-x",
    "--exitfirst",
    is_flag=True,
    help="Stop at the first failing falsifier; the rest are reported not-run and no gate counts as green.",
)
@click.option(
    "--timeout",
    "timeout",
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="DURATION",
    help="Limit for the whole run (90s, 30m, 1h; 0 = none). On expiry pytest is killed, verdicts earned "
    "are kept, running falsifiers are reported timed out, and the gate fails.",
)
@click.option("-q", "--quiet", is_flag=True, help="No live progress on stderr, only the report.")
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
    timeout: str,
    quiet: bool,
    contract_paths: tuple[str, ...],
) -> None:
    """Run the falsifiers of every ship-blocking gate and print a verdict per gate.

    While pytest runs, each falsifier's verdict and each gate's appear on stderr as they are decided
    (plus a status line on a terminal). A crash of pytest keeps the verdicts already earned and names
    the falsifier that was running.
    """
    from pv.config import load_config
    from pv.gate import run_gate
    from pv.gate_progress import LiveProgress
    from pv.gate_render import RENDERERS, render_text

    limit = _timeout_seconds(timeout)
    config = load_config()
    progress = None if quiet else LiveProgress(sys.stderr, tty=sys.stderr.isatty())
    result = run_gate(
        config,
        gate_ids=list(gate_ids) or None,
        jobs=jobs,
        contract_paths=list(contract_paths) or None,
        exitfirst=exitfirst,
        timeout=limit,
        on_event=progress,
    )
    emit(RENDERERS[fmt](result), output)
    if output:
        click.echo(render_text(result).rstrip("\n").splitlines()[-1] + f" → {output}", err=True)
    raise SystemExit(result.exit_code)
