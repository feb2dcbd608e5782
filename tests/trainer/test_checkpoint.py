"""Checkpoints: safetensors + JSON only, sha-verified, atomic, and --resume equals an uninterrupted run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from trainer import checkpoint, loop
from trainer.config import TrainConfig
from trainer.errors import DataError
from trainer.model import Transformer, model_config
from trainer.real import make_optimizer
from trainer.runlog import read_log

torch.set_num_threads(1)


class Killed(Exception):
    """Stands in for SIGKILL: raised from the event hook, so no result.json is written."""


def make_cfg(tmp: Path, tok: Path, data: Path, name: str, **kw) -> TrainConfig:
    base = dict(dataset=str(data), tokenizer=str(tok), run_dir=str(tmp / name), num_steps=24,
                steps_per_epoch=8, batch_size=4, seq_length=32, device="cpu", eval_batches=2)  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def trained_pair(steps: int = 3):
    torch.manual_seed(0)
    model = Transformer(model_config("tiny", 300, 16))
    opt = make_optimizer(model, 1e-3, 0.1, torch.device("cpu"))
    for _ in range(steps):
        x = torch.randint(0, 300, (2, 16))
        _, loss = model(x, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, opt


def test_round_trip_restores_model_and_optimizer(tmp_path: Path) -> None:
    model, opt = trained_pair()
    meta_path = checkpoint.save_checkpoint(tmp_path, 0, model, opt, {"step": 3})
    model_path, optim_path, _ = checkpoint.ckpt_paths(tmp_path, 0)
    meta = json.loads(meta_path.read_text())
    assert meta["optimizer_state_sha"] == checkpoint.optimizer_state_sha(optim_path)
    assert meta["model_sha256"] == checkpoint.sha256_file(model_path)
    fresh, fresh_opt = trained_pair(steps=0)
    checkpoint.load_checkpoint(meta_path, fresh, fresh_opt)
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert fresh.lm_head.weight is fresh.tok_emb.weight  # tying survives the round trip
    sa, sb = opt.state_dict(), fresh_opt.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for i, per in sa["state"].items():
        for k, v in per.items():
            assert torch.equal(v, sb["state"][i][k])


def test_files_are_safetensors_and_json_not_pickle(tmp_path: Path) -> None:
    model, opt = trained_pair(1)
    checkpoint.save_checkpoint(tmp_path, 0, model, opt, {})
    for path in (tmp_path / "ckpt").iterdir():
        head = path.read_bytes()[:2]
        assert head != b"\x80\x04" and head[:1] != b"\x80", path  # pickle protocol marker
    assert not list((tmp_path / "ckpt").glob(".*"))  # no temp files left


def test_checkpoint_without_metadata_is_ignored(tmp_path: Path) -> None:
    model, opt = trained_pair(1)
    checkpoint.save_checkpoint(tmp_path, 0, model, opt, {})
    checkpoint.save_checkpoint(tmp_path, 1, model, opt, {})
    checkpoint.ckpt_paths(tmp_path, 1)[2].unlink()  # died before the metadata was written
    assert checkpoint.latest_checkpoint(tmp_path)[0] == 0


@pytest.mark.parametrize("which", [0, 1])
def test_truncated_checkpoint_is_a_data_error_naming_the_file(tmp_path: Path, which: int) -> None:
    model, opt = trained_pair(1)
    meta_path = checkpoint.save_checkpoint(tmp_path, 0, model, opt, {})
    victim = checkpoint.ckpt_paths(tmp_path, 0)[which]
    victim.write_bytes(victim.read_bytes()[:1000])
    with pytest.raises(DataError) as err:
        checkpoint.load_checkpoint(meta_path, *trained_pair(0))
    assert victim.name in str(err.value)


def test_truncated_metadata_is_a_data_error(tmp_path: Path) -> None:
    model, opt = trained_pair(1)
    meta_path = checkpoint.save_checkpoint(tmp_path, 0, model, opt, {})
    meta_path.write_text(meta_path.read_text()[:50])
    with pytest.raises(DataError, match=r"epoch-000\.metadata\.json"):
        checkpoint.load_checkpoint(meta_path, *trained_pair(0))


def _kill_after(epoch: int | None = None, step: int | None = None):
    def hook(rec: dict) -> None:
        if epoch is not None and rec.get("event") == "checkpoint" and rec["epoch"] == epoch:
            raise Killed
        if step is not None and "event" not in rec and rec["step"] == step:
            raise Killed

    return hook


@pytest.mark.parametrize("kill", [{"epoch": 1}, {"step": 13}])
def test_resume_reaches_the_same_weights(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, kill) -> None:
    whole = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, "whole")
    loop.run(whole)
    cut = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, "cut")
    with pytest.raises(Killed):
        loop.run(cut, events=_kill_after(**kill))
    assert not (Path(cut.run_dir) / "result.json").exists()
    resumed = loop.run(cut.replace(resume=True))
    for name in ("epoch-002.safetensors", "epoch-002.optim.safetensors"):
        assert (Path(cut.run_dir) / "ckpt" / name).read_bytes() == (
            Path(whole.run_dir) / "ckpt" / name
        ).read_bytes()
    steps = [r for r in read_log(Path(cut.run_dir) / "train.jsonl") if "event" not in r]
    assert [r["step"] for r in steps] == list(range(1, 25))  # exact budget, no duplicated steps
    whole_steps = [r for r in read_log(Path(whole.run_dir) / "train.jsonl") if "event" not in r]
    assert [r["train_loss"] for r in steps] == [r["train_loss"] for r in whole_steps]
    assert resumed.steps == 24


def test_resume_with_truncated_checkpoint_names_the_file(
    tmp_path, tiny_tokenizer_dir, tiny_dataset_dir
) -> None:
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, "r", num_steps=16)
    with pytest.raises(Killed):
        loop.run(cfg, events=_kill_after(epoch=0))
    victim = checkpoint.ckpt_paths(Path(cfg.run_dir), 0)[0]
    victim.write_bytes(victim.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"epoch-000\.safetensors"):
        loop.run(cfg.replace(resume=True))


def test_resume_refuses_changed_config(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir) -> None:
    from trainer.errors import PreflightError

    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, "r", num_steps=8)
    loop.run(cfg)
    with pytest.raises(PreflightError, match="num_steps"):
        loop.run(cfg.replace(resume=True, num_steps=16))
    with pytest.raises(PreflightError, match="--resume"):
        loop.run(cfg)  # a fresh run into an existing run dir
