"""The loop: exact step budget, schedule, reproducibility, synthetic labelling, guards mid-run."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch

from trainer import loop
from trainer.checkpoint import ckpt_paths
from trainer.config import TrainConfig
from trainer.data import prepare_dataset
from trainer.errors import DivergenceError, NonFiniteError, PreflightError
from trainer.runlog import read_log
from trainer.status import RunStatus

torch.set_num_threads(1)


def make_cfg(tmp: Path, tok: Path, data: Path, name: str = "run", **kw) -> TrainConfig:
    base = dict(dataset=str(data), tokenizer=str(tok), run_dir=str(tmp / name), num_steps=20,
                steps_per_epoch=10, batch_size=4, seq_length=32, model="tiny", device="cpu",
                eval_batches=4)  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


def steps_of(run_dir: str | Path) -> list[dict]:
    return [r for r in read_log(Path(run_dir) / "train.jsonl") if "event" not in r]


def epochs_of(run_dir: str | Path) -> list[dict]:
    return [r for r in read_log(Path(run_dir) / "train.jsonl") if r.get("event") == "epoch"]


def test_lr_schedule_warmup_then_cosine_to_ten_percent() -> None:
    cfg = TrainConfig(dataset="d", tokenizer="t", run_dir="r", lr=1.0, warmup_steps=4, num_steps=104)
    assert [loop.lr_at(s, cfg) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert loop.lr_at(4, cfg) == pytest.approx(1.0)
    assert loop.lr_at(54, cfg) == pytest.approx(0.55)
    assert loop.lr_at(104, cfg) == pytest.approx(0.1)
    lrs = [loop.lr_at(s, cfg) for s in range(4, 104)]
    assert all(a >= b for a, b in itertools.pairwise(lrs))


def test_exact_step_budget_and_partial_last_epoch(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir) -> None:
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, num_steps=25, steps_per_epoch=10)
    result = loop.run(cfg)
    steps = steps_of(cfg.run_dir)
    assert [r["step"] for r in steps] == list(range(1, 26))
    assert [r["epoch"] for r in epochs_of(cfg.run_dir)] == [0, 1, 2]  # the partial epoch is evaluated
    assert all(r["drive"] == "real" for r in steps)
    for r in steps:  # only measured values: throughput follows from that step's own wall time
        assert r["tokens_per_sec"] == pytest.approx(128 / (r["wall_ms"] / 1e3), rel=1e-9)
    assert result.steps == 25 and result.epochs == 3
    saved = json.loads((Path(cfg.run_dir) / "result.json").read_text())
    assert saved["status"] == result.status.label and saved["exit_code"] == result.status.exit_code
    assert TrainConfig.load(Path(cfg.run_dir) / "config.json") == cfg
    assert ckpt_paths(Path(cfg.run_dir), 2)[2].is_file()


def test_same_seed_is_reproducible_different_seed_is_not(
    tmp_path, tiny_tokenizer_dir, tiny_dataset_dir
) -> None:
    runs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, name, seed=seed, num_steps=20,
                       steps_per_epoch=20)  # fmt: skip
        loop.run(cfg)
        meta = json.loads(ckpt_paths(Path(cfg.run_dir), 0)[2].read_text())
        runs[name] = ([r["train_loss"] for r in steps_of(cfg.run_dir)], meta["optimizer_state_sha"])
    (la, sha_a), (lb, sha_b), (lc, sha_c) = runs["a"], runs["b"], runs["c"]
    assert len(la) == 20
    assert max(abs(x - y) for x, y in zip(la, lb, strict=True)) <= 1e-6
    assert sha_a == sha_b
    assert la != lc and sha_a != sha_c


def test_vocab_size_flag_really_sizes_the_model(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir) -> None:
    from safetensors import safe_open

    cfg = make_cfg(
        tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, vocab_size=600, num_steps=2, steps_per_epoch=2
    )
    loop.run(cfg)
    with safe_open(str(ckpt_paths(Path(cfg.run_dir), 0)[0]), framework="pt") as fh:
        shapes = {k: fh.get_slice(k).get_shape() for k in fh.keys()}  # noqa: SIM118
    assert [600, 128] in shapes.values()


def test_synthetic_drive_is_labelled_and_scripted(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir) -> None:
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, synthetic=True, target_val_loss=3.0)
    result = loop.run(cfg)
    steps = steps_of(cfg.run_dir)
    assert len(steps) == 20 and {r["drive"] for r in steps} == {"synthetic"}
    assert steps[0]["train_loss"] == pytest.approx(1.8 * 3.0)
    assert steps[-1]["train_loss"] == pytest.approx(3.0)
    assert result.drive == "synthetic" and result.status is RunStatus.OK
    assert not (Path(cfg.run_dir) / "ckpt").exists()
    assert loop.select_drive(cfg) is loop.drive_synthetic
    assert loop.select_drive(cfg.replace(synthetic=False)) is loop.drive_real


def test_nonfinite_loss_aborts_before_it_is_logged(
    tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, monkeypatch
):
    real = loop._SyntheticLoop.scripted_loss
    monkeypatch.setattr(
        loop._SyntheticLoop, "scripted_loss", lambda self, s: math.nan if s == 4 else real(self, s)
    )
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, synthetic=True)
    with pytest.raises(NonFiniteError, match="step 5"):
        loop.run(cfg)
    assert [r["step"] for r in steps_of(cfg.run_dir)] == [1, 2, 3, 4]
    result = json.loads((Path(cfg.run_dir) / "result.json").read_text())
    assert (result["status"], result["exit_code"]) == ("NONFINITE", 6)


def test_doubling_val_loss_is_divergence(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, monkeypatch) -> None:
    monkeypatch.setattr(loop._SyntheticLoop, "evaluate", lambda self, e, s: 2.0 if e == 0 else 4.01)
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, synthetic=True, num_steps=30)
    with pytest.raises(DivergenceError):
        loop.run(cfg)
    assert len(epochs_of(cfg.run_dir)) == 2 and len(steps_of(cfg.run_dir)) == 20  # stopped at epoch 1
    assert json.loads((Path(cfg.run_dir) / "result.json").read_text())["exit_code"] == 5


def test_epoch_zero_cap_from_scratch(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir) -> None:
    # Scripted epoch-0 val ≈ 1.8·10·(1 - 0.8·9/19) ≈ 14.2 > 2·ln(512) ≈ 12.48.
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, synthetic=True, target_val_loss=10.0)
    with pytest.raises(DivergenceError, match="epoch-0 cap"):
        loop.run(cfg)


def test_patience_early_stop(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, monkeypatch) -> None:
    monkeypatch.setattr(loop._SyntheticLoop, "evaluate", lambda self, e, s: [5.0, 4.0, 4.2, 4.1, 3.0][e])
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, synthetic=True, num_steps=50, patience=2)
    result = loop.run(cfg)
    assert result.status is RunStatus.EARLY_STOP and result.steps == 40 and result.epochs == 4


def test_budget_preflight_refuses_before_anything_is_written(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir):
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, tiny_dataset_dir, num_steps=10**6)
    with pytest.raises(PreflightError, match="GATE-TRAIN-BUDGET"):
        loop.run(cfg)
    assert not Path(cfg.run_dir).exists()


def test_shard_cycle_logs_one_record(tmp_path, tiny_tokenizer_dir) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(4):
        (corpus / f"doc{i}.py").write_text("".join(f"def f{j}(x):\n    return x * {j}\n" for j in range(40)))
    data = tmp_path / "data"
    prepare_dataset(str(corpus), tiny_tokenizer_dir, data, val_fraction=0.25)
    cfg = make_cfg(tmp_path, tiny_tokenizer_dir, data, num_steps=40, steps_per_epoch=20)
    with pytest.raises(PreflightError, match="--allow-shard-cycle"):
        loop.run(cfg)
    cfg = cfg.replace(allow_shard_cycle=True)
    loop.run(cfg)
    cycles = [r for r in read_log(Path(cfg.run_dir) / "train.jsonl") if r.get("event") == "cycle"]
    assert len(cycles) == 1 and "GATE-TRAIN-EXHAUST" in cycles[0]["message"]
    assert len(steps_of(cfg.run_dir)) == 40
