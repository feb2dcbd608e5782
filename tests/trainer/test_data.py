"""Token shards, manifest verification, the train stream and the held-out batches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from trainer import data as datamod
from trainer.corpus import corpus_files, relative_name
from trainer.data import TokenStream, load_dataset, prepare_dataset, val_batches
from trainer.errors import DataError, DataExhausted
from trainer.tokenizer import BpeTokenizer, train_tokenizer

MARKER = "QZXV_HELD_OUT_MARKER_7319"


def _dir_corpus(root: Path, n: int, val_fraction: float) -> tuple[Path, str]:
    """n small documents; returns (root, name of one document that hashes into val)."""
    root.mkdir(parents=True, exist_ok=True)
    names = [f"doc{i:03d}.py" for i in range(n)]
    val_name = next(nm for nm in names if datamod._split_key(nm) < val_fraction)
    for nm in names:
        body = f"def f_{nm[3:6]}(x):\n    return x * {len(nm)}  # plain code\n" * 20
        if nm == val_name:
            body += f"{MARKER} = True\n"
        (root / nm).write_text(body)
    return root, val_name


# ---- prepare + manifest -------------------------------------------------------------------------


def test_manifest_describes_the_shards(tiny_dataset_dir: Path, tiny_tokenizer_dir: Path) -> None:
    m = json.loads((tiny_dataset_dir / "manifest.json").read_text())
    tok = BpeTokenizer.load(tiny_tokenizer_dir)
    assert m["format_version"] == 1 and m["dtype"] == "uint16" and m["byte_order"] == "little"
    assert m["tokenizer"] == {
        "fingerprint": tok.fingerprint,
        "vocab_size": tok.vocab_size,
        "eot_id": tok.eot_id,
    }
    assert m["documents"]["train"] + m["documents"]["val"] == 30 and m["documents"]["val"] >= 1
    assert len(m["val_documents"]) == m["documents"]["val"]
    assert {s["file"] for s in m["shards"]} == {"train-00000.bin", "val-00000.bin"}
    for s in m["shards"]:
        assert (tiny_dataset_dir / s["file"]).stat().st_size == 2 * s["tokens"]


def test_shards_hold_every_document_exactly_once_each_followed_by_eot(
    tiny_dataset_dir: Path, tiny_tokenizer_dir: Path
) -> None:
    tok = BpeTokenizer.load(tiny_tokenizer_dir)
    ds = load_dataset(tiny_dataset_dir, tok)

    files = corpus_files("stdlib", 30)
    val_names = set(ds.manifest.val_documents)
    for split, tokens in (("train", ds.train_tokens), ("val", ds.val_tokens)):
        ids = tokens.tolist()
        assert ids[-1] == tok.eot_id
        # Special-token text in documents is encoded as bytes, so every eot id is a document boundary.
        docs, start = [], 0
        for i, t in enumerate(ids):
            if t == tok.eot_id:
                docs.append(tok.decode(ids[start:i]))
                start = i + 1
        expected = [
            p.read_text(encoding="utf-8")
            for p in files
            if (relative_name(p, "stdlib") in val_names) == (split == "val")
        ]
        assert docs == expected
        assert len(docs) == ds.manifest.document_count(split)


def test_prepare_is_deterministic(tiny_dataset_dir: Path, tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    prepare_dataset("stdlib", tiny_tokenizer_dir, tmp_path / "again", max_files=30, val_fraction=0.1)
    for name in ("manifest.json", "train-00000.bin", "val-00000.bin"):
        assert (tmp_path / "again" / name).read_bytes() == (tiny_dataset_dir / name).read_bytes()


def test_split_is_stable_when_files_are_added(tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    root, _ = _dir_corpus(tmp_path / "corpus", 12, 0.3)
    before = prepare_dataset(str(root), tiny_tokenizer_dir, tmp_path / "d1", val_fraction=0.3)
    for i in range(12, 24):
        (root / f"doc{i:03d}.py").write_text(f"y = {i}\n")
    after = prepare_dataset(str(root), tiny_tokenizer_dir, tmp_path / "d2", val_fraction=0.3)
    old = {f"doc{i:03d}.py" for i in range(12)}
    assert set(before.val_documents) == set(after.val_documents) & old
    assert after.document_count("train") + after.document_count("val") == 24


def test_at_least_one_val_document(tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "c"
    root.mkdir()
    for i in range(3):
        (root / f"f{i}.txt").write_text(f"text {i}\n")
    m = prepare_dataset(str(root), tiny_tokenizer_dir, tmp_path / "d", val_fraction=0.001)
    assert m.document_count("val") == 1 and m.document_count("train") == 2


def test_one_document_cannot_be_split(tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "only.txt").write_text("x\n")
    with pytest.raises(DataError, match="at least 2"):
        prepare_dataset(str(tmp_path / "c"), tiny_tokenizer_dir, tmp_path / "d")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_val_fraction_must_be_a_proper_fraction(
    tiny_tokenizer_dir: Path, tmp_path: Path, fraction: float
) -> None:
    with pytest.raises(DataError, match="val_fraction"):
        prepare_dataset("stdlib", tiny_tokenizer_dir, tmp_path / "d", max_files=3, val_fraction=fraction)


def test_missing_tokenizer_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="trainer tokenizer train"):
        prepare_dataset("stdlib", tmp_path / "no-tok", tmp_path / "d", max_files=3)


def test_output_replaces_a_previous_dataset_but_refuses_other_folders(
    tiny_tokenizer_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "d"
    prepare_dataset("stdlib", tiny_tokenizer_dir, out, max_files=4)
    m = prepare_dataset("stdlib", tiny_tokenizer_dir, out, max_files=5)
    assert load_dataset(out).manifest == m
    other = tmp_path / "other"
    other.mkdir()
    (other / "x").write_text("keep")
    with pytest.raises(DataError, match="refusing to overwrite"):
        prepare_dataset("stdlib", tiny_tokenizer_dir, other, max_files=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "other"]


def test_multiple_shards_concatenate_to_the_same_stream(
    tiny_dataset_dir: Path, tiny_tokenizer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datamod, "SHARD_TOKENS", 50_000)
    m = prepare_dataset("stdlib", tiny_tokenizer_dir, tmp_path / "d", max_files=30, val_fraction=0.1)
    assert len([s for s in m.shards if s.split == "train"]) > 1
    assert torch.equal(load_dataset(tmp_path / "d").train_tokens, load_dataset(tiny_dataset_dir).train_tokens)


def test_large_vocab_uses_uint32() -> None:
    assert datamod._dtype_for(65536) == np.dtype("<u2")
    assert datamod._dtype_for(65537) == np.dtype("<u4")


# ---- load_dataset verification ------------------------------------------------------------------


def test_load_returns_int64_tokens(tiny_dataset_dir: Path) -> None:
    ds = load_dataset(tiny_dataset_dir)
    assert ds.train_tokens.dtype == torch.int64 and ds.train_tokens.ndim == 1
    assert len(ds.train_tokens) == ds.manifest.tokens("train")
    assert len(ds.val_tokens) == ds.manifest.tokens("val") > 0


def _corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "odd":
        data = data[:-1]
    elif how == "short":
        data = data[:-2]
    else:
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("how", "message"),
    [("odd", "not a multiple of 2"), ("short", "holds .* tokens but manifest.json says"), ("flip", "sha256")],
)
@pytest.mark.parametrize("shard", ["train-00000.bin", "val-00000.bin"])
def test_corrupt_shards_are_named(tiny_dataset_copy: Path, shard: str, how: str, message: str) -> None:
    _corrupt(tiny_dataset_copy / shard, how)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(tiny_dataset_copy)
    assert info.value.path == str(tiny_dataset_copy / shard)


def test_missing_manifest_and_shard(tiny_dataset_copy: Path) -> None:
    (tiny_dataset_copy / "val-00000.bin").unlink()
    with pytest.raises(DataError, match="missing") as info:
        load_dataset(tiny_dataset_copy)
    assert info.value.path.endswith("val-00000.bin")
    (tiny_dataset_copy / "manifest.json").unlink()
    with pytest.raises(DataError, match="trainer data prepare") as info:
        load_dataset(tiny_dataset_copy)
    assert info.value.path.endswith("manifest.json")


@pytest.mark.parametrize("text", ["{not json", '{"format": "other"}', '{"format": "trainer-token-shards"}'])
def test_malformed_manifest(tiny_dataset_copy: Path, text: str) -> None:
    (tiny_dataset_copy / "manifest.json").write_text(text)
    with pytest.raises(DataError, match="manifest"):
        load_dataset(tiny_dataset_copy)


def test_tokenizer_mismatch_is_refused(tiny_dataset_dir: Path, tmp_path: Path) -> None:
    other = train_tokenizer(corpus_files("stdlib", 5), 300, tmp_path / "other-tok")
    with pytest.raises(DataError, match="tokenized with tokenizer") as info:
        load_dataset(tiny_dataset_dir, other)
    assert info.value.path.endswith("manifest.json")
    with pytest.raises(DataError, match="tokenized with tokenizer"):
        load_dataset(tiny_dataset_dir, tmp_path / "other-tok")  # a directory works too


# ---- TokenStream ---------------------------------------------------------------------------------


def _take(stream: TokenStream, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [next(stream) for _ in range(n)]


def _stream(tokens: torch.Tensor, **kw) -> TokenStream:
    args = {"batch_size": 4, "seq_len": 8, "seed": 0, "allow_cycle": False} | kw
    return TokenStream(tokens, args.pop("batch_size"), args.pop("seq_len"), **args)


TOKENS = torch.arange(1000)  # token value == position: windows are easy to read back


def test_batches_are_shifted_windows_of_the_array() -> None:
    for x, y in _take(_stream(TOKENS), 5):
        assert x.shape == y.shape == (4, 8) and x.dtype == torch.int64
        assert torch.equal(y, x + 1)
        assert torch.all(x[:, 0] % 8 == 0)  # windows start on multiples of seq_len
        assert torch.equal(x, x[:, :1] + torch.arange(8))


def test_a_pass_visits_each_window_once_then_exhausts() -> None:
    s = _stream(TOKENS)
    assert s.n_windows == 124 and s.batches_per_pass == 31
    assert s.tokens_available() == 31 * 4 * 8
    starts = torch.cat([x[:, 0] for x, _ in _take(s, 31)])
    assert len(set(starts.tolist())) == 124
    with pytest.raises(DataExhausted, match="allow-shard-cycle"):
        next(s)


def test_same_seed_same_batches_other_seed_other_order() -> None:
    a = torch.cat([x for x, _ in _take(_stream(TOKENS, seed=3), 10)])
    b = torch.cat([x for x, _ in _take(_stream(TOKENS, seed=3), 10)])
    c = torch.cat([x for x, _ in _take(_stream(TOKENS, seed=4), 10)])
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ranks_are_disjoint_within_a_pass() -> None:
    seen = []
    for rank in range(3):
        s = _stream(TOKENS, rank=rank, world_size=3)
        seen.append({int(v) for x, _ in _take(s, s.batches_per_pass) for v in x[:, 0]})
    assert all(seen[i].isdisjoint(seen[j]) for i in range(3) for j in range(i + 1, 3))
    assert all(len(s) == 40 for s in seen)  # 124 windows // 3 ranks = 41 → 10 batches of 4


def test_cycling_reshuffles_counts_and_calls_back_once() -> None:
    calls: list[int] = []
    s = _stream(TOKENS, allow_cycle=True, on_cycle=calls.append)
    first = [x for x, _ in _take(s, 31)]
    second = [x for x, _ in _take(s, 31)]
    _take(s, 40)
    assert s.cycles == 3 and calls == [1]
    assert not all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_state_dict_resumes_exactly_across_a_cycle_boundary() -> None:
    full = _stream(TOKENS, allow_cycle=True, seed=9)
    reference = _take(full, 70)
    part = _stream(TOKENS, allow_cycle=True, seed=9)
    _take(part, 29)
    state = json.loads(json.dumps(part.state_dict()))  # survives a JSON checkpoint
    resumed = _stream(TOKENS, allow_cycle=True, seed=9)
    resumed.load_state_dict(state)
    for (x, y), (rx, ry) in zip(reference[29:], _take(resumed, 41), strict=True):
        assert torch.equal(x, rx) and torch.equal(y, ry)
    assert resumed.cycles == full.cycles == 2


def test_state_from_another_setup_is_refused() -> None:
    state = _stream(TOKENS).state_dict()
    with pytest.raises(DataError, match="batch_size: saved 4, now 5"):
        _stream(TOKENS, batch_size=5).load_state_dict(state)
    with pytest.raises(DataError, match="seed"):
        _stream(TOKENS, seed=1).load_state_dict(state)


def test_too_little_data_for_one_batch_is_a_data_error() -> None:
    with pytest.raises(DataError, match="fewer than one batch"):
        _stream(torch.arange(30))
    with pytest.raises(ValueError, match="rank"):
        _stream(TOKENS, rank=2, world_size=2)


def test_train_stream_never_sees_held_out_documents(tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    root, val_name = _dir_corpus(tmp_path / "corpus", 16, 0.2)
    prepare_dataset(str(root), tiny_tokenizer_dir, tmp_path / "d", val_fraction=0.2)
    tok = BpeTokenizer.load(tiny_tokenizer_dir)
    ds = load_dataset(tmp_path / "d", tok)
    assert val_name in ds.manifest.val_documents
    assert MARKER in tok.decode(ds.val_tokens.tolist())  # the marker exists, in val only
    train = ds.train_tokens
    windows = {tuple(train[i : i + 16].tolist()) for i in range(0, len(train) - 16, 16)}
    s = TokenStream(train, 4, 16, seed=0, allow_cycle=True)
    for _ in range(s.batches_per_pass * 5):  # five passes
        x, _ = next(s)
        assert all(tuple(row.tolist()) in windows for row in x)  # every row is a window of train
        assert MARKER not in tok.decode(x.flatten().tolist())
    assert s.cycles == 4


# ---- val_batches ---------------------------------------------------------------------------------


def test_val_batches_are_consecutive_windows_in_order() -> None:
    batches = val_batches(torch.arange(100), batch_size=4, seq_len=8)
    xs = torch.cat([x for x, _ in batches])
    assert xs.shape == (12, 8)  # (100-1)//8 windows
    assert torch.equal(xs[:, 0], torch.arange(0, 96, 8))
    assert [len(x) for x, _ in batches] == [4, 4, 4]
    assert all(torch.equal(y, x + 1) for x, y in batches)
    tail = val_batches(torch.arange(100), batch_size=5, seq_len=8)
    assert [len(x) for x, _ in tail] == [5, 5, 2]
    assert len(val_batches(torch.arange(100), 4, 8, max_batches=2)) == 2
    again = val_batches(torch.arange(100), 4, 8)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))


def test_val_too_short_is_a_data_error() -> None:
    with pytest.raises(DataError, match="val split has 8 tokens"):
        val_batches(torch.arange(8), 2, 8)


def test_dataset_copy_fixture_is_independent(tiny_dataset_copy: Path, tiny_dataset_dir: Path) -> None:
    shutil.rmtree(tiny_dataset_copy)
    assert (tiny_dataset_dir / "manifest.json").is_file()
