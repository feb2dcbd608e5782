"""dataset-integrity: the held-out split is disjoint and every shard matches its manifest.

property (param), on the shared tiny dataset (target: load_dataset):
  split-disjoint  the manifest's val documents are a non-empty proper subset of the corpus files and
                  no val document's token sequence occurs in the train shard
  manifest-sha    the clean copy loads; flipping one byte of any shard makes loading raise a
                  status-carrying error (a hostile `position` picks the byte)
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from hypothesis import strategies as st

NAME = "dataset-integrity"
SUMMARY = "held-out split disjoint from train; any corrupted shard byte is refused on load"
PARAMS = {"property": "split-disjoint | manifest-sha"}
REQUIRED_PARAMS = ("property",)
ARGS = ("position",)
GROUP = "tiny-run"


def strategies(property):
    return {"position": st.integers(0, 2**31)}


def check(target, position, property):
    __tracebackhide__ = True
    from falsifiers.runtime import tiny_dataset_dir, tiny_tokenizer_dir

    data_dir = tiny_dataset_dir()
    manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    if property == "split-disjoint":
        val_docs = manifest.get("val_documents") or []
        counts = manifest["documents"]
        assert val_docs and counts["val"] == len(val_docs), f"val documents {val_docs} vs counts {counts}"
        assert counts["train"] >= 1, "no training documents"
        ds = target(data_dir)
        train = [int(t) for t in ds.train_tokens]
        val = [int(t) for t in ds.val_tokens]
        eot = manifest["tokenizer"]["eot_id"]
        # Each val document (between EOTs) must not appear verbatim inside the train stream.
        docs, cur = [], []
        for tok in val:
            if tok == eot:
                docs.append(cur)
                cur = []
            else:
                cur.append(tok)
        hay = ",".join(map(str, train))
        for d in docs:
            if len(d) >= 16:
                needle = ",".join(map(str, d[:64]))
                assert needle not in hay, "a held-out document also occurs in the training shard (split leak)"
        return
    if property == "manifest-sha":
        target(data_dir, tiny_tokenizer_dir())
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "data"
            shutil.copytree(data_dir, copy)
            shards = sorted(p for p in copy.iterdir() if p.suffix == ".bin")
            shard = shards[position % len(shards)]
            raw = bytearray(shard.read_bytes())
            raw[position % len(raw)] ^= 0x01
            shard.write_bytes(bytes(raw))
            try:
                target(copy, tiny_tokenizer_dir())
            except Exception as exc:
                assert getattr(exc, "status", None) is not None, (
                    f"corruption raised untyped {type(exc).__name__}"
                )
                return
            raise AssertionError(
                f"flipped byte {position % len(raw)} of {shard.name} and the dataset still loaded"
            )
    raise ValueError(f"unknown dataset property {property!r}")


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
