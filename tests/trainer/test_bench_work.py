"""bench/trainer_work.py: the benches' shared stdlib tokenizer + dataset, rebuilt when stale."""

from __future__ import annotations

from pathlib import Path

from bench.trainer_work import PARAMS_FILE, stdlib_dataset
from trainer.data import load_dataset
from trainer.tokenizer import BpeTokenizer


def test_reuses_a_matching_build_and_rebuilds_a_stale_one(tmp_path: Path) -> None:
    tok, data = stdlib_dataset(tmp_path, 300, 3)
    first = (tok / "tokenizer.json").stat().st_mtime_ns
    assert stdlib_dataset(tmp_path, 300, 3) == (tok, data)
    assert (tok / "tokenizer.json").stat().st_mtime_ns == first  # reused, not retrained
    # Another vocab size under the same --work: before, the old 300-id tokenizer was silently benchmarked.
    tok, data = stdlib_dataset(tmp_path, 320, 3)
    assert BpeTokenizer.load(tok).vocab_size == 320
    assert load_dataset(data, tokenizer=tok).manifest.vocab_size == 320
    (tmp_path / PARAMS_FILE).unlink()  # an interrupted build leaves no stamp: rebuilt, not trusted
    stdlib_dataset(tmp_path, 320, 3)
    assert (tmp_path / PARAMS_FILE).is_file()


def test_gpt2_reference_has_our_parameter_count_and_trains() -> None:
    import math

    import torch

    from bench.gpt2_ref import bare_train, gpt2_config_like, gpt2_param_count, make_gpt2
    from trainer.config import TrainConfig
    from trainer.model import PRESETS, Transformer, count_parameters, model_config

    def ours_count(c) -> int:  # our Transformer's parameters, by arithmetic (no 124m model built)
        return (
            c.vocab_size * c.d_model
            + c.n_layer * (4 * c.d_model**2 + 3 * c.d_model * c.d_ff + 2 * c.d_model)
            + c.d_model
        )

    assert ours_count(model_config("tiny", 2048, 128)) == count_parameters(
        Transformer(model_config("tiny", 2048, 128))
    )
    for preset in PRESETS:
        ours = model_config(preset, 2048, 128)
        assert abs(gpt2_param_count(gpt2_config_like(ours)) - ours_count(ours)) < 1e-3 * ours_count(ours)
    ours = model_config("tiny", 300, 16)
    model = make_gpt2(ours, seed=0)
    assert abs(count_parameters(model) - ours_count(ours)) < 1e-3 * ours_count(ours)
    x = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(0))
    y = x.roll(-1, dims=1)
    with torch.no_grad():
        first = float(model(x, y))
    assert abs(first - math.log(300)) < 0.3  # near-uniform at init
    cfg = TrainConfig(dataset="d", tokenizer="t", run_dir="r", lr=3e-3, warmup_steps=2)
    bare_train(model, iter([(x, y)] * 20), cfg, torch.device("cpu"), 20)
    with torch.no_grad():
        assert float(model(x, y)) < first - 1.0  # it learns (memorises one batch)
