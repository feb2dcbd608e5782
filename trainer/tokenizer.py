"""Byte-level BPE on HF `tokenizers`: train, save atomically, load, encode/decode losslessly.

Choices the contracts rely on:
- Byte level with the full 256-byte initial alphabet, no normalizer, no prefix space: every Python
  `str` (without lone surrogates, which are not text) round-trips exactly: decode(encode(s)) == s.
- Special-token *text* in the input is encoded as ordinary bytes, never as the special id. Only code
  (the data pipeline appending `<|endoftext|>` between documents) can emit a special id, so a source file
  that mentions "<|endoftext|>" cannot forge a document boundary. Decode keeps special ids (renders
  their text), so the round trip stays lossless for id streams too.
- The vocab size asked for is the vocab size delivered (specials included), or training fails.
- Same files + same vocab_size → byte-identical tokenizer.json (the HF trainer is deterministic).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from trainer.atomic import check_output, staged_dir, write_text_atomic
from trainer.errors import DataError

SPECIAL_TOKENS: tuple[str, ...] = ("<|endoftext|>", "<|pad|>")
EOT = SPECIAL_TOKENS[0]
META_FILE = "tokenizer_meta.json"
META_FORMAT = 1
# 256 single bytes must be ids, plus the specials, before a single merge is learned.
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)
MAX_VOCAB_SIZE = 1 << 32  # dataset shards hold ids as uint32 at most
_FIX = "run `trainer tokenizer train --corpus … --vocab-size … --out DIR` to (re)create it"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _configure(tok: Tokenizer) -> Tokenizer:
    """The fixed pipeline around the BPE model: byte-level in, byte-level out, nothing else."""
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = None
    return tok


class BpeTokenizer:
    """A loaded tokenizer. Build with `train_tokenizer` or `BpeTokenizer.load`."""

    def __init__(self, tok: Tokenizer, fingerprint: str, path: Path | None = None) -> None:
        self._tok = tok
        # Policy: special-token text is plain text (see module doc). Set on every load; not serialised.
        self._tok.encode_special_tokens = True
        self.fingerprint = fingerprint
        self.path = path
        vocab = tok.get_vocab(with_added_tokens=True)
        self.vocab_size: int = len(vocab)
        self.max_token_id: int = max(vocab.values())
        self.special_tokens: dict[str, int] = {}
        where = str(path) if path else None
        for name in SPECIAL_TOKENS:
            token_id = tok.token_to_id(name)
            if token_id is None:
                raise DataError(f"tokenizer has no special token {name!r}; {_FIX}", path=where)
            self.special_tokens[name] = token_id
        if self.max_token_id != self.vocab_size - 1:
            # Ids must be exactly 0..V-1, or vocab_size would not bound them and the model would overflow.
            raise DataError(
                f"token ids are not contiguous: {self.vocab_size} tokens but max id {self.max_token_id}; "
                f"{_FIX}",
                path=where,
            )

    @property
    def eot_id(self) -> int:
        return self.special_tokens[EOT]

    @classmethod
    def load(cls, directory: str | Path) -> BpeTokenizer:
        """Load from tokenizer.json, or else rebuild from vocab.json + merges.txt."""
        d = Path(directory)
        if not d.is_dir():
            raise DataError(f"tokenizer directory does not exist; {_FIX}", path=str(d))
        # vocab.json + merges.txt are the declared format: a directory without them is incomplete even
        # when tokenizer.json alone could be loaded (someone deleted half a tokenizer).
        missing = [name for name in ("vocab.json", "merges.txt") if not (d / name).is_file()]
        if missing:
            raise DataError(f"missing {' and '.join(missing)}; {_FIX}", path=str(d / missing[0]))
        full = d / "tokenizer.json"
        if full.is_file():
            raw = full.read_bytes()
            try:
                tok = Tokenizer.from_str(raw.decode("utf-8"))
            except Exception as exc:  # the Rust side raises plain Exception on bad JSON or schema
                raise DataError(f"cannot parse tokenizer.json ({exc}); {_FIX}", path=str(full)) from exc
            fingerprint = _sha256(raw)
            _check_meta(d, fingerprint)
            return cls(_configure(tok), fingerprint, d)
        try:
            bpe = models.BPE.from_file(str(d / "vocab.json"), str(d / "merges.txt"))
        except Exception as exc:
            raise DataError(f"cannot read vocab.json/merges.txt ({exc}); {_FIX}", path=str(d)) from exc
        tok = _configure(Tokenizer(bpe))
        tok.add_special_tokens(list(SPECIAL_TOKENS))
        # Rebuilt from the same files the same way, to_str() equals the tokenizer.json we would have written.
        return cls(tok, _sha256(tok.to_str().encode("utf-8")), d)

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Many documents at once; the Rust side spreads the work over threads."""
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        ids = list(ids)
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(
                f"token id {bad[0]} is outside the tokenizer's vocabulary [0, {self.vocab_size})"
            )
        return self._tok.decode(ids, skip_special_tokens=False)

    def to_json(self) -> str:
        return self._tok.to_str()


