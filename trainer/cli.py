"""`trainer` command line: tokenizer train, data prepare, pretrain, qa, sample, export, report.

The only trainer module that talks to the terminal. Every TrainerError becomes its message on stderr
and its status's exit code (table in docs/trainer.md); a user error never shows a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from trainer.cli_config import merge_config_file
from trainer.config import MAX_MODEL_VOCAB, MODELS, TrainConfig
from trainer.errors import DataError, GuardError, Interrupted, TrainerError, io_error
from trainer.regimes import DEFAULT_MODE, REGIMES, resolve_hparams
from trainer.status import RunStatus

T = TypeVar("T")
QA_FAILED_EXIT = 1  # qa found problems (distinct from 8: the directory is not a run at all)


def _peer_rank() -> bool:
    """A data-parallel rank >= 1 under torchrun: it exits with the same status but prints nothing."""
    return os.environ.get("RANK", "0").strip() not in ("", "0")


def _call(fn: Callable[[], T]) -> T:
    """Run a command body; a TrainerError exits with its status, never a traceback.

    Two more ends are mapped here so that no command shows a traceback for them: an OSError that no
    writer turned into a DataError (a disk or permission problem: DATA_ERROR, naming the file) and
    Ctrl-C (INTERRUPTED, 130; staged outputs are removed, nothing half-written is published).
    """
    try:
        return fn()
    except TrainerError as exc:
        _fail(str(exc), exc.status)
    except OSError as exc:
        _fail(str(io_error(exc, "I/O error", exc.filename or "?")), RunStatus.DATA_ERROR)
    except KeyboardInterrupt:
        _fail("interrupted (Ctrl-C); no output was left half-written", RunStatus.INTERRUPTED)


def _fail(message: str, status: RunStatus) -> NoReturn:
    if not _peer_rank():
        click.echo(f"error: {message}", err=True)
    sys.exit(status.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pv", prog_name="trainer", message="%(prog)s %(version)s")
def main() -> None:
    """Train a byte-level BPE tokenizer, prepare token shards, pretrain a small decoder, QA the run,
    then sample from it, export it for HF transformers, or write an HTML report.

    Shell completion (bash): eval "$(_TRAINER_COMPLETE=bash_source trainer)"; zsh/fish in docs/trainer.md.
    """


@main.group()
def tokenizer() -> None:
    """Byte-level BPE tokenizer."""


@tokenizer.command("train")
@click.option(
    "--corpus", required=True, help="'stdlib' (this Python's standard library) or a folder of text."
)
@click.option(
    "--vocab-size",
    type=click.IntRange(min=2),
    required=True,
    help="Total ids, specials included (258..2**24).",
)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Tokenizer directory.")
@click.option("--max-files", type=click.IntRange(min=1), default=None, help="Use at most N corpus files.")
@click.option(
    "--force", is_flag=True, default=False, help="Replace a tokenizer already in --out (breaks its datasets)."
)
def tokenizer_train(corpus: str, vocab_size: int, out: str, max_files: int | None, force: bool) -> None:
    """Train a tokenizer; writes vocab.json, merges.txt, tokenizer.json atomically."""
    _call(lambda: _tokenizer_train(corpus, vocab_size, out, max_files, force))


# Command bodies live in plain functions below their click wrappers: mutation testing (mutmut) skips
# decorated functions, and the bodies are where the behaviour is.
def _tokenizer_train(corpus: str, vocab_size: int, out: str, max_files: int | None, force: bool) -> None:
    from trainer.corpus import corpus_files
    from trainer.tokenizer import train_tokenizer

    files = corpus_files(corpus, max_files)
    tok = train_tokenizer(files, vocab_size, out, force=force)
    click.echo(f"tokenizer: {tok.vocab_size} ids from {len(files)} files -> {out}")


@main.group()
def data() -> None:
    """Token shards with a held-out split."""


@data.command("prepare")
@click.option("--corpus", required=True, help="'stdlib' or a folder of text files.")
@click.option("--tokenizer", "tokenizer_dir", required=True, type=click.Path(file_okay=False),
              help="Directory from `trainer tokenizer train`.")  # fmt: skip
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Dataset directory.")
@click.option("--max-files", type=click.IntRange(min=1), default=None, help="Use at most N corpus files.")
def data_prepare(corpus: str, tokenizer_dir: str, out: str, max_files: int | None) -> None:
    """Tokenize a corpus into train/val shards plus manifest.json."""
    _call(lambda: _data_prepare(corpus, tokenizer_dir, out, max_files))


def _data_prepare(corpus: str, tokenizer_dir: str, out: str, max_files: int | None) -> None:
    from trainer.data import prepare_dataset

    manifest = prepare_dataset(corpus, tokenizer_dir, out, max_files=max_files)
    click.echo(f"dataset -> {out} ({len(manifest.shards)} shards)")


def resolve_pretrain_config(params: dict[str, Any]) -> TrainConfig:
    """Pure: click's parsed params -> TrainConfig. --mode fills lr/warmup/target unless given explicitly."""
    hp = resolve_hparams(
        params.get("mode") or DEFAULT_MODE,
        lr=params.get("lr"),
        warmup_steps=params.get("warmup_steps"),
        target_val_loss=params.get("target_val_loss"),
    )
    passthrough = (
        "vocab_size", "num_steps", "steps_per_epoch", "batch_size", "seq_length", "model", "seed",
        "device", "patience", "grad_clip", "weight_decay", "eval_batches",
    )  # fmt: skip
    extra = {k: params[k] for k in passthrough if params.get(k) is not None}
    return TrainConfig(
        dataset=str(params["dataset"]),
        tokenizer=str(params["tokenizer"]),
        run_dir=str(params["run_dir"]),
        synthetic=bool(params.get("synthetic")),
        mode=hp.mode,
        lr=hp.lr,
        warmup_steps=hp.warmup_steps,
        target_val_loss=hp.target_val_loss,
        allow_shard_cycle=bool(params.get("allow_shard_cycle")),
        resume=bool(params.get("resume")),
        compile=bool(params.get("compile")),
        **extra,
    )


