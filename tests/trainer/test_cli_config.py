"""`trainer pretrain --config FILE`, `trainer --version`, help text on every option, completion."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from trainer import cli
from trainer.config import TrainConfig


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[TrainConfig]:
    """Record the TrainConfig the real `_pretrain` resolves; the run itself then stops at the missing
    --dataset directory (exit 8): these tests are about which values reach the config."""
    seen: list[TrainConfig] = []
    real = cli.resolve_pretrain_config

    def record(params: dict) -> TrainConfig:
        seen.append(real(params))
        return seen[-1]

    monkeypatch.setattr(cli, "resolve_pretrain_config", record)
    return seen


RESOLVED = 8  # the config resolved, then the body refused the (nonexistent) dataset directory


def invoke(*argv: str):
    return CliRunner().invoke(cli.main, ["pretrain", *argv])


def write(tmp_path: Path, text: str, name: str = "run.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_toml_values_and_flags_override_them(tmp_path: Path, captured) -> None:
    cfg = write(tmp_path, 'dataset = "d"\ntokenizer = "t"\nrun-dir = "r"\nnum_steps = 40\nbatch_size = 4\n'
                'model = "small"\nallow_shard_cycle = true\nlr = 0.001\n')  # fmt: skip
    res = invoke("--config", cfg, "--num-steps", "60", "--run-dir", "other")
    assert res.exit_code == RESOLVED and "--dataset: not a directory" in res.stderr
    got = captured[0]
    assert (got.num_steps, got.run_dir) == (60, "other")  # flags win
    assert (got.batch_size, got.model, got.allow_shard_cycle, got.lr) == (4, "small", True, 0.001)  # file
    assert got.seq_length == 128  # neither: the option's default


def test_a_flag_equal_to_its_default_still_overrides_the_file(tmp_path: Path, captured) -> None:
    cfg = write(tmp_path, 'dataset = "d"\ntokenizer = "t"\nrun_dir = "r"\nnum_steps = 40\n')
    assert invoke("--config", cfg, "--num-steps", "200").exit_code == RESOLVED
    assert captured[0].num_steps == 200  # given explicitly, though 200 is the default


def test_a_runs_config_json_repeats_the_run(tmp_path: Path, captured) -> None:
    original = TrainConfig(dataset="d", tokenizer="t", run_dir="r1", num_steps=33, steps_per_epoch=11,
                           batch_size=3, seq_length=64, mode="finetune", lr=5e-4, seed=7,
                           patience=2)  # fmt: skip
    cfg = write(tmp_path, original.to_json(), "config.json")
    assert invoke("--config", cfg, "--run-dir", "r2").exit_code == RESOLVED
    assert captured[0] == original.replace(run_dir="r2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("num_step = 4\n", "unknown key 'num_step'; did you mean 'num_steps'?"),
        ("flux = 1\n", "unknown key 'flux'; known keys: allow_shard_cycle"),
        ('num_steps = "12"\n', "key 'num_steps' = '12': must be an integer"),
        ("num_steps = 0\n", "key 'num_steps' = 0: 0 is not in the range x>=1"),
        ('model = "huge"\n', "key 'model' = 'huge'"),
        ("resume = 1\n", "key 'resume' = 1: must be true or false"),
        ("lr = true\n", "key 'lr' = True: must be a number"),
        ("num_steps = \n", "not valid TOML"),
    ],
)
def test_bad_files_are_usage_errors_naming_file_and_key(tmp_path: Path, captured, text: str, message: str):
    cfg = write(tmp_path, 'dataset = "d"\ntokenizer = "t"\nrun_dir = "r"\n' + text)
    res = invoke("--config", cfg)
    assert res.exit_code == 2, res.output
    assert cfg in res.stderr and message in res.stderr
    assert "Traceback" not in res.output and captured == []


def test_bad_json_names_the_line(tmp_path: Path, captured) -> None:
    cfg = write(tmp_path, '{\n  "num_steps": 4,\n  oops\n}\n', "config.json")
    res = invoke("--config", cfg)
    assert res.exit_code == 2 and "line 3: not valid JSON" in res.stderr
    cfg = write(tmp_path, "[1, 2]", "list.json")
    assert "must hold a table of options, not a list" in invoke("--config", cfg).stderr


def test_missing_config_file_and_missing_required_options(tmp_path: Path) -> None:
    res = invoke("--config", str(tmp_path / "absent.toml"))
    assert res.exit_code == 2 and "does not exist" in res.stderr
    cfg = write(tmp_path, 'dataset = "d"\n')
    res = invoke("--config", cfg)
    assert (
        res.exit_code == 2
        and "missing --tokenizer, --run-dir (give it as a flag or in the --config file)" in res.stderr
    )
    assert "missing --dataset, --tokenizer, --run-dir" in invoke().stderr


def test_version() -> None:
    res = CliRunner().invoke(cli.main, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"trainer {version('pv')}\n"


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_option_of_every_command_has_help() -> None:
    missing = [f"{name} {'/'.join(p.opts)}" for name, cmd in _commands(cli.main) for p in cmd.params
               if isinstance(p, click.Option) and not (p.help or "").strip()]  # fmt: skip
    assert missing == []
    assert {name for name, _ in _commands(cli.main)} >= {"pretrain", "qa", "sample", "export", "report"}


def test_bash_completion_script_is_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TRAINER_COMPLETE", "bash_source")
    res = CliRunner().invoke(cli.main, [], prog_name="trainer")
    assert res.exit_code == 0 and "_trainer_completion" in res.stdout


def test_config_file_documented_keys_match_the_options() -> None:
    # Every TrainConfig field can be given in a file (it is an option), so config.json round-trips.
    options = {p.name for p in cli.pretrain.params} - {"config_file", "as_json"}
    assert options == set(json.loads(TrainConfig(dataset="d", tokenizer="t", run_dir="r").to_json()))
