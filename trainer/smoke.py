"""Tiny generated inputs for driving `trainer pretrain` end to end in about a second per run.

`inputs(name)` builds, once per process and in a temporary folder, a byte-level BPE tokenizer (320 ids)
and the prepared dataset `name`, and returns the flags that point a run at them:

  tiny         24 short generated modules: 4,732 train / 1,578 held-out tokens. At --seq-length 32
               the held-out split is 49 windows, so batches of 4 end with a short batch of 1.
  val-drift    training documents that repeat one token pattern and held-out documents of code: a
               model that learns the training text fast gets worse on the held-out text (val loss
               rises while train loss falls).
  short-train  6 of those modules, 4 in train: one pass of batches of 4 x 32 is 8 batches (the held-out
               split holds 4), so a plan can sit just below, at or just above one pass.
  oov-shard    `tiny` with one training token replaced by id 320 (= the vocabulary size) and the
               manifest's sha256 updated to match: a consistent dataset holding an id no model row has.

The documents are generated (no download, nothing read from the machine), so every machine builds
byte-identical inputs. The pv run-surface falsifiers use these through `trainer.surface`.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

VOCAB_SIZE = 320
INPUTS = ("tiny", "val-drift", "short-train", "oov-shard")
_DOCS = 24
_VAL_FRACTION = 0.25


def _module(i: int) -> str:
    """A short, distinct generated Python module."""
    return "".join(f"def f_{i}_{j}(x, y):\n    return x * {i * 7 + j} - y // {j + 1}\n" for j in range(12))


def _is_heldout(name: str, val_fraction: float) -> bool:
    """The split rule the manifest documents: sha256 of the relative path, as a fraction of 2**256."""
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) / 2**256 < val_fraction


@functools.cache
def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="trainer-smoke-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@functools.cache
def _tokenizer() -> Path:
    from trainer.tokenizer import train_tokenizer

    corpus = _corpus("tiny", {f"m{i:02d}.py": _module(i) for i in range(_DOCS)})
    out = _root() / "tokenizer"
    train_tokenizer(sorted(corpus.iterdir()), VOCAB_SIZE, out)
    return out


def _corpus(name: str, docs: dict[str, str]) -> Path:
    folder = _root() / f"corpus-{name}"
    if not folder.exists():
        folder.mkdir()
        for file, text in docs.items():
            (folder / file).write_text(text, encoding="utf-8")
    return folder


def _prepare(name: str, docs: dict[str, str], val_fraction: float) -> Path:
    from trainer.data import prepare_dataset

    out = _root() / f"data-{name}"
    prepare_dataset(str(_corpus(name, docs)), _tokenizer(), out, val_fraction=val_fraction)
    return out


def _val_drift_docs() -> dict[str, str]:
    names = [f"d{i:02d}.py" for i in range(20)]
    return {n: _module(i) if _is_heldout(n, 0.3) else "aaaa " * 400 + "\n" for i, n in enumerate(names)}


def _oov_copy(source: Path) -> Path:
    """`source` with the first training token set to VOCAB_SIZE, and the manifest's sha256 rewritten."""
    out = _root() / "data-oov-shard"
    shutil.copytree(source, out)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    shard = next(s for s in manifest["shards"] if s["split"] == "train")
    path = out / shard["file"]
    data = bytearray(path.read_bytes())
    data[0:2] = VOCAB_SIZE.to_bytes(2, "little")  # uint16 ids: the vocabulary is below 65,536
    path.write_bytes(bytes(data))
    shard["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


@functools.cache
def _dataset(name: str) -> Path:
    if name == "tiny":
        return _prepare(name, {f"m{i:02d}.py": _module(i) for i in range(_DOCS)}, _VAL_FRACTION)
    if name == "short-train":
        return _prepare(name, {f"m{i:02d}.py": _module(i) for i in range(6)}, 0.15)
    if name == "val-drift":
        return _prepare(name, _val_drift_docs(), 0.3)
    if name == "oov-shard":
        return _oov_copy(_dataset("tiny"))
    raise KeyError(f"no smoke input {name!r}; known: {', '.join(INPUTS)}")


def inputs(name: str) -> dict[str, Any]:
    """{"flags": {"dataset", "tokenizer"}, "vocab_size": the tokenizer's} for the named input."""
    import torch

    torch.set_num_threads(1)  # tiny runs: one thread is faster on shared cores and bit-reproducible
    return {
        "flags": {"dataset": str(_dataset(name)), "tokenizer": str(_tokenizer())},
        "vocab_size": VOCAB_SIZE,
    }
