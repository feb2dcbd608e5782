"""A full disk: a clear message naming the file, DATA_ERROR (8), a result.json, no orphan temp files.

Two ways to fill the disk: a real small tmpfs (`mount -t tmpfs -o size=…`, skipped with the reason
where the machine does not allow mounting), and fault injection that works everywhere: the write of one
chosen file fails with ENOSPC (os.fsync of that file, or the safetensors writer's own error).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from faultkit import ckpt_bytes, clean_exit, invoke, losses, pretrain_argv, result, temps_left
from safetensors import SafetensorError

from trainer import checkpoint

FULL = "No space left on device"


# ── a real full disk ──────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def small_disk(tmp_path: Path):
    """Mount a tmpfs of the requested size at a fresh folder; skip where mounting is not allowed."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        where = tmp_path / f"disk-{len(mounted)}"
        where.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no mount command on this machine")
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)  # fmt: skip
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {res.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", str(where)], check=False)


def test_checkpoint_on_a_full_tmpfs(small_disk, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path) -> None:
    disk = small_disk("1m")  # room for config.json and the log, not for a 3.7 MB model checkpoint
    run_dir = disk / "run"
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir))
    clean_exit(res, 8, str(run_dir / "ckpt" / "epoch-000.safetensors"), FULL, "--resume")
    assert result(run_dir)["status"] == "DATA_ERROR"  # the temp is gone, so the small result fits
    assert "epoch-000.safetensors" in result(run_dir)["reason"]
    assert temps_left(disk) == []
    assert list((run_dir / "ckpt").iterdir()) == []  # no half checkpoint either


@pytest.mark.parametrize("command", ["tokenizer", "data"])
def test_tokenizer_and_dataset_on_a_full_tmpfs(
    small_disk, command: str, tiny_tokenizer_dir: Path, tmp_path: Path
) -> None:
    disk = small_disk("16k")  # a 512-id tokenizer or a 30-file dataset is larger
    out = disk / "out"
    if command == "tokenizer":
        argv = ["tokenizer", "train", "--corpus", "stdlib", "--vocab-size", "512", "--max-files", "30"]
    else:
        argv = ["data", "prepare", "--corpus", "stdlib", "--tokenizer", str(tiny_tokenizer_dir),
                "--max-files", "30"]  # fmt: skip
    res = invoke(*argv, "--out", str(out))
    line = clean_exit(res, 8, FULL, "the disk is full", str(out))
    if command == "data":
        assert line.startswith(f"error: {out}/train-00000.bin:"), line  # the shard that did not fit
    assert list(disk.iterdir()) == []  # no staging folder, nothing published


# ── injected ENOSPC (every machine) ───────────────────────────────────────────────────────────────────