def _check_meta(d: Path, fingerprint: str) -> None:
    meta_path = d / META_FILE
    if not meta_path.is_file():
        return  # a hand-made tokenizer.json without our metadata is still usable
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        recorded = meta["fingerprint"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"unreadable tokenizer metadata ({exc}); {_FIX}", path=str(meta_path)) from exc
    if recorded != fingerprint:
        raise DataError(
            f"tokenizer.json changed after training: sha256 {fingerprint[:12]}… but {META_FILE} records "
            f"{str(recorded)[:12]}…; {_FIX}",
            path=str(d / "tokenizer.json"),
        )


def _read_texts(files: Sequence[str | Path]) -> list[str]:
    texts = []
    for f in files:
        try:
            texts.append(Path(f).read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(f)) from exc
        except OSError as exc:
            raise DataError(f"cannot read training file: {exc.strerror}", path=str(f)) from exc
    return texts


def train_tokenizer(files: Sequence[str | Path], vocab_size: int, out_dir: str | Path) -> BpeTokenizer:
    """Train byte-level BPE to exactly `vocab_size` ids and publish out_dir atomically.

    Writes tokenizer.json, vocab.json, merges.txt and tokenizer_meta.json. An existing out_dir is
    replaced only if it is empty or a previous tokenizer.
    """
    if vocab_size < MIN_VOCAB_SIZE:
        raise DataError(
            f"vocab_size {vocab_size} is too small: byte-level BPE needs 256 byte tokens + "
            f"{len(SPECIAL_TOKENS)} special tokens = {MIN_VOCAB_SIZE} at least; "
            f"pass --vocab-size ≥ {MIN_VOCAB_SIZE}"
        )
    if vocab_size > MAX_VOCAB_SIZE:
        raise DataError(
            f"vocab_size {vocab_size} is too large: token ids are stored as uint32, so at most "
            f"{MAX_VOCAB_SIZE}; pass a smaller --vocab-size"
        )
    check_output(Path(out_dir), META_FILE, "tokenizer")  # before training, not after it
    if not files:
        raise DataError("no training files: the corpus is empty; point --corpus at a folder with text files")
    texts = _read_texts(files)
    if not any(texts):
        raise DataError(f"all {len(texts)} training files are empty; nothing to learn merges from")
    tok = _configure(Tokenizer(models.BPE()))
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),  # ids 0 and 1
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen in the corpus or not
        min_frequency=0,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    got = tok.get_vocab_size(with_added_tokens=True)
    if got != vocab_size:
        raise DataError(
            f"the corpus ({len(texts)} files, {sum(map(len, texts))} characters) only supports {got} tokens, "
            f"fewer than the {vocab_size} asked for; use more files or a smaller --vocab-size"
        )
    serialized = tok.to_str()
    fingerprint = _sha256(serialized.encode("utf-8"))
    corpus_sha = hashlib.sha256()
    for text in texts:
        corpus_sha.update(_sha256(text.encode("utf-8")).encode("ascii"))
    result = BpeTokenizer(tok, fingerprint)
    meta = {
        "format": META_FORMAT,
        "vocab_size": result.vocab_size,
        "max_token_id": result.max_token_id,
        "special_tokens": result.special_tokens,
        "special_text_policy": "encoded as plain bytes; only code emits special ids",
        "fingerprint": fingerprint,
        "trained_on": {
            "files": len(texts),
            "characters": sum(map(len, texts)),
            "sha256": corpus_sha.hexdigest(),
        },
    }
    out = Path(out_dir)
    with staged_dir(out, META_FILE, "tokenizer") as staging:
        write_text_atomic(staging / "tokenizer.json", serialized)
        tok.model.save(str(staging))  # vocab.json + merges.txt
        write_text_atomic(staging / META_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    result.path = out
    return result
