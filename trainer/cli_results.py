"""`trainer sample`, `trainer export`, `trainer report`: the commands that read a finished run directory.

CLI layer only: each click wrapper calls a plain `_name()` body, which calls trainer.inference /
trainer.export / trainer.report through `trainer.cli._call` (errors to exit codes). Registered on
`trainer.cli.main` by trainer/cli.py; the bodies import `_call` when they run, so either module can be
imported first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from trainer.errors import DataError

_CHECKPOINT = click.option("--checkpoint", "which", default="best", show_default=True,
                           help="best (lowest val loss), last, or an epoch number.")  # fmt: skip
_TOKENIZER = click.option("--tokenizer", type=click.Path(file_okay=False), default=None,
                          help="Tokenizer directory [the one the run's config.json names].")  # fmt: skip


@click.command()
@click.option(
    "--run-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Run directory of a real `trainer pretrain` (it needs a checkpoint).",
)
@click.option(
    "--prompt",
    "prompts",
    multiple=True,
    help="Text to continue; repeat for several. [empty: the start of a new document]",
)
@click.option(
    "--num-samples", type=click.IntRange(min=1), default=1, show_default=True, help="Completions per prompt."
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Stop after this many new tokens (or at end-of-text).",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0),
    default=0.8,
    show_default=True,
    help="Softmax temperature; 0 is greedy (argmax, no randomness).",
)
@click.option(
    "--top-k",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Sample among the k most likely tokens; 0 = all.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same samples.")
@_CHECKPOINT
@_TOKENIZER
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda[:N], mps or auto.")
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the samples as JSON.")
def sample(run_dir: str, prompts: tuple[str, ...], as_json: bool, **opts: Any) -> None:  # fmt: skip
    """Generate text from a run's checkpoint (deterministic for a seed)."""
    _sample(run_dir, list(prompts) or [""], as_json, opts)


def _sample(run_dir: str, prompts: list[str], as_json: bool, opts: dict[str, Any]) -> None:
    from trainer.cli import _call
    from trainer.inference import load_trained, sample

    trained = _call(lambda: load_trained(run_dir, opts["which"], tokenizer=opts["tokenizer"],
                                         device=opts["device"]))  # fmt: skip
    got = sample(trained, prompts, num_samples=opts["num_samples"], max_new_tokens=opts["max_new_tokens"],
                 temperature=opts["temperature"], top_k=opts["top_k"] or None, seed=opts["seed"])  # fmt: skip
    if as_json:
        doc = {"run_dir": run_dir, "epoch": trained.epoch, "val_loss": trained.meta.get("val_loss"),
               "seed": opts["seed"], "temperature": opts["temperature"],
               "samples": [s.to_dict() for s in got]}  # fmt: skip
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(f"{len(got)} sample(s) from {run_dir}, {trained.label}; temperature {opts['temperature']}, "
               f"top-k {opts['top_k'] or 'off'}, seed {opts['seed']}", err=True)  # fmt: skip
    for i, s in enumerate(got, 1):
        click.echo(f"--- sample {i}: prompt {s.prompt!r}, {s.new_tokens} new tokens, stopped at {s.stopped}")
        click.echo(s.prompt + s.completion)


@click.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("out", type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["hf"]),
    default="hf",
    show_default=True,
    help="hf: a folder for transformers' from_pretrained (LlamaForCausalLM + fast tokenizer).",
)
@_CHECKPOINT
@_TOKENIZER
@click.option("--force", is_flag=True, default=False, help="Replace an existing OUT (a previous export).")
def export_cmd(run_dir: str, out: str, fmt: str, which: str, tokenizer: str | None, force: bool) -> None:
    """Export a run's checkpoint to OUT, written atomically (HF transformers loads it locally)."""
    _export(run_dir, out, which, tokenizer, force)


def _export(run_dir: str, out: str, which: str, tokenizer: str | None, force: bool) -> None:
    from trainer.cli import _call
    from trainer.export import export_hf

    done = _call(lambda: export_hf(run_dir, out, which=which, tokenizer=tokenizer, force=force))
    click.echo(f"exported {done.label}, {done.parameters:,} parameters -> {out}")
    click.echo(f"load it: transformers.AutoModelForCausalLM.from_pretrained({out!r})", err=True)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file to write [RUN_DIR/report.html].",
)
@click.option(
    "--png",
    "png",
    type=click.Path(dir_okay=False),
    default=None,
    help="PNG of the loss curves [next to the HTML, same name with .png].",
)
@click.option("--no-png", is_flag=True, default=False, help="Write the HTML only.")
@click.option(
    "--samples",
    "num_samples",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Sample completions from the best checkpoint (0 = none).",
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Length of each sample.",
)
@click.option("--prompt", default="", help="Prompt of the samples [empty: a new document].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples.")
@_TOKENIZER
def report(run_dir: str, output: str | None, png: str | None, no_png: bool, **opts: Any) -> None:
    """Write a self-contained HTML report of a run (curves, verdict, qa, samples, config) and a PNG."""
    _report(run_dir, output, None if no_png else (png or ""), opts)


def _report(run_dir: str, output: str | None, png: str | None, opts: dict[str, Any]) -> None:
    from trainer.cli import _call
    from trainer.report import build_report, render_html, render_png
    from trainer.runlog import atomic_write_bytes, atomic_write_text

    html_path = Path(output) if output else Path(run_dir) / "report.html"
    png_path = None if png is None else Path(png) if png else html_path.with_suffix(".png")
    rep = _call(lambda: build_report(run_dir, **opts))
    html = render_html(rep)
    image = _call(lambda: render_png(rep)) if png_path is not None else None

    def write() -> None:
        try:
            atomic_write_text(html_path, html)
            if png_path is not None and image is not None:
                atomic_write_bytes(png_path, image)
        except OSError as exc:
            raise DataError(f"cannot write the report: {exc}", path=str(exc.filename or html_path)) from exc

    _call(write)
    click.echo(f"report -> {html_path}" + (f" (loss curves: {png_path})" if png_path else ""))