def _fail_fsync_of(monkeypatch: pytest.MonkeyPatch, doomed) -> None:
    """os.fsync of a file whose path satisfies `doomed` fails with ENOSPC (Linux: /proc/self/fd)."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd to name the file being synced")
    fsync = os.fsync

    def full_fsync(fd: int) -> None:
        if doomed(Path(os.readlink(f"/proc/self/fd/{fd}"))):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", full_fsync)


def test_full_disk_in_the_model_writer_then_resume(
    monkeypatch: pytest.MonkeyPatch, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    """The safetensors writer's own ENOSPC error (a SafetensorError, not an OSError) at epoch 1; after
    space is freed, --resume finishes the run exactly like one that never failed."""
    argv = pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, tmp_path / "run")
    save_model = checkpoint.save_model

    def full_save_model(model, filename, *args, **kw):
        if "epoch-001" in Path(filename).name:
            Path(filename).write_bytes(b"\0" * 4096)  # part of the file reached the disk
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        return save_model(model, filename, *args, **kw)

    monkeypatch.setattr(checkpoint, "save_model", full_save_model)
    res = invoke(*argv)
    clean_exit(res, 8, "epoch-001.safetensors", FULL)
    run_dir = tmp_path / "run"
    assert result(run_dir)["status"] == "DATA_ERROR"
    assert temps_left(run_dir) == []
    assert sorted(p.name for p in (run_dir / "ckpt").iterdir()) == [
        "epoch-000.metadata.json", "epoch-000.optim.safetensors", "epoch-000.safetensors",
    ]  # fmt: skip

    monkeypatch.undo()  # space freed
    assert invoke(*argv, "--resume").exit_code in (0, 3)
    reference = tmp_path / "reference"
    invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, reference))
    assert losses(run_dir) == losses(reference)
    assert ckpt_bytes(run_dir, 2) == ckpt_bytes(reference, 2)


def test_full_disk_while_writing_checkpoint_metadata(
    monkeypatch: pytest.MonkeyPatch, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    _fail_fsync_of(monkeypatch, lambda p: p.name.startswith(".epoch-000.metadata.json."))
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir))
    clean_exit(res, 8, str(run_dir / "ckpt" / "epoch-000.metadata.json"), FULL)
    assert result(run_dir)["status"] == "DATA_ERROR"
    assert temps_left(run_dir) == []
    assert list((run_dir / "ckpt").iterdir()) == []  # model and optimizer without metadata: removed


def test_full_disk_for_the_result_too_says_so(
    monkeypatch: pytest.MonkeyPatch, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    _fail_fsync_of(monkeypatch, lambda p: p.parent.name == "ckpt" or p.name.startswith(".result.json."))
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir))
    clean_exit(res, 8, "epoch-000", FULL, "the result could not be recorded either", "result.json")
    assert not (run_dir / "result.json").exists()
    assert temps_left(run_dir) == []


def test_full_disk_in_the_run_log(
    monkeypatch: pytest.MonkeyPatch, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path, tmp_path: Path
) -> None:
    """The log file's write fails at step 3 (what a full disk does to a buffered append)."""
    from trainer import runlog

    class FullFile:
        def __init__(self, fh) -> None:
            self.fh = fh

        def write(self, text: str) -> int:
            if '"step": 3,' in text:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.fh.write(text)

        def __getattr__(self, name: str):
            return getattr(self.fh, name)

    init = runlog.RunLog.__init__

    def init_on_a_full_disk(self, path) -> None:
        init(self, path)
        self._fh = FullFile(self._fh)

    monkeypatch.setattr(runlog.RunLog, "__init__", init_on_a_full_disk)
    run_dir = tmp_path / "run"
    res = invoke(*pretrain_argv(tiny_tokenizer_dir, tiny_dataset_dir, run_dir))
    clean_exit(res, 8, str(run_dir / "train.jsonl"), FULL)
    assert result(run_dir)["status"] == "DATA_ERROR"


@pytest.mark.parametrize("command", ["tokenizer", "data"])
def test_full_disk_for_tokenizer_and_dataset_injected(
    monkeypatch: pytest.MonkeyPatch, command: str, tiny_tokenizer_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    if command == "tokenizer":
        argv = ["tokenizer", "train", "--corpus", "stdlib", "--vocab-size", "300", "--max-files", "5"]
        _fail_fsync_of(monkeypatch, lambda p: p.name.startswith(".tokenizer_meta.json."))
        doomed = "tokenizer_meta.json"
    else:
        argv = ["data", "prepare", "--corpus", "stdlib", "--tokenizer", str(tiny_tokenizer_dir),
                "--max-files", "5"]  # fmt: skip
        write_bytes = Path.write_bytes

        def full_write_bytes(self: Path, data: bytes) -> int:
            if self.name == "train-00000.bin":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
            return write_bytes(self, data)

        monkeypatch.setattr(Path, "write_bytes", full_write_bytes)
        doomed = "train-00000.bin"
    res = invoke(*argv, "--out", str(out))
    clean_exit(res, 8, str(out / doomed), FULL)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no staging folder, nothing published
