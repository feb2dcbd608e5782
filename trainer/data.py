"""Token shards on disk, and the streams that read them.

Layout of a prepared dataset directory:
  manifest.json      format, dtype, tokenizer {fingerprint, vocab_size, eot_id}, corpus, per-shard
                     {file, split, tokens, sha256}, document counts and the held-out document names
  train-00000.bin …  raw little-endian uint16 (uint32 when vocab > 65536) token ids, no header
  val-00000.bin …
Whole documents go to one split, chosen by a hash of the document's relative path, so adding files to
the corpus never moves an existing document between train and val. Every document is followed by
`<|endoftext|>`. The directory is built in a staging folder and renamed into place; an existing out_dir
is replaced only if it is empty or a previous dataset (has manifest.json), anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from trainer.atomic import check_output, staged_dir, write_text_atomic
from trainer.corpus import STDLIB, corpus_files, resolve_corpus
from trainer.errors import DataError, DataExhausted, io_error
from trainer.tokenizer import BpeTokenizer

FORMAT = "trainer-token-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SHARD_TOKENS = 1 << 27  # 256 MiB of uint16 per shard file; a module constant so tests can shrink it
SPLITS = ("train", "val")
_FIX = "run `trainer data prepare --corpus … --tokenizer … --out DIR` to rebuild it"


@dataclass(frozen=True)
class Shard:
    file: str
    split: str
    tokens: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format_version: int
    dtype: str  # numpy dtype name, little-endian: "uint16" or "uint32"
    tokenizer_fingerprint: str
    vocab_size: int
    eot_id: int
    corpus: str
    val_fraction: float
    shards: tuple[Shard, ...]
    documents: tuple[tuple[str, int], ...]  # (("train", n), ("val", m))
    val_documents: tuple[str, ...]  # relative paths of the held-out documents

    def tokens(self, split: str) -> int:
        return sum(s.tokens for s in self.shards if s.split == split)

    def document_count(self, split: str) -> int:
        return dict(self.documents)[split]

    def to_json(self) -> str:
        d = asdict(self)
        doc = {
            "format": FORMAT,
            "format_version": self.format_version,
            "dtype": self.dtype,
            "byte_order": "little",
            "tokenizer": {
                "fingerprint": self.tokenizer_fingerprint,
                "vocab_size": self.vocab_size,
                "eot_id": self.eot_id,
            },
            "corpus": self.corpus,
            "val_fraction": self.val_fraction,
            "split_rule": "val iff sha256(relative path) as a fraction of 2**256 < val_fraction "
            "(at least one val document)",
            "documents": dict(self.documents),
            "tokens": {split: self.tokens(split) for split in SPLITS},
            "shards": d["shards"],
            "val_documents": list(self.val_documents),
        }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, path: str) -> Manifest:
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
                raise DataError(
                    f"not a {FORMAT} v{FORMAT_VERSION} manifest (format={doc.get('format')!r}, "
                    f"format_version={doc.get('format_version')!r}); {_FIX}",
                    path=path,
                )
            tok = doc["tokenizer"]
            return cls(
                format_version=doc["format_version"],
                dtype=doc["dtype"],
                tokenizer_fingerprint=tok["fingerprint"],
                vocab_size=int(tok["vocab_size"]),
                eot_id=int(tok["eot_id"]),
                corpus=doc["corpus"],
                val_fraction=float(doc["val_fraction"]),
                shards=tuple(
                    Shard(s["file"], s["split"], int(s["tokens"]), s["sha256"]) for s in doc["shards"]
                ),
                documents=tuple((k, int(doc["documents"][k])) for k in SPLITS),
                val_documents=tuple(doc["val_documents"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"malformed manifest ({type(exc).__name__}: {exc}); {_FIX}", path=path) from exc


def _split_key(name: str) -> float:
    """A stable number in [0, 1) for a relative path: independent of the other files in the corpus."""
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) / 2**256


def _dtype_for(vocab_size: int) -> np.dtype:
    return np.dtype("<u2") if vocab_size <= 1 << 16 else np.dtype("<u4")


def prepare_dataset(
    corpus: str,
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    max_files: int | None = None,
    val_fraction: float = 0.05,
) -> Manifest:
    """Tokenize a corpus into train/val shards + manifest.json, published atomically in out_dir."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")
    check_output(Path(out_dir), MANIFEST, "dataset")  # before tokenizing, not after it
    tok = BpeTokenizer.load(tokenizer_dir)
    root = resolve_corpus(corpus).root
    files = corpus_files(corpus, max_files)
    if len(files) < 2:
        raise DataError(
            f"corpus has {len(files)} document; a train/val split needs at least 2", path=str(root)
        )
    names = [p.relative_to(root).as_posix() for p in files]
    keys = [_split_key(n) for n in names]
    is_val = [k < val_fraction for k in keys]
    if not any(is_val):  # a small corpus may hash no document below val_fraction: hold out the lowest
        is_val[min(range(len(keys)), key=keys.__getitem__)] = True
    if all(is_val):
        raise DataError(f"val_fraction {val_fraction} put all {len(files)} documents in val; lower it")
    texts = [p.read_text(encoding="utf-8") for p in files]  # corpus_files checked they decode
    encoded = tok.encode_batch(texts)
    dtype = _dtype_for(tok.vocab_size)
    streams: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    eot = np.array([tok.eot_id], dtype=dtype)
    for ids, val in zip(encoded, is_val, strict=True):
        split = "val" if val else "train"
        streams[split] += [np.asarray(ids, dtype=dtype), eot]
    described = f"{STDLIB} (Python {platform.python_version()})" if corpus == STDLIB else str(corpus)
    if max_files is not None:
        described += f", max_files={max_files}"
    shards: list[Shard] = []
    with staged_dir(Path(out_dir), MANIFEST, "dataset") as staging:
        for split in SPLITS:
            arr = np.concatenate(streams[split])
            for i, start in enumerate(range(0, len(arr), SHARD_TOKENS)):
                data = arr[start : start + SHARD_TOKENS].tobytes()
                name = f"{split}-{i:05d}.bin"
                try:
                    (staging / name).write_bytes(data)
                except OSError as exc:  # a write error carries no file name: give the shard's
                    raise io_error(exc, "cannot write the dataset", Path(out_dir) / name) from exc
                shards.append(
                    Shard(name, split, len(data) // dtype.itemsize, hashlib.sha256(data).hexdigest())
                )
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            dtype=dtype.name,
            tokenizer_fingerprint=tok.fingerprint,
            vocab_size=tok.vocab_size,
            eot_id=tok.eot_id,
            corpus=described,
            val_fraction=val_fraction,
            shards=tuple(shards),
            documents=(("train", is_val.count(False)), ("val", is_val.count(True))),
            val_documents=tuple(n for n, v in zip(names, is_val, strict=True) if v),
        )
        write_text_atomic(staging / MANIFEST, manifest.to_json())
    return manifest


