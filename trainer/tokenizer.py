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

import errno
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from trainer.atomic import check_output, staged_dir, write_text_atomic
from trainer.errors import DataError, io_error

SPECIAL_TOKENS: tuple[str, ...] = ("<|endoftext|>", "<|pad|>")
EOT = SPECIAL_TOKENS[0]
META_FILE = "tokenizer_meta.json"
META_FORMAT = 1
# 256 single bytes must be ids, plus the specials, before a single merge is learned.
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)
# The native trainer reserves memory for the requested size before it learns a merge (about 2 bytes
# per id touched, 66 reserved: 2**32 aborts the process in native code). 2**24 ids is far above any
# real vocabulary (shards could hold uint32 ids) and costs tens of MB.
MAX_VOCAB_SIZE = 1 << 24
_FIX = "run `trainer tokenizer train --corpus … --vocab-size … --out DIR` to (re)create it"
_REPLACE = (
    "replacing it would break every dataset prepared with it (a dataset records its tokenizer's "
    "fingerprint); choose another --out, or pass --force to replace it"
)


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
            _check_model_files(d, raw)
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


def _merge_pairs(merges: object) -> list[tuple[str, ...]]:
    """tokenizer.json writes merges as ["a", "b"] pairs (older versions: "a b" strings)."""
    if not isinstance(merges, list):
        raise ValueError("merges is not a list")
    return [tuple(m) if isinstance(m, list) else tuple(str(m).split(" ")) for m in merges]


def _check_model_files(d: Path, raw: bytes) -> None:
    """vocab.json and merges.txt must hold exactly the model that tokenizer.json holds.

    Loading uses tokenizer.json; other tools (and our own fallback) read vocab.json + merges.txt. If the
    two disagree, the same directory means two different tokenizers, so neither is trusted.
    """
    try:
        model = json.loads(raw)["model"]
        vocab, merges = model["vocab"], _merge_pairs(model["merges"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"tokenizer.json holds no BPE vocab/merges ({exc}); {_FIX}",
                        path=str(d / "tokenizer.json")) from exc  # fmt: skip
    try:
        file_vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
        lines = (d / "merges.txt").read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read vocab.json/merges.txt ({exc}); {_FIX}", path=str(d)) from exc
    if file_vocab != vocab:
        keys = sorted(set(file_vocab) | set(vocab)) if isinstance(file_vocab, dict) else []
        differ = [k for k in keys if file_vocab.get(k) != vocab.get(k)]
        first = f" (first difference: token {differ[0]!r})" if differ else ""
        raise DataError(
            f"vocab.json does not match the vocabulary in tokenizer.json{first}: the files come from "
            f"different tokenizers or one was edited; {_FIX}",
            path=str(d / "vocab.json"),
        )
    if lines[0].startswith("#version"):
        lines = lines[1:]
    body = [ln for ln in lines if ln]
    if [tuple(ln.split(" ")) for ln in body] != merges:
        raise DataError(
            f"merges.txt ({len(body)} merges) does not match the {len(merges)} merges in tokenizer.json: "
            f"the files come from different tokenizers or one was edited; {_FIX}",
            path=str(d / "merges.txt"),
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


def train_tokenizer(
    files: Sequence[str | Path], vocab_size: int, out_dir: str | Path, *, force: bool = False
) -> BpeTokenizer:
    """Train byte-level BPE to exactly `vocab_size` ids and publish out_dir atomically.

    Writes tokenizer.json, vocab.json, merges.txt and tokenizer_meta.json. An existing out_dir is
    replaced only if it is empty, or a previous tokenizer and `force` is set.
    """
    if vocab_size < MIN_VOCAB_SIZE:
        raise DataError(
            f"vocab_size {vocab_size} is too small: byte-level BPE needs 256 byte tokens + "
            f"{len(SPECIAL_TOKENS)} special tokens = {MIN_VOCAB_SIZE} at least; "
            f"pass --vocab-size ≥ {MIN_VOCAB_SIZE}"
        )
    if vocab_size > MAX_VOCAB_SIZE:
        raise DataError(
            f"vocab_size {vocab_size} is too large: this trainer builds at most {MAX_VOCAB_SIZE} ids "
            f"(2**24; the native BPE trainer reserves memory for every requested id); pass a smaller "
            f"--vocab-size"
        )
    replace = None if force else _REPLACE
    check_output(Path(out_dir), META_FILE, "tokenizer", replace)  # before training, not after it
    if not files:
        raise DataError("no training files: the corpus is empty; point --corpus at a folder with text files")
    texts = _read_texts(files)
    if not any(texts):
        raise DataError(f"all {len(texts)} training files are empty; nothing to learn merges from")
    # Each merge joins two adjacent symbols of the corpus, so no corpus of B bytes yields more than
    # MIN_VOCAB_SIZE + B ids: refuse before the native trainer reserves memory for an impossible size.
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    if vocab_size > MIN_VOCAB_SIZE + n_bytes:
        raise DataError(
            f"the corpus ({len(texts)} files, {n_bytes} bytes) cannot support {vocab_size} tokens: a BPE "
            f"vocabulary is at most {MIN_VOCAB_SIZE} + the corpus size in bytes = "
            f"{MIN_VOCAB_SIZE + n_bytes}; use more files or a smaller --vocab-size"
        )
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
    with staged_dir(out, META_FILE, "tokenizer", replace) as staging:
        write_text_atomic(staging / "tokenizer.json", serialized)
        try:
            tok.model.save(str(staging))  # vocab.json + merges.txt
        except Exception as exc:  # the Rust writer raises a plain Exception, its text names the OS error
            full = "os error 28" in str(exc)
            cause = OSError(errno.ENOSPC if full else 0, str(exc))
            raise io_error(cause, "cannot write vocab.json/merges.txt", out) from exc
        write_text_atomic(staging / META_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    result.path = out
    return result