_PATH = click.Path(file_okay=True, dir_okay=True)  # existence is checked in the body, not at parse time


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Option values from a TOML file or a run's config.json; flags given here override it.",
)
@click.option("--dataset", type=_PATH, help="Directory from `trainer data prepare` [required].")
@click.option("--tokenizer", type=_PATH, help="Directory from `trainer tokenizer train` [required].")
@click.option("--run-dir", type=_PATH, help="Where train.jsonl, ckpt/ and result.json go [required].")
@click.option("--synthetic", is_flag=True, default=False, help="Scripted loss, no model compute (labelled).")
@click.option(
    "--mode",
    type=click.Choice(sorted(REGIMES)),
    default=DEFAULT_MODE,
    show_default=True,
    help="Sets lr, warmup and target together; explicit flags win.",
)
@click.option("--lr", type=float, default=None, help="Peak learning rate [mode default].")
@click.option(
    "--warmup-steps",
    type=click.IntRange(min=0),
    default=None,
    help="Linear warmup steps before the cosine decay [mode default].",
)
@click.option(
    "--target-val-loss", type=float, default=None, help="OK needs this held-out loss [mode default]."
)
@click.option(
    "--vocab-size",
    type=click.IntRange(min=2, max=MAX_MODEL_VOCAB),
    default=None,
    help="Model vocab [tokenizer's].",
)
@click.option(
    "--num-steps",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Optimizer steps in the whole run (the exact budget).",
)
@click.option(
    "--steps-per-epoch",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Steps between evaluations and checkpoints.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Sequences per step (the global batch under torchrun).",
)
@click.option(
    "--seq-length",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Tokens per sequence (the model's context length).",
)
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="tiny",
    show_default=True,
    help="Shape preset (trainer/model.py PRESETS).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seeds python, numpy, torch and the token stream."
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda[:N] or mps.")
@click.option(
    "--allow-shard-cycle", is_flag=True, default=False, help="Repeat shards if the plan needs more."
)
@click.option("--resume", is_flag=True, default=False, help="Continue from the latest complete checkpoint.")
@click.option(
    "--patience", type=click.IntRange(min=1), default=None, help="Stop after N epochs w/o val gain."
)
@click.option("--grad-clip", type=float, default=None, help="Clip the global grad norm [1.0].")
@click.option("--weight-decay", type=float, default=None, help="AdamW decay on matrices [0.1].")
@click.option(
    "--eval-batches", type=click.IntRange(min=1), default=None, help="Held-out batches per eval [16]."
)
@click.option(
    "--compile", "compile", is_flag=True, default=False, help="torch.compile the training step (for CUDA)."
)
@click.option("--json", "as_json", is_flag=True, default=False, help="Print result.json on stdout.")
def pretrain(as_json: bool, config_file: str | None, **params: Any) -> None:
    """Pretrain a decoder on token shards (real compute unless --synthetic).

    Under `torchrun --nproc_per_node=N` (RANK/WORLD_SIZE/LOCAL_RANK set) it trains data-parallel:
    --batch-size is the global batch, each rank trains on batch_size / N rows (docs/distributed.md).

    With --config FILE (TOML, or a run's config.json) the file gives the options' values; flags given on
    the command line override it. Repeat a run: --config RUN/config.json --run-dir NEW.
    """
    _pretrain(as_json, params, config_file)


_NOT_GIVEN = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
REQUIRED_RUN_OPTIONS = ("dataset", "tokenizer", "run_dir")


def _pretrain(as_json: bool, params: dict[str, Any], config_file: str | None = None) -> None:
    try:
        _pretrain_run(as_json, params, config_file)
    except KeyboardInterrupt:  # before the run started (importing torch takes seconds) or after it
        _fail("interrupted (Ctrl-C)", RunStatus.INTERRUPTED)


def _pretrain_run(as_json: bool, params: dict[str, Any], config_file: str | None) -> None:
    from trainer.distributed import detect, finish, per_rank_batch, run_ddp
    from trainer.progress import make_reporter

    if config_file is not None:  # the file fills every option the command line did not give
        ctx = click.get_current_context()
        given = {n for n in params if ctx.get_parameter_source(n) not in _NOT_GIVEN}
        params = merge_config_file(config_file, ctx.command, params, given)
    missing = [f"--{k.replace('_', '-')}" for k in REQUIRED_RUN_OPTIONS if not params.get(k)]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (give it as a flag or in the --config file)")
    try:
        cfg = resolve_pretrain_config(params)
        env = _call(detect)
        if env is not None:
            per_rank_batch(cfg.batch_size, env.world_size)
    except GuardError as exc:
        if exc.gate == "GATE-TRAIN-CONFIG":
            raise click.UsageError(str(exc)) from exc
        raise

    sync = True  # after a TrainerError or a normal end every rank reaches finish(); after a bug not

    def body() -> RunStatus:
        nonlocal sync
        try:
            return run()
        except KeyboardInterrupt:  # outside the loop's own handling: peers may sit in a collective
            sync = False
            raise

    def run() -> RunStatus:
        nonlocal sync
        for flag, value in (("--dataset", cfg.dataset), ("--tokenizer", cfg.tokenizer)):
            if not Path(value).is_dir():
                raise DataError(f"{flag}: not a directory", path=value)
        writer = env is None or env.rank == 0
        reporter = make_reporter(cfg.num_steps, sys.stderr, sys.stderr.isatty()) if writer else None
        before = _result_stamp(cfg.run_dir)  # a refused run must not print the previous run's result
        try:
            try:
                result = run_ddp(cfg, events=reporter, env=env, leave=False)
            finally:
                if reporter is not None:
                    reporter.close()  # the bar's last state stays on screen; the verdict goes below it
        except TrainerError as exc:
            sync = not isinstance(exc, Interrupted)  # after Ctrl-C a peer may sit in a collective
            if writer:
                _print_result(cfg, as_json, before)
            raise
        if writer:
            _print_result(cfg, as_json, before)
        return result.status

    try:
        status = _call(body)
    except SystemExit:
        raise
    except BaseException:
        sync = False
        raise
    finally:
        finish(sync=sync)
    sys.exit(status.exit_code)


def _result_stamp(run_dir: str) -> tuple[int, int] | None:
    """Identity of RUN_DIR/result.json (inode, mtime): it changes when a run (atomically) rewrites it."""
    try:
        st = (Path(run_dir) / "result.json").stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _print_result(cfg: TrainConfig, as_json: bool, before: tuple[int, int] | None = None) -> None:
    """Print result.json if this run wrote it; a preflight refusal leaves an older one in place."""
    path = Path(cfg.run_dir) / "result.json"
    if not path.is_file() or _result_stamp(cfg.run_dir) == before:
        return
    if as_json:
        click.echo(path.read_text(encoding="utf-8").rstrip())
        return
    res = json.loads(path.read_text(encoding="utf-8"))
    click.echo(f"{res['status']} (exit {res['exit_code']}): {res['reason']}", err=True)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, default=False, help="Print the report as JSON.")
def qa(run_dir: str, as_json: bool) -> None:
    """Post-hoc checks of a run directory; exit 1 naming each failed check."""
    _qa(run_dir, as_json)


def _qa(run_dir: str, as_json: bool) -> None:
    from trainer.qa import qa_run

    report = _call(lambda: qa_run(run_dir))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for c in report.checks:
            mark = "N/A " if c.ok is None else ("PASS" if c.ok else "FAIL")
            click.echo(f"{mark} {c.name}: {c.detail}")
        click.echo(report.summary())
    if not report.ok:
        names = ", ".join(c.name for c in report.failed) or "no applicable checks"
        click.echo(f"qa failed: {names}", err=True)
        sys.exit(QA_FAILED_EXIT)


# The commands that read a finished run (sample, export, report) live in trainer/cli_results.py; it
# imports `_call` from here, so it is imported after everything above is defined.
from trainer.cli_results import export_cmd, report, sample  # noqa: E402

for _command in (sample, export_cmd, report):
    main.add_command(_command)