@dataclass(frozen=True)
class Dataset:
    manifest: Manifest
    train_tokens: torch.Tensor  # (N_train,) int64
    val_tokens: torch.Tensor  # (N_val,) int64
    path: Path


def load_dataset(directory: str | Path, tokenizer: BpeTokenizer | str | Path | None = None) -> Dataset:
    """Read and verify a prepared dataset: every shard's length and sha256, and the tokenizer match."""
    d = Path(directory)
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise DataError(f"no {MANIFEST} (not a prepared dataset); {_FIX}", path=str(mpath))
    manifest = Manifest.from_json(mpath.read_text(encoding="utf-8"), str(mpath))
    if tokenizer is not None:
        tok = tokenizer if isinstance(tokenizer, BpeTokenizer) else BpeTokenizer.load(tokenizer)
        if tok.fingerprint != manifest.tokenizer_fingerprint or tok.vocab_size != manifest.vocab_size:
            raise DataError(
                f"dataset was tokenized with tokenizer {manifest.tokenizer_fingerprint[:12]}… "
                f"(vocab {manifest.vocab_size}) but the given tokenizer is {tok.fingerprint[:12]}… "
                f"(vocab {tok.vocab_size}); pass the tokenizer it was built with, or {_FIX}",
                path=str(mpath),
            )
    if manifest.dtype not in ("uint16", "uint32"):
        raise DataError(f"unsupported dtype {manifest.dtype!r}; {_FIX}", path=str(mpath))
    dtype = np.dtype(manifest.dtype).newbyteorder("<")
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": []}
    for shard in manifest.shards:
        parts[shard.split].append(_read_shard(d / shard.file, shard, dtype, manifest.vocab_size))
    arrays = {}
    for split in SPLITS:
        if not parts[split]:
            raise DataError(f"manifest lists no {split} shard; {_FIX}", path=str(mpath))
        arrays[split] = torch.from_numpy(np.concatenate(parts[split]).astype(np.int64))
    return Dataset(manifest, arrays["train"], arrays["val"], d)


