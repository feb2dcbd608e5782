"""CLI plumbing without training: option parsing and defaults, flags -> TrainConfig, error exit path,
peer-rank silence and result printing. Everything here runs in milliseconds (no model, no data)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer import cli
from trainer.config import TrainConfig
from trainer.errors import DataError, DivergenceError, PreflightError
from trainer.regimes import REGIMES

REQUIRED = ["--dataset", "d", "--tokenizer", "t", "--run-dir", "r"]


def parse(*extra: str) -> dict:
    ctx = cli.pretrain.make_context("pretrain", [*REQUIRED, *extra])
    return dict(ctx.params)


def test_pretrain_option_defaults() -> None:
    assert parse() == {
        "dataset": "d", "tokenizer": "t", "run_dir": "r", "synthetic": False, "mode": "from-scratch",
        "lr": None, "warmup_steps": None, "target_val_loss": None, "vocab_size": None, "num_steps": 200,
        "steps_per_epoch": 50, "batch_size": 8, "seq_length": 128, "model": "tiny", "seed": 0,
        "device": "auto", "allow_shard_cycle": False, "resume": False, "patience": None,
        "grad_clip": None, "weight_decay": None, "eval_batches": None, "compile": False, "as_json": False,
        "config_file": None,
    }  # fmt: skip


def test_defaults_resolve_to_the_documented_config() -> None:
    params = parse()
    params.pop("as_json")
    cfg = cli.resolve_pretrain_config(params)
    # The CLI defaults and TrainConfig's defaults are one and the same run (from-scratch regime).
    assert cfg == TrainConfig(dataset="d", tokenizer="t", run_dir="r")
    scratch = REGIMES["from-scratch"]
    assert (cfg.lr, cfg.warmup_steps, cfg.target_val_loss) == (
        scratch.lr, scratch.warmup_steps, scratch.target_val_loss)  # fmt: skip
    assert (cfg.grad_clip, cfg.weight_decay, cfg.eval_batches, cfg.patience) == (1.0, 0.1, 16, None)


def test_every_flag_reaches_the_config() -> None:
    params = parse(
        "--synthetic", "--mode", "finetune", "--lr", "0.01", "--warmup-steps", "7",
        "--target-val-loss", "1.5", "--vocab-size", "300", "--num-steps", "11", "--steps-per-epoch", "3",
        "--batch-size", "5",
        "--seq-length", "17", "--model", "small", "--seed", "9", "--device", "cpu", "--allow-shard-cycle",
        "--resume", "--patience", "2", "--grad-clip", "0.5", "--weight-decay", "0.01", "--eval-batches", "4",
        "--compile", "--json",
    )  # fmt: skip
    assert params.pop("as_json") is True
    assert cli.resolve_pretrain_config(params) == TrainConfig(
        dataset="d", tokenizer="t", run_dir="r", synthetic=True, mode="finetune", lr=0.01, warmup_steps=7,
        target_val_loss=1.5, vocab_size=300, num_steps=11, steps_per_epoch=3, batch_size=5, seq_length=17,
        model="small", seed=9, device="cpu", allow_shard_cycle=True, resume=True, grad_clip=0.5,
        weight_decay=0.01, patience=2, eval_batches=4, compile=True,
    )  # fmt: skip


def test_mode_sets_the_regime_and_explicit_flags_win_field_by_field() -> None:
    ft = REGIMES["finetune"]
    cfg = cli.resolve_pretrain_config(parse("--mode", "finetune"))
    assert (cfg.mode, cfg.lr, cfg.warmup_steps, cfg.target_val_loss) == (
        "finetune", ft.lr, ft.warmup_steps, ft.target_val_loss)  # fmt: skip
    cfg = cli.resolve_pretrain_config(parse("--mode", "finetune", "--lr", "0.02"))
    assert (cfg.lr, cfg.warmup_steps, cfg.target_val_loss) == (0.02, ft.warmup_steps, ft.target_val_loss)
    cfg = cli.resolve_pretrain_config(parse("--mode", "finetune", "--warmup-steps", "0"))
    assert (cfg.lr, cfg.warmup_steps, cfg.target_val_loss) == (ft.lr, 0, ft.target_val_loss)
    cfg = cli.resolve_pretrain_config(parse("--mode", "finetune", "--target-val-loss", "0"))
    assert (cfg.lr, cfg.warmup_steps, cfg.target_val_loss) == (ft.lr, ft.warmup_steps, 0.0)


def test_resolve_pretrain_config_fills_missing_params_with_defaults() -> None:
    # A caller that passes only the paths (e.g. a script, not click) gets the default run, not an error.
    cfg = cli.resolve_pretrain_config({"dataset": Path("d"), "tokenizer": Path("t"), "run_dir": Path("r")})
    assert cfg == TrainConfig(dataset="d", tokenizer="t", run_dir="r")
    cfg = cli.resolve_pretrain_config({"dataset": "d", "tokenizer": "t", "run_dir": "r", "mode": None})
    assert cfg.mode == "from-scratch"


def test_invalid_config_is_a_usage_error_naming_the_field() -> None:
    res = CliRunner().invoke(cli.main, ["pretrain", *REQUIRED, "--grad-clip", "0"])
    assert res.exit_code == 2
    assert "grad_clip must be > 0, got 0.0" in res.stderr and "Traceback" not in res.output


BAD_FLAGS = [["--seq-length", "0"], ["--vocab-size", "1"], ["--warmup-steps", "-1"], ["--patience", "0"],
             ["--eval-batches", "0"], ["--model", "huge"]]  # fmt: skip


@pytest.mark.parametrize("argv", BAD_FLAGS)
def test_out_of_range_flags_are_usage_errors(argv: list[str]) -> None:
    res = CliRunner().invoke(cli.main, ["pretrain", *REQUIRED, *argv])
    assert res.exit_code == 2 and argv[0] in res.stderr


@pytest.mark.parametrize(("rank", "peer"), [(None, False), ("0", False), (" 0 ", False), ("", False),
                                            ("1", True), ("3", True)])  # fmt: skip
def test_peer_rank(monkeypatch: pytest.MonkeyPatch, rank: str | None, peer: bool) -> None:
    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:
        monkeypatch.setenv("RANK", rank)
    assert cli._peer_rank() is peer


def test_call_returns_the_body_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli._call(lambda: 42) == 42
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [(DataError("manifest.json is missing", path="ds"), 8, "error: ds: manifest.json is missing\n"),
     (DivergenceError("[GATE-TRAIN-005] diverged", gate="GATE-TRAIN-005"), 5,
      "error: [GATE-TRAIN-005] diverged\n"),
     (PreflightError("too few tokens", gate="GATE-TRAIN-BUDGET"), 7, "error: too few tokens\n")],
)  # fmt: skip
def test_call_turns_a_trainer_error_into_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error, code: int, message: str
) -> None:
    monkeypatch.delenv("RANK", raising=False)

    def body() -> None:
        raise error

    with pytest.raises(SystemExit) as exc:
        cli._call(body)
    assert exc.value.code == code
    assert capsys.readouterr() == ("", message)  # stderr only, no traceback


def test_call_on_a_peer_rank_exits_silently(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RANK", "2")

    def body() -> None:
        raise DataError("shard truncated")

    with pytest.raises(SystemExit) as exc:
        cli._call(body)
    assert exc.value.code == 8 and capsys.readouterr() == ("", "")


def test_call_lets_a_bug_through() -> None:
    def body() -> None:
        raise ValueError("a bug, not a user error")

    with pytest.raises(ValueError, match="a bug"):
        cli._call(body)


RESULT = {"status": "NOT_CONVERGED", "exit_code": 3, "reason": "best val 3.4 > target 3.0"}


def _run_dir(tmp_path: Path, result: dict | None) -> TrainConfig:
    if result is not None:
        (tmp_path / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return TrainConfig(dataset="d", tokenizer="t", run_dir=str(tmp_path))


@pytest.mark.parametrize("as_json", [False, True])
def test_print_result_without_a_result_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    cli._print_result(_run_dir(tmp_path, None), as_json)
    assert capsys.readouterr() == ("", "")


def test_print_result_summary_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli._print_result(_run_dir(tmp_path, RESULT), False)
    assert capsys.readouterr() == ("", "NOT_CONVERGED (exit 3): best val 3.4 > target 3.0\n")


def test_print_result_json_is_the_file_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli._print_result(_run_dir(tmp_path, RESULT), True)
    out, err = capsys.readouterr()
    assert out == json.dumps(RESULT, indent=2) + "\n" and err == ""
    assert json.loads(out) == RESULT


def test_print_result_reads_utf8_whatever_the_locale(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # result.json is written as UTF-8; a box whose default text encoding is cp1252 (Windows) must not
    # garble it. pathlib resolves encoding=None through io.text_encoding, so that is where to simulate it.
    monkeypatch.setattr(io, "text_encoding", lambda encoding, stacklevel=2: encoding or "cp1252")
    result = {**RESULT, "reason": "val ≥ target · ünïcode"}
    cfg = _run_dir(tmp_path, result)
    (tmp_path / "result.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    cli._print_result(cfg, False)
    assert capsys.readouterr().err == "NOT_CONVERGED (exit 3): val ≥ target · ünïcode\n"
    cli._print_result(cfg, True)
    assert json.loads(capsys.readouterr().out)["reason"] == "val ≥ target · ünïcode"
