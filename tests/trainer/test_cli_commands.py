"""The command bodies with their collaborators replaced: how `pretrain` drives a run (writer vs peer rank,
result printing, exit codes, leaving the process group), and what `qa`, `tokenizer train` and
`data prepare` print. No model compute: the end-to-end runs live in test_trainer_cli.py."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trainer import cli, distributed
from trainer.cli import main
from trainer.distributed import DistEnv
from trainer.errors import DataError, DivergenceError
from trainer.qa import QaCheck, QaReport
from trainer.status import RunStatus

EPOCH = {"event": "epoch", "epoch": 1, "step": 4, "train_loss": 5.0, "val_loss": 5.25, "val_ppl": 190.57,
         "wall_seconds": 0.5, "drive": "real"}  # fmt: skip


class FakeRun:
    """Stands in for trainer.distributed: records what the CLI passed and how it left the group."""

    def __init__(self, status: RunStatus = RunStatus.NOT_CONVERGED, error: Exception | None = None) -> None:
        self.status, self.error = status, error
        self.calls: list[dict[str, Any]] = []
        self.finished: list[bool] = []

    def run_ddp(self, cfg, *, events=None, env=None, leave=True):
        self.calls.append({"cfg": cfg, "events": events, "env": env, "leave": leave})
        if events is not None:
            events(EPOCH)
            events({"event": "cycle", "message": "cycling the shards (pass 2)"})
        Path(cfg.run_dir).mkdir(parents=True, exist_ok=True)
        result = {"status": self.status.label, "exit_code": self.status.exit_code, "reason": "scripted"}
        (Path(cfg.run_dir) / "result.json").write_text(json.dumps(result) + "\n", encoding="utf-8")
        if self.error is not None:
            raise self.error
        return type("Result", (), {"status": self.status})()

    def finish(self, *, sync: bool = True) -> None:
        self.finished.append(sync)


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    out = {"dataset": tmp_path / "data", "tokenizer": tmp_path / "tok", "run": tmp_path / "run"}
    out["dataset"].mkdir()
    out["tokenizer"].mkdir()
    return out


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    def install(env: DistEnv | None = None, **kwargs: Any) -> FakeRun:
        run = FakeRun(**kwargs)
        monkeypatch.setattr(distributed, "run_ddp", run.run_ddp)
        monkeypatch.setattr(distributed, "finish", run.finish)
        monkeypatch.setattr(distributed, "detect", lambda: env)
        if env is None:
            monkeypatch.delenv("RANK", raising=False)
        else:
            monkeypatch.setenv("RANK", str(env.rank))
        return run

    return install


def pretrain(dirs: dict[str, Path], *extra: str):
    argv = ["pretrain", "--dataset", str(dirs["dataset"]), "--tokenizer", str(dirs["tokenizer"]),
            "--run-dir", str(dirs["run"]), "--num-steps", "11", "--batch-size", "4", *extra]  # fmt: skip
    return CliRunner().invoke(main, argv)


def test_single_process_run_reports_and_exits_with_the_status(fake, dirs) -> None:
    run = fake(status=RunStatus.NOT_CONVERGED)
    res = pretrain(dirs)
    assert res.exit_code == 3 and res.stdout == ""
    (call,) = run.calls
    assert call["env"] is None and call["leave"] is False and call["cfg"].num_steps == 11
    assert res.stderr == (
        "epoch 1 (step 4/11): train_loss 5.0000  val_loss 5.2500  val_ppl 190.57  0.5s  [real]\n"
        "cycling the shards (pass 2)\n"
        "NOT_CONVERGED (exit 3): scripted\n"
    )
    assert run.finished == [True]


def test_json_prints_result_json_on_stdout(fake, dirs) -> None:
    fake(status=RunStatus.OK)
    res = pretrain(dirs, "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout) == {"status": "OK", "exit_code": 0, "reason": "scripted"}
    assert "OK (exit 0)" not in res.stderr


def test_a_trainer_error_still_prints_the_result_then_the_error(fake, dirs) -> None:
    error = DivergenceError("[GATE-TRAIN-005] epoch 2 diverged", gate="GATE-TRAIN-005")
    run = fake(status=RunStatus.DIVERGENCE, error=error)
    res = pretrain(dirs)
    assert res.exit_code == 5
    assert res.stderr.endswith("DIVERGENCE (exit 5): scripted\nerror: [GATE-TRAIN-005] epoch 2 diverged\n")
    assert run.finished == [True]  # a guarded stop is orderly: every rank reaches the barrier


def test_json_after_a_trainer_error_still_prints_result_json(fake, dirs) -> None:
    fake(status=RunStatus.NONFINITE, error=DataError("boom"))
    res = pretrain(dirs, "--json")
    assert res.exit_code == 8
    assert json.loads(res.stdout) == {"status": "NONFINITE", "exit_code": 6, "reason": "scripted"}
    assert res.stderr.endswith("error: boom\n") and "NONFINITE (exit 6)" not in res.stderr


def test_progress_on_a_terminal_is_a_bar_with_lines_above_it(
    fake, dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CliRunner's streams are never a tty, so run the command body against a stderr that says it is.
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake(status=RunStatus.OK)
    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    params = cli.pretrain.make_context("pretrain", ["--dataset", str(dirs["dataset"]), "--tokenizer",
                                                    str(dirs["tokenizer"]), "--run-dir", str(dirs["run"]),
                                                    "--num-steps", "11"]).params  # fmt: skip
    params.pop("as_json")
    with pytest.raises(SystemExit) as exc:
        cli._pretrain(False, params)
    assert exc.value.code == 0
    text = err.getvalue()
    assert text.startswith("\rpretrain:   0%")  # tqdm's bar, drawn in place
    assert "\nepoch 1 (step 4/11)" in text.replace("\r", "\n")  # written above the bar, on its own line
    assert text.endswith("OK (exit 0): scripted\n")  # the verdict after the bar was closed


def test_a_bug_skips_the_barrier(fake, dirs) -> None:
    run = fake(error=RuntimeError("a bug in the loop"))
    res = pretrain(dirs)
    assert isinstance(res.exception, RuntimeError) and res.exit_code == 1
    assert run.finished == [False]  # a peer may be stuck in a collective: do not wait for it


def test_rank_zero_of_a_group_is_the_writer(fake, dirs) -> None:
    run = fake(env=DistEnv(rank=0, world_size=2, local_rank=0), status=RunStatus.OK)
    res = pretrain(dirs)
    assert res.exit_code == 0 and res.stderr.endswith("OK (exit 0): scripted\n")
    assert run.calls[0]["env"] == DistEnv(0, 2, 0) and run.calls[0]["events"] is not None


def test_a_peer_rank_trains_silently_with_the_same_exit(fake, dirs) -> None:
    run = fake(env=DistEnv(rank=1, world_size=2, local_rank=1), status=RunStatus.NOT_CONVERGED)
    res = pretrain(dirs, "--json")
    assert res.exit_code == 3 and res.stdout == "" and res.stderr == ""
    assert run.calls[0]["events"] is None and run.finished == [True]


def test_a_peer_rank_error_is_silent(fake, dirs) -> None:
    run = fake(env=DistEnv(rank=1, world_size=2, local_rank=1), error=DataError("shard truncated"))
    res = pretrain(dirs)
    assert res.exit_code == 8 and res.output == "" and res.stderr == ""
    assert run.finished == [True]


def test_global_batch_not_divisible_by_the_world_is_a_usage_error(fake, dirs) -> None:
    run = fake(env=DistEnv(rank=0, world_size=3, local_rank=0))
    res = pretrain(dirs)  # --batch-size 4 over 3 ranks
    assert res.exit_code == 2 and "--batch-size 4 is the GLOBAL batch" in res.stderr
    assert run.calls == []


def test_partial_launcher_environment_exits_7(monkeypatch: pytest.MonkeyPatch, dirs) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    for key in ("RANK", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    res = pretrain(dirs)
    assert res.exit_code == 7 and "[GATE-DDP-LAUNCH] WORLD_SIZE set but RANK, LOCAL_RANK not" in res.stderr
    assert not dirs["run"].exists()


@pytest.mark.parametrize("flag", ["--dataset", "--tokenizer"])
def test_a_missing_input_directory_exits_8_naming_flag_and_path(fake, dirs, flag: str) -> None:
    run = fake()
    key = flag.removeprefix("--")
    dirs[key].rmdir()
    res = pretrain(dirs)
    assert res.exit_code == 8
    assert res.stderr == f"error: {dirs[key]}: {flag}: not a directory\n"
    assert run.calls == [] and run.finished == [True]


# ------------------------------------------------------------------------------------------------ qa


@pytest.fixture
def qa_report(monkeypatch: pytest.MonkeyPatch):
    import trainer.qa

    def install(*checks: QaCheck) -> None:
        monkeypatch.setattr(trainer.qa, "qa_run", lambda run_dir: QaReport(run_dir, list(checks)))

    return install


PASS = QaCheck("records_finite", True, "8 records")
FAIL = QaCheck("loss_decreases", False, "last 5.1 > first 5.0")
FAIL2 = QaCheck("val_matches_checkpoint", False, "4.1 != 4.2")
NA = QaCheck("resume_continuity", None, "no resume")


def test_qa_lists_every_check_and_exits_1_naming_failures(qa_report) -> None:
    qa_report(PASS, FAIL, NA)
    res = CliRunner().invoke(main, ["qa", "somewhere"])
    assert res.exit_code == 1
    assert res.stdout == (
        "PASS records_finite: 8 records\nFAIL loss_decreases: last 5.1 > first 5.0\n"
        "N/A  resume_continuity: no resume\n1/2 checks passed (1 not applicable)\n"
    )
    assert res.stderr == "qa failed: loss_decreases\n"


def test_qa_all_passed_exits_0(qa_report) -> None:
    qa_report(PASS, NA)
    res = CliRunner().invoke(main, ["qa", "somewhere"])
    assert res.exit_code == 0 and res.stderr == ""
    assert res.stdout.endswith("1/1 checks passed (1 not applicable)\n")


def test_qa_names_every_failed_check(qa_report) -> None:
    qa_report(FAIL, PASS, FAIL2)
    res = CliRunner().invoke(main, ["qa", "somewhere"])
    assert res.exit_code == 1 and res.stderr == "qa failed: loss_decreases, val_matches_checkpoint\n"


def test_qa_with_nothing_applicable_fails(qa_report) -> None:
    qa_report(NA)
    res = CliRunner().invoke(main, ["qa", "somewhere"])
    assert res.exit_code == 1 and res.stderr == "qa failed: no applicable checks\n"


def test_qa_json(qa_report) -> None:
    qa_report(PASS, FAIL)
    res = CliRunner().invoke(main, ["qa", "somewhere", "--json"])
    assert res.exit_code == 1
    assert res.stdout == json.dumps(QaReport("somewhere", [PASS, FAIL]).to_dict(), indent=2) + "\n"
    assert res.stderr == "qa failed: loss_decreases\n"


def test_qa_of_a_missing_run_dir_exits_8(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["qa", str(tmp_path / "nowhere")])
    assert res.exit_code == 8 and str(tmp_path / "nowhere") in res.stderr and res.stdout == ""


# ----------------------------------------------------------------------------- tokenizer / data


def test_tokenizer_train_and_data_prepare_report_what_they_wrote(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        text = "".join(f"def f{i}_{j}(x):\n    return x * {j}\n" for j in range(60))
        (corpus / f"m{i}.py").write_text(text)
    tok = tmp_path / "tok"
    res = CliRunner().invoke(main, ["tokenizer", "train", "--corpus", str(corpus), "--vocab-size", "300",
                                    "--out", str(tok), "--max-files", "2"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert res.stdout == f"tokenizer: 300 ids from 2 files -> {tok}\n"
    data = tmp_path / "data"
    res = CliRunner().invoke(main, ["data", "prepare", "--corpus", str(corpus), "--tokenizer", str(tok),
                                    "--out", str(data), "--max-files", "2"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    manifest = json.loads((data / "manifest.json").read_text())
    assert sum(manifest["documents"].values()) == 2  # --max-files reached the preparation
    assert res.stdout == f"dataset -> {data} ({len(manifest['shards'])} shards)\n"


def test_tokenizer_train_on_a_missing_corpus_exits_8(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["tokenizer", "train", "--corpus", str(tmp_path / "none"),
                                    "--vocab-size", "300", "--out", str(tmp_path / "tok")])  # fmt: skip
    assert res.exit_code == 8 and res.stderr.startswith("error: ") and "none" in res.stderr
    assert not (tmp_path / "tok").exists()


def test_data_prepare_with_a_missing_tokenizer_exits_8(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["data", "prepare", "--corpus", str(tmp_path), "--tokenizer",
                                    str(tmp_path / "no-tok"), "--out", str(tmp_path / "data")])  # fmt: skip
    assert res.exit_code == 8 and "no-tok" in res.stderr and res.stdout == ""


# ── Ctrl-C and OS errors end with a status, never a traceback ─────────────────────────────────────────


def test_an_interrupted_run_exits_130_and_skips_the_barrier(fake, dirs) -> None:
    from trainer.errors import Interrupted

    run = fake(status=RunStatus.INTERRUPTED, error=Interrupted("interrupted (Ctrl-C) after step 2 of 11"))
    res = pretrain(dirs)
    assert res.exit_code == 130 and isinstance(res.exception, SystemExit)
    assert res.stderr.endswith("error: interrupted (Ctrl-C) after step 2 of 11\n")
    assert run.finished == [False]  # a peer may sit in a collective after Ctrl-C


def test_ctrl_c_outside_the_loop_exits_130_and_skips_the_barrier(fake, dirs) -> None:
    run = fake(error=KeyboardInterrupt())
    res = pretrain(dirs)
    assert res.exit_code == 130 and res.stderr.endswith("error: interrupted (Ctrl-C); no output was left "
                                                        "half-written\n")  # fmt: skip
    assert "Aborted" not in res.output and run.finished == [False]


def test_an_os_error_nobody_wrapped_exits_8_naming_the_file(fake, dirs) -> None:
    run = fake(error=PermissionError(13, "Permission denied", "/x/run/train.jsonl"))
    res = pretrain(dirs)
    assert res.exit_code == 8 and isinstance(res.exception, SystemExit)
    assert res.stderr.endswith(
        "error: /x/run/train.jsonl: I/O error: Permission denied; no permission: choose a location you can "
        "write to\n"
    )
    assert run.finished == [True]


def test_an_os_error_on_a_peer_rank_is_silent(fake, dirs) -> None:
    fake(env=DistEnv(rank=1, world_size=2, local_rank=1), error=OSError(28, "No space left on device"))
    res = pretrain(dirs)
    assert res.exit_code == 8 and res.stderr == ""


def test_tokenizer_train_passes_force_and_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from trainer import tokenizer

    seen: list[bool] = []

    def fake_train(files, vocab_size, out, *, force=False):
        seen.append(force)
        raise KeyboardInterrupt

    monkeypatch.setattr(tokenizer, "train_tokenizer", fake_train)
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("hello")
    argv = [
        "tokenizer",
        "train",
        "--corpus",
        str(corpus),
        "--vocab-size",
        "300",
        "--out",
        str(tmp_path / "t"),
    ]
    for extra in ([], ["--force"]):
        res = CliRunner().invoke(main, [*argv, *extra])
        assert res.exit_code == 130 and "error: interrupted (Ctrl-C)" in res.stderr
    assert seen == [False, True]
