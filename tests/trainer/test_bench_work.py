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
