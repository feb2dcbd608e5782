"""Byte-level BPE: lossless round trip, special-token policy, exact vocab size, determinism, loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tokenizers import pre_tokenizers

from trainer import tokenizer as tokmod
from trainer.corpus import corpus_files
from trainer.errors import DataError
from trainer.tokenizer import SPECIAL_TOKENS, BpeTokenizer, train_tokenizer

TINY_VOCAB = 512  # conftest.TINY_VOCAB; checked against the fixture below


@pytest.fixture(scope="module")
def tok(tiny_tokenizer_dir: Path, tiny_vocab_size: int) -> BpeTokenizer:
    assert tiny_vocab_size == TINY_VOCAB
    return BpeTokenizer.load(tiny_tokenizer_dir)


@pytest.fixture(scope="module")
def few_files() -> list[Path]:
    return corpus_files("stdlib", 6)


# Text that stresses the byte level: any code point (no lone surrogates: they are not text), control
# characters, and the special-token strings and fragments of them glued into the middle of words.
_pieces = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(max_codepoint=0x1F), max_size=10),
    st.sampled_from([*SPECIAL_TOKENS, "<|", "|>", "endoftext", "\r\n", "\t", " ", "é", "🙂", "\u200b"]),
)
_texts = st.lists(_pieces, max_size=8).map("".join)


@given(text=_texts)
def test_round_trip_is_lossless(tok: BpeTokenizer, text: str) -> None:
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


@given(text=_texts)
def test_special_token_text_is_plain_bytes(tok: BpeTokenizer, text: str) -> None:
    # Only code emits special ids: document text can never forge a boundary.
    assert not set(tok.encode(text)) & set(tok.special_tokens.values())


def test_special_ids_decode_to_their_text(tok: BpeTokenizer) -> None:
    eot = tok.special_tokens["<|endoftext|>"]
    assert tok.eot_id == eot
    ids = [*tok.encode("a"), eot, *tok.encode("b")]
    assert tok.decode(ids) == "a<|endoftext|>b"
    assert tok.encode("<|endoftext|>") != [eot] and len(tok.encode("<|endoftext|>")) > 1


def test_decode_rejects_ids_outside_the_vocabulary(tok: BpeTokenizer) -> None:
    with pytest.raises(ValueError, match=rf"token id {TINY_VOCAB}\b"):
        tok.decode([5, TINY_VOCAB])


def test_vocab_covers_every_byte_and_is_contiguous(tok: BpeTokenizer) -> None:
    vocab = tok._tok.get_vocab(with_added_tokens=True)
    assert set(pre_tokenizers.ByteLevel.alphabet()) <= set(vocab)
    assert sorted(vocab.values()) == list(range(TINY_VOCAB))
    assert tok.vocab_size == TINY_VOCAB and tok.max_token_id == TINY_VOCAB - 1
    assert set(tok.special_tokens) == set(SPECIAL_TOKENS)


def test_batch_encode_equals_single_encode(tok: BpeTokenizer) -> None:
    texts = ["def f(x):\n    return x\n", "", "héllo <|pad|>"]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


@pytest.mark.parametrize("vocab_size", [258, 300, 777])
def test_vocab_size_is_honoured_exactly(few_files: list[Path], tmp_path: Path, vocab_size: int) -> None:
    t = train_tokenizer(few_files, vocab_size, tmp_path / "tok")
    assert t.vocab_size == vocab_size
    meta = json.loads((tmp_path / "tok" / "tokenizer_meta.json").read_text())
    assert meta["vocab_size"] == vocab_size and meta["fingerprint"] == t.fingerprint


def test_vocab_size_below_bytes_plus_specials_fails_clearly(few_files: list[Path], tmp_path: Path) -> None:
    with pytest.raises(DataError, match="258"):
        train_tokenizer(few_files, 257, tmp_path / "tok")
    assert not (tmp_path / "tok").exists()


@pytest.mark.parametrize(
    ("vocab_size", "message"),
    [
        (5000, r"cannot support 5000 tokens: .* at most 258 \+ the corpus size in bytes = 270"),  # untrained
        (269, r"only supports \d+ tokens, fewer than the 269"),  # within the bound, short after training
    ],
)
def test_vocab_size_the_corpus_cannot_support_fails(tmp_path: Path, vocab_size: int, message: str) -> None:
    f = tmp_path / "small.txt"
    f.write_text("abc abc abd\n")
    with pytest.raises(DataError, match=message):
        train_tokenizer([f], vocab_size, tmp_path / "tok")
    assert not (tmp_path / "tok").exists()


def test_training_is_deterministic(few_files: list[Path], tmp_path: Path) -> None:
    a = train_tokenizer(few_files, 400, tmp_path / "a")
    b = train_tokenizer(few_files, 400, tmp_path / "b")
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (
        tmp_path / "b" / "tokenizer.json"
    ).read_bytes()
    assert a.fingerprint == b.fingerprint
    c = train_tokenizer(few_files, 401, tmp_path / "c")
    assert c.fingerprint != a.fingerprint


def test_load_falls_back_to_vocab_and_merges(
    tiny_tokenizer_dir: Path, tok: BpeTokenizer, tmp_path: Path
) -> None:
    d = tmp_path / "tok"
    shutil.copytree(tiny_tokenizer_dir, d)
    (d / "tokenizer.json").unlink()
    rebuilt = BpeTokenizer.load(d)
    text = "import os\nprint('<|endoftext|> ü')\n"
    assert rebuilt.encode(text) == tok.encode(text)
    assert rebuilt.fingerprint == tok.fingerprint
    assert rebuilt.special_tokens == tok.special_tokens


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ({"tokenizer.json", "merges.txt"}, "merges.txt"),
        ({"tokenizer.json", "vocab.json", "merges.txt"}, "vocab.json"),
        ({"vocab.json"}, "vocab.json"),
        ({"merges.txt"}, "merges.txt"),
    ],
)
def test_missing_files_raise_data_error_naming_file_and_fix(
    tiny_tokenizer_dir: Path, tmp_path: Path, remove: set[str], named: str
) -> None:
    d = tmp_path / "tok"
    shutil.copytree(tiny_tokenizer_dir, d)
    for name in remove:
        (d / name).unlink()
    with pytest.raises(DataError, match=rf"{named}.*trainer tokenizer train") as info:
        BpeTokenizer.load(d)
    assert info.value.path and info.value.path.endswith(named)


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        BpeTokenizer.load(tmp_path / "nope")


def test_corrupt_or_edited_tokenizer_json_raises(tiny_tokenizer_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "tok"
    shutil.copytree(tiny_tokenizer_dir, d)
    full = d / "tokenizer.json"
    original = full.read_text()
    full.write_text(original[: len(original) // 2])
    with pytest.raises(DataError, match="cannot parse"):
        BpeTokenizer.load(d)
    full.write_text(original.replace('"dropout":null', '"dropout":null ', 1))  # same meaning, other bytes
    with pytest.raises(DataError, match="changed after training"):
        BpeTokenizer.load(d)


def test_non_utf8_training_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8") as info:
        train_tokenizer([bad], 300, tmp_path / "tok")
    assert info.value.path == str(bad)


def test_empty_file_list_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no training files"):
        train_tokenizer([], 300, tmp_path / "tok")


def test_output_is_atomic_and_refuses_unrelated_folders(
    few_files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "tok"
    first = train_tokenizer(few_files, 300, out)
    with pytest.raises(DataError, match="already holds a tokenizer; replacing it would break every dataset"):
        train_tokenizer(few_files, 310, out)  # datasets record its fingerprint: not without force
    assert BpeTokenizer.load(out).fingerprint == first.fingerprint
    assert train_tokenizer(few_files, 310, out, force=True).vocab_size == 310  # forced: replaced
    assert BpeTokenizer.load(out).fingerprint != first.fingerprint

    unrelated = tmp_path / "notes"
    unrelated.mkdir()
    (unrelated / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="refusing to overwrite"):
        train_tokenizer(few_files, 300, unrelated)
    assert (unrelated / "keep.txt").read_text() == "mine"

    def boom(path: Path, text: str) -> None:
        if path.name == "tokenizer_meta.json":
            raise OSError("disk full")
        (path).write_text(text)

    monkeypatch.setattr(tokmod, "write_text_atomic", boom)
    with pytest.raises(DataError, match="cannot write the tokenizer: disk full"):
        train_tokenizer(few_files, 320, out, force=True)
    assert BpeTokenizer.load(out).vocab_size == 310  # the old tokenizer is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "tok"]  # no staging left behind
