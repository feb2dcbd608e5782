"""--mode sets (lr, warmup_steps, target_val_loss) from one table; explicit flags win per field."""

from __future__ import annotations

import pytest

from trainer.cli import pretrain, resolve_pretrain_config
from trainer.errors import PreflightError
from trainer.regimes import DEFAULT_MODE, REGIMES, resolve_hparams

BASE = ["--dataset", "/nonexistent/data", "--tokenizer", "/nonexistent/tok", "--run-dir", "/nonexistent/run"]


def parse(*extra: str):
    # make_context parses without running the command or touching the filesystem.
    return resolve_pretrain_config(pretrain.make_context("pretrain", [*BASE, *extra]).params)


@pytest.mark.parametrize("mode", sorted(REGIMES))
def test_mode_sets_all_three_fields_from_the_table(mode: str) -> None:
    cfg = parse("--mode", mode)
    r = REGIMES[mode]
    assert (cfg.mode, cfg.lr, cfg.warmup_steps, cfg.target_val_loss) == (
        mode,
        r.lr,
        r.warmup_steps,
        r.target_val_loss,
    )


def test_regimes_differ_in_every_field() -> None:
    a, b = REGIMES["finetune"], REGIMES["from-scratch"]
    assert a.lr != b.lr and a.warmup_steps != b.warmup_steps and a.target_val_loss != b.target_val_loss


def test_default_mode_is_from_scratch() -> None:
    assert DEFAULT_MODE == "from-scratch"
    assert parse().mode == "from-scratch"
    assert parse().lr == REGIMES["from-scratch"].lr


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--lr", "0.0123", "lr"),
        ("--warmup-steps", "7", "warmup_steps"),
        ("--target-val-loss", "1.5", "target_val_loss"),
    ],
)
@pytest.mark.parametrize("mode", sorted(REGIMES))
def test_explicit_flag_wins_only_for_its_own_field(mode: str, flag: str, value: str, field: str) -> None:
    cfg = parse("--mode", mode, flag, value)
    assert getattr(cfg, field) == type(getattr(cfg, field))(value)
    base = REGIMES[mode]
    for other in ("lr", "warmup_steps", "target_val_loss"):
        if other != field:
            assert getattr(cfg, other) == getattr(base, other)


def test_resolve_hparams_rejects_unknown_mode() -> None:
    with pytest.raises(PreflightError, match="unknown mode"):
        resolve_hparams("pretrain-ish")


def test_synthetic_is_a_plain_flag_absent_means_real() -> None:
    assert parse().synthetic is False
    assert parse("--synthetic").synthetic is True


def test_parse_passes_every_knob_through() -> None:
    cfg = parse("--num-steps", "40", "--steps-per-epoch", "15", "--batch-size", "4", "--seq-length", "32",
                "--vocab-size", "600", "--seed", "3", "--device", "cpu", "--patience", "2",
                "--allow-shard-cycle", "--resume", "--model", "small")  # fmt: skip
    assert (cfg.num_steps, cfg.steps_per_epoch, cfg.batch_size, cfg.seq_length) == (40, 15, 4, 32)
    assert (cfg.vocab_size, cfg.seed, cfg.device, cfg.patience, cfg.model) == (600, 3, "cpu", 2, "small")
    assert cfg.allow_shard_cycle and cfg.resume
    assert parse().vocab_size is None  # None: the tokenizer's vocab_size is used