def _read_shard(path: Path, shard: Shard, dtype: np.dtype, vocab_size: int) -> np.ndarray:
    if shard.split not in SPLITS:
        raise DataError(f"shard has unknown split {shard.split!r}; {_FIX}", path=str(path))
    if not path.is_file():
        raise DataError(f"shard listed in {MANIFEST} is missing; {_FIX}", path=str(path))
    data = path.read_bytes()
    if len(data) % dtype.itemsize:
        raise DataError(
            f"truncated shard: {len(data)} bytes is not a multiple of {dtype.itemsize} "
            f"({dtype.name}); {_FIX}",
            path=str(path),
        )
    if len(data) // dtype.itemsize != shard.tokens:
        raise DataError(
            f"shard holds {len(data) // dtype.itemsize} tokens but {MANIFEST} says {shard.tokens}; {_FIX}",
            path=str(path),
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != shard.sha256:
        raise DataError(
            f"shard is corrupt: sha256 {digest[:12]}… ≠ manifest {shard.sha256[:12]}…; {_FIX}", path=str(path)
        )
    arr = np.frombuffer(data, dtype=dtype)
    if arr.size and int(arr.max()) >= vocab_size:
        raise DataError(
            f"shard holds token id {int(arr.max())} ≥ vocab_size {vocab_size}; {_FIX}", path=str(path)
        )
    return arr


class TokenStream:
    """Deterministic (x, y) batches of shape (B, T) from one token array, rank-disjoint.

    The array is cut into n = (N-1)//T non-overlapping windows (window i: x = tokens[iT : iT+T], y shifted
    by one). Each pass over the data ("cycle") permutes the windows with a torch.Generator seeded from
    (seed, cycle); rank r takes every world_size-th window of the permutation, so ranks never share a
    window within a pass. Windows left over after whole batches are skipped in that pass only (the next
    permutation covers them). At the end of a pass: DataExhausted, or with allow_cycle a new pass, with
    `.cycles` counting completed passes and `on_cycle(1)` called once, at the first boundary.
    """

    STATE_VERSION = 1

    def __init__(
        self,
        tokens: torch.Tensor | np.ndarray,
        batch_size: int,
        seq_len: int,
        *,
        seed: int,
        allow_cycle: bool,
        rank: int = 0,
        world_size: int = 1,
        on_cycle: Callable[[int], None] | None = None,
    ) -> None:
        if batch_size < 1 or seq_len < 1:
            raise ValueError(f"batch_size and seq_len must be ≥ 1, got {batch_size} and {seq_len}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, world_size={world_size})")
        self.tokens = torch.as_tensor(tokens).long()  # (N,)
        self.batch_size, self.seq_len = batch_size, seq_len
        self.seed, self.allow_cycle = seed, allow_cycle
        self.rank, self.world_size = rank, world_size
        self.on_cycle = on_cycle
        self.n_windows = max(0, (len(self.tokens) - 1) // seq_len)
        self.batches_per_pass = (self.n_windows // world_size) // batch_size
        if self.batches_per_pass == 0:
            raise DataError(
                f"{len(self.tokens)} tokens make {self.n_windows} windows of {seq_len}+1 tokens, fewer than "
                f"one batch of {batch_size} per rank × {world_size} ranks; use more data or smaller "
                f"--batch-size/--seq-length"
            )
        self.cycles = 0
        self.position = 0  # batches already yielded in the current pass
        self._order: torch.Tensor | None = None

    def tokens_available(self) -> int:
        """Input tokens (B·T per batch) one pass yields to this rank: the budget preflight's denominator."""
        return self.batches_per_pass * self.batch_size * self.seq_len

    def _windows_for_pass(self) -> torch.Tensor:
        if self._order is None:
            # Mixing (seed, cycle) rather than adding keeps seed 0 pass 1 distinct from seed 1 pass 0.
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.cycles) % (1 << 63))
            perm = torch.randperm(self.n_windows, generator=g)
            per_rank = self.batches_per_pass * self.batch_size
            self._order = perm[self.rank :: self.world_size][:per_rank]
        return self._order

    def __iter__(self) -> TokenStream:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position == self.batches_per_pass:
            if not self.allow_cycle:
                raise DataExhausted(
                    f"token stream exhausted after {self.batches_per_pass} batches "
                    f"({self.tokens_available()} tokens per pass on this rank); prepare more data, "
                    f"lower --num-steps, or pass --allow-shard-cycle to reuse the data"
                )
            self.cycles += 1
            self.position = 0
            self._order = None
            if self.cycles == 1 and self.on_cycle is not None:
                self.on_cycle(self.cycles)
        order = self._windows_for_pass()
        b = order[self.position * self.batch_size : (self.position + 1) * self.batch_size]  # (B,)
        starts = b * self.seq_len
        idx = starts[:, None] + torch.arange(self.seq_len + 1)  # (B, T+1)
        chunk = self.tokens[idx]  # (B, T+1)
        self.position += 1
        return chunk[:, :-1], chunk[:, 1:]  # (B, T) each

    def state_dict(self) -> dict[str, int]:
        """JSON-safe ints: enough to continue exactly where this stream stopped."""
        return {
            "version": self.STATE_VERSION,
            "seed": self.seed,
            "cycles": self.cycles,
            "position": self.position,
            "n_tokens": len(self.tokens),
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "rank": self.rank,
            "world_size": self.world_size,
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        mine = self.state_dict()
        fixed = ("version", "seed", "n_tokens", "batch_size", "seq_len", "rank", "world_size")
        diff = [f"{k}: saved {state.get(k)!r}, now {mine[k]!r}" for k in fixed if state.get(k) != mine[k]]
        if diff:
            raise DataError("cannot resume the token stream, its setup changed (" + "; ".join(diff) + ")")
        position, cycles = int(state["position"]), int(state["cycles"])
        if not (0 <= position <= self.batches_per_pass and cycles >= 0):
            raise DataError(f"corrupt stream state: position {position}, cycles {cycles}")
        self.position, self.cycles, self._order = position, cycles, None


def val_batches(
    val_tokens: torch.Tensor | np.ndarray, batch_size: int, seq_len: int, max_batches: int | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The held-out set as consecutive windows in order, batched; the last batch may be smaller.

    Weight a mean over batches by x.numel() (or sum per-token losses) so the short tail batch counts
    for what it holds.
    """
    tokens = torch.as_tensor(val_tokens).long()
    n_windows = max(0, (len(tokens) - 1) // seq_len)
    if n_windows == 0:
        raise DataError(f"val split has {len(tokens)} tokens, fewer than one window of {seq_len}+1")
    out = []
    for first in range(0, n_windows, batch_size):
        if max_batches is not None and len(out) == max_batches:
            break
        w = torch.arange(first, min(first + batch_size, n_windows))
        idx = (w * seq_len)[:, None] + torch.arange(seq_len + 1)  # (b, T+1)
        chunk = tokens[idx]
        out.append((chunk[:, :-1], chunk[:, 1:]))
    return out
