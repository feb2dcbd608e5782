"""A run dir that would overwrite the system, the inputs or someone's files is refused before a write.

`trainer pretrain` writes config.json, train.jsonl, ckpt/ and result.json into --run-dir (and, on
resume, removes temp files of its own there). So --run-dir must not be `/`, a system directory, the
home directory, the dataset or tokenizer directory (or inside / around them), nor a non-empty folder
that holds no run. Each refusal is DATA_ERROR (8) naming the path, and nothing is written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main


def pretrain(tok: Path, data: Path, run_dir: str | Path, **kw):
    argv = ["pretrain", "--dataset", str(data), "--tokenizer", str(tok), "--run-dir", str(run_dir),
            "--num-steps", "2", "--steps-per-epoch", "1", "--batch-size", "2", "--seq-length", "16",
            "--device", "cpu", "--eval-batches", "1"]  # fmt: skip
    return CliRunner().invoke(main, argv, **kw)


def refused(res, *needles: str) -> None:
    assert res.exit_code == 8, (res.exit_code, res.stderr, res.exception)
    assert "Traceback" not in res.stderr and res.stderr.startswith("error: "), res.stderr
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr)


@pytest.mark.parametrize(
    ("run_dir", "needle"),
    [
        ("/", "a system directory"),
        ("/etc", "a system directory"),
        ("/usr", "a system directory"),
        ("/var/tmp", "a system directory"),
        ("/etc/trainer-run", "inside the system directory /etc"),
        ("/proc/self/run", "inside the system directory /proc"),
        ("/usr/lib/x/run", "inside the system directory /usr/lib"),
        ("/tmp/../etc", "a system directory"),  # resolved, not compared as text
    ],
)
def test_system_directories_are_refused(tiny_tokenizer_dir, tiny_dataset_dir, run_dir: str, needle) -> None:
    before = sorted(os.listdir("/"))
    refused(pretrain(tiny_tokenizer_dir, tiny_dataset_dir, run_dir), needle, "choose a new directory")
    assert sorted(os.listdir("/")) == before
    assert not Path("/config.json").exists() and not Path("/etc/trainer-run").exists()


def test_home_directory_is_refused(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    res = pretrain(tiny_tokenizer_dir, tiny_dataset_dir, "~", env={"HOME": str(home)})
    refused(res, "your home directory")
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "how"),
    [
        (lambda d: d, "is the --dataset directory"),
        (lambda d: d / "run", "lies inside the --dataset directory"),
        (lambda d: d.parent, "contains the --dataset directory"),
    ],
)
def test_run_dir_overlapping_the_dataset_is_refused(tiny_tokenizer_dir, tiny_dataset_copy: Path, where, how):
    before = sorted(p.name for p in tiny_dataset_copy.iterdir())
    refused(pretrain(tiny_tokenizer_dir, tiny_dataset_copy, where(tiny_dataset_copy)), how)
    assert sorted(p.name for p in tiny_dataset_copy.iterdir()) == before


def test_run_dir_equal_to_the_tokenizer_is_refused(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path) -> None:
    tok = shutil.copytree(tiny_tokenizer_dir, tmp_path / "tok")  # a copy: a regression would write here
    spelled = Path(os.path.relpath(tok))  # another spelling of the same folder
    refused(pretrain(tok, tiny_dataset_dir, spelled), "is the --tokenizer directory")


def test_non_empty_folder_without_a_run_is_refused(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.yaml").write_text("mine")
    (project / "README").write_text("mine")
    refused(pretrain(tiny_tokenizer_dir, tiny_dataset_dir, project), "is not empty and holds no run")
    assert sorted(p.name for p in project.iterdir()) == ["README", "config.yaml"]


def test_an_empty_existing_folder_is_fine(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path) -> None:
    (tmp_path / "run").mkdir()
    assert pretrain(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path / "run").exit_code in (0, 3)
