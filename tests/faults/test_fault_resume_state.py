"""`--resume` from damaged or edited checkpoint metadata: a clear DATA_ERROR naming the file, never a
traceback, and never a run that silently continues from values nobody wrote.

One tiny run killed after its epoch-1 checkpoint is copied per case; the case edits one metadata file
and resumes through the CLI. Edits either leave metadata_sha256 as it was (what a careless edit does:
the checksum refuses it) or recompute it (a careful forger: the field checks behind it refuse it).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from faultkit import clean_exit, edit_metadata, invoke, pretrain_argv, result, temps_left

from trainer import loop
from trainer.config import TrainConfig


class Killed(Exception):
    """Raised from the event hook after a checkpoint: the run stops with no result.json."""


@pytest.fixture(scope="module")
def killed_run(tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path_factory) -> Path:
    """A run dir holding the checkpoints of epochs 0 and 1 of 3, no result.json."""
    run_dir = tmp_path_factory.mktemp("killed") / "run"
    argv = pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir)
    cfg = TrainConfig(dataset=str(tiny_dataset_dir), tokenizer=str(tiny_tokenizer_dir), run_dir=str(run_dir),
                      num_steps=6, steps_per_epoch=2, batch_size=2, seq_length=16, device="cpu",
                      eval_batches=1)  # fmt: skip
    assert argv[argv.index("--num-steps") + 1] == "6"  # the same flags as pretrain_argv

    def hook(rec: dict) -> None:
        if rec.get("event") == "checkpoint" and rec["epoch"] == 1:
            raise Killed

    with pytest.raises(Killed):
        loop.run(cfg, events=hook)
    return run_dir


@pytest.fixture
def run_copy(killed_run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(killed_run, dst)
    cfg = TrainConfig.load(dst / "config.json")
    (dst / "config.json").write_text(cfg.replace(run_dir=str(dst)).to_json())  # the run dir moved
    return dst


def _resume(run_dir: Path, tok: Path, data: Path):
    return invoke(*pretrain_argv(tok, data, run_dir), "--resume")


def _set(key: str, value) -> Callable[[dict], None]:
    def edit(meta: dict) -> None:
        meta[key] = value

    return edit


def _drop(key: str) -> Callable[[dict], None]:
    return lambda meta: meta.pop(key)


def _rng(part: str, change: Callable) -> Callable[[dict], None]:
    def edit(meta: dict) -> None:
        meta["rng_state"][part] = change(meta["rng_state"][part])

    return edit


CASES = {
    # name: (epoch edited, edit, rechecksum, what the message must say)
    "step-edited": (1, _set("step", 3), False, "modified after it was written"),
    "tokens-seen-edited": (1, _set("tokens_seen", 1), False, "modified after it was written"),
    "val-loss-edited": (0, _set("val_loss", 0.5), False, "modified after it was written"),
    "checksum-removed": (1, _drop("metadata_sha256"), False, "no metadata_sha256"),
    "val-loss-missing": (1, _drop("val_loss"), True, "val_loss must be a finite number, got None"),
    "val-loss-abc": (0, _set("val_loss", "abc"), True, "val_loss must be a finite number, got 'abc'"),
    "step-negative": (1, _set("step", -4), True, "step must be an integer >= 0"),
    "model-file-escapes": (
        1,
        _set("model_file", "../../x"),
        True,
        "model_file must be 'epoch-001.safetensors'",
    ),
    "optimizer-file-escapes": (1, _set("optimizer_file", "/etc/passwd"), True, "optimizer_file must be"),
    "torch-rng-shortened": (1, _rng("torch", lambda s: s[:-8]), True, "no usable resume state"),
    "torch-rng-garbled": (1, _rng("torch", lambda s: "!!" + s[2:]), True, "no usable resume state"),
    "python-rng-shortened": (1, _rng("python", lambda s: [s[0], s[1][:-3], s[2]]), True, "wrong length"),
    "numpy-rng-shortened": (1, _rng("numpy", lambda s: [s[0], s[1][:100], *s[2:]]), True, "624"),
    "rng-not-a-list": (1, _rng("python", lambda s: "abc"), True, "no usable resume state"),
    "stream-state-garbled": (1, _set("stream_state", {"position": "x"}), True, "stream"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_metadata_is_a_clean_data_error(
    case: str, run_copy: Path, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path
) -> None:
    epoch, edit, rechecksum, needle = CASES[case]
    meta_path = run_copy / "ckpt" / f"epoch-{epoch:03d}.metadata.json"
    edit_metadata(meta_path, edit, rechecksum=rechecksum)
    res = _resume(run_copy, tiny_tokenizer_dir, tiny_dataset_dir)
    line = clean_exit(res, 8, needle)
    assert line.startswith(f"error: {meta_path}: "), line  # names the file
    assert result(run_copy)["status"] == "DATA_ERROR"  # the killed run had no result: now it has one
    assert [json.loads(x).get("step") for x in (run_copy / "train.jsonl").read_text().splitlines()][-1] == 4


def test_untouched_copy_resumes(run_copy: Path, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path) -> None:
    """The control: the same copy, unedited, resumes and finishes (so each case above fails on its edit)."""
    assert _resume(run_copy, tiny_tokenizer_dir, tiny_dataset_dir).exit_code in (0, 3)
    assert result(run_copy)["steps"] == 6


def test_stale_temps_of_ours_are_removed_others_kept(
    run_copy: Path, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path
) -> None:
    ours = [
        run_copy / "ckpt" / ".epoch-002.safetensors.k3j_x9a0.trainer.tmp",
        run_copy / ".result.json.abcdefgh.trainer.tmp",
    ]
    theirs = [
        run_copy / "notes.tmp",
        run_copy / "ckpt" / ".epoch-002.safetensors.abc.tmp",  # not our pattern (8 chars + our suffix)
        run_copy / "x.trainer.tmp",
    ]
    for path in ours + theirs:
        path.write_text("stale")
    assert _resume(run_copy, tiny_tokenizer_dir, tiny_dataset_dir).exit_code in (0, 3)
    assert [p for p in ours if p.exists()] == []
    assert all(p.read_text() == "stale" for p in theirs)
    assert temps_left(run_copy) == []


def test_failed_resume_of_a_finished_run_keeps_its_result(
    tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    assert invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir)).exit_code in (0, 3)
    good = (run_dir / "result.json").read_bytes()
    edit_metadata(run_dir / "ckpt" / "epoch-002.metadata.json", _set("step", 1), rechecksum=False)
    res = _resume(run_dir, tiny_tokenizer_dir, tiny_dataset_dir)
    clean_exit(res, 8, "modified after it was written", "result.json of the run is unchanged")
    assert (run_dir / "result.json").read_bytes() == good


def test_resume_accepts_another_spelling_of_the_same_paths(
    tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config.json holds the relative spelling; --resume gives absolute ones (and a trailing slash)."""
    work = tmp_path / "work"
    shutil.copytree(tiny_dataset_dir, work / "data")
    shutil.copytree(tiny_tokenizer_dir, work / "tok")
    monkeypatch.chdir(work)
    first = invoke(*pretrain_argv(Path("tok"), Path("data"), Path("run")))
    assert first.exit_code in (0, 3), first.stderr
    absolute = pretrain_argv(work / "tok", Path(f"{work / 'data'}/"), work / "run")
    res = invoke(*absolute, "--resume")
    assert res.exit_code == first.exit_code, res.stderr
    other = pretrain_argv(work / "tok", tiny_dataset_dir, work / "run")  # really another dataset
    clean_exit(invoke(*other, "--resume"), 7, "dataset: run has 'data'")
