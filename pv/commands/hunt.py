"""`pv hunt [--budget 10m] [--gate ID | --falsifier ID] [--jobs N]`: hunt regressions with hypothesis.

Exit 0 when the budget was spent and nothing failed, 1 when a falsifier failed (reproducer printed, the
shrunk example pinned into the contract), 2 for usage errors or a worker that could not run.
"""

from __future__ import annotations

import os
import shlex
import sys

import click

GRACE_NOTE = "well past the budget; its worker was ended (its earlier runs count)"


def _fmt_s(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@click.command("hunt")
@click.option("--budget", default="10m", show_default=True, help="Time to spend: 90s, 10m, 1h, 1h30m.")
@click.option(
    "--gate", "gates", multiple=True, metavar="ID", help="Hunt only the falsifiers this gate lists."
)
@click.option("--falsifier", "falsifiers", multiple=True, metavar="ID", help="Hunt only this falsifier.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPU count).")
@click.option("--keep-going", is_flag=True, help="Keep hunting the other falsifiers after a failure.")
@click.option("--no-pin", is_flag=True, help="Only report; do not pin the shrunk example into the contract.")
@click.pass_context
def hunt(ctx, budget, gates, falsifiers, jobs, keep_going, no_pin) -> None:
    """Search the generated falsifier tests for a failing input, spread over the cores.

    Random hypothesis search (not the derandomized CI profile) with large example counts and one
    example database in .pv/hypothesis shared by all workers, repeated until the budget is spent.
    A failure is shrunk, printed with a command that replays it, and pinned as an `examples:` entry of
    its falsifier so the regenerated test replays it in CI forever.
    """
    from pv.config import load_config
    from pv.hunt import hunt as run_hunt
    from pv.hunt import parse_budget, select_targets

    budget_s = parse_budget(budget)
    config = load_config()
    targets = select_targets(config, gate_ids=gates, falsifier_ids=falsifiers)
    jobs = jobs or os.cpu_count() or 1
    tty = sys.stderr.isatty()
    click.echo(
        f"pv hunt: {len(targets)} falsifier test(s), {jobs} worker(s), budget {_fmt_s(budget_s)}", err=True
    )
    last = [0.0]
    announced: set[str] = set()

    def show(p) -> None:
        for fid in p.found:  # a falsifier is finished the moment it fails: say so at once
            if fid not in announced:
                announced.add(fid)
                click.echo(("\r\033[K" if tty else "") + f"  FOUND   {fid}  at {_fmt_s(p.elapsed)}", err=True)
        line = (
            f"{_fmt_s(p.elapsed)} / {_fmt_s(p.budget)} · {p.examples} examples · "
            f"{p.hunted} falsifiers hunted · {p.failures} failed"
        )
        if tty:
            click.echo(f"\r\033[K{line}", nl=False, err=True)
        elif p.elapsed - last[0] >= 10:  # CI logs: a line every 10 s, not a flood
            last[0] = p.elapsed
            click.echo(line + " | " + "; ".join(p.workers), err=True)

    result = run_hunt(config, targets, budget_s=budget_s, jobs=jobs, on_progress=show, keep_going=keep_going)
    if tty:
        click.echo("\r\033[K", nl=False, err=True)
    found_ids = {f.falsify_id for f in result.failures}
    for t in targets:  # one line per falsifier: what the budget bought for it
        n = result.examples_by_node.get(t.node_id, 0)
        if t.falsify_id in found_ids:
            word = "FOUND"
        elif t.node_id in result.skipped:
            word = "SKIP"  # draws no inputs
        elif t.node_id in result.not_reached:
            word = "NOT-RUN"  # the budget ran out first
        else:
            word = "clean"
        click.echo(f"  {word:<7} {t.falsify_id}  {n} examples", err=True)
    for f in result.failures:
        _report_failure(f, config, pin=not no_pin)
    found = len(result.failures)
    reached = (
        f", {len(result.not_reached)} not reached before the budget ran out" if result.not_reached else ""
    )
    for node in result.stopped_in:
        click.echo(f"  stopped: {node} was still running {GRACE_NOTE}", err=True)
    click.echo(
        f"{'FOUND' if found else 'clean'}: {found} of {len(result.hunted)} falsifier(s) hunted failed · "
        f"{result.examples} examples tried in {result.runs} runs over {_fmt_s(result.elapsed)} "
        f"({result.workers} workers started in {_fmt_s(result.startup_s)}, {len(result.skipped)} selected "
        f"test(s) skipped: they draw no inputs{reached})"
    )
    ctx.exit(result.exit_code)


def _report_failure(f, config, *, pin: bool) -> None:
    from pv.hunt import pin_example

    click.echo(f"\nFALSIFIED {f.falsify_id}  ({f.node_id})")
    click.echo(f"  minimal example: {f.example_repr or '(none: the failure is not input-dependent)'}")
    last = [line for line in f.error.strip().splitlines() if line.startswith("E ")][-3:]
    for line in last:
        click.echo(f"  {line}")
    pinned = False
    if pin and f.example is not None and f.contract_path is not None:
        if pin_example(f.contract_path, f.falsify_id, f.example):
            click.echo(f"  pinned into {f.contract_path} ({f.falsify_id}.examples)")
        pinned = True
        _regenerate(config)
    elif pin and f.example is None:
        click.echo("  not pinned: the example is not plain data; add it to the contract by hand")
    click.echo("  Reproduce with:")
    if pinned:
        click.echo(f"    pytest {shlex.quote(f.node_id)}")
    click.echo(f"    pv hunt --falsifier {f.falsify_id} --budget 30s   # replays it from .pv/hypothesis")


def _regenerate(config) -> None:
    from pv.errors import PvError
    from pv.generate import generate, kind_registry

    patterns = [os.path.relpath(config.path(p)) for p in config.contracts]
    try:
        res = generate(
            patterns,
            os.path.relpath(config.path(config.generated_dir)),
            kinds=kind_registry(config),
            target_packages=config.target_packages,
            root=config.root,
        )
    except (PvError, ImportError) as exc:
        click.echo(
            f"  pv generate failed ({exc}); fix it and run `pv generate` so CI replays the pin", err=True
        )
        return
    for p in res.written:
        click.echo(f"  regenerated {p}")
