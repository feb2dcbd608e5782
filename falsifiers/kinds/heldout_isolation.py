"""heldout-isolation: a real run that cycles its training data never trains on held-out tokens.

Target: the run entry point (trainer.loop:run). A real run on a dataset small enough to cycle
(falsifiers.runtime.cycling_dataset_dir) runs `passes` passes over the training split plus one batch,
while every batch the stream class (`stream`) yields is recorded. The oracle reads the dataset's train
and val shards straight from disk (manifest + raw bytes, no trainer code) and requires: the stream
cycled, one batch per step was drawn, and every row (x with y's last token) is a contiguous window of the
training split. A row that is not is reported as a held-out leak when its tokens are a window of the
val split.
"""

from __future__ import annotations

import json
import sys

NAME = "heldout-isolation"
SUMMARY = "a real run cycling its train split for several passes never yields a held-out window"
PARAMS = {
    "stream": "the token stream class whose batches are observed (module:Class)",
    "passes": "full passes over the training split before the last batch (default 2)",
    "batch_size": "rows per batch (default 4)",
    "seq_length": "tokens per row (default 16)",
}
REQUIRED_PARAMS = ("stream",)
TARGET_PARAMS = ("stream",)
ARGS: tuple[str, ...] = ()
GROUP = "tiny-run"


def split_tokens(data_dir, split):
    """The split's tokens, concatenated from its shards in manifest order, as a list of ints."""
    import numpy as np

    manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    dtype = np.dtype(manifest["dtype"])
    out: list[int] = []
    for shard in manifest["shards"]:
        if shard["split"] == split:
            out += np.frombuffer((data_dir / shard["file"]).read_bytes(), dtype=dtype).tolist()
    return out


def windows(tokens, width):
    return {tuple(tokens[i : i + width]) for i in range(len(tokens) - width + 1)}


def check_batches(batches, train, val, seq_length):
    """Every recorded row is a window of `train`; rows from `val` are named as leaks."""
    __tracebackhide__ = True
    allowed, held_out = windows(train, seq_length + 1), windows(val, seq_length + 1)
    for k, (x, y) in enumerate(batches):
        for j, (row_x, row_y) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
            assert row_x[1:] == row_y[:-1], f"batch {k} row {j}: y is not x shifted by one token"
            row = (*row_x, row_y[-1])
            if row in allowed:
                continue
            if row in held_out:
                raise AssertionError(
                    f"batch {k} row {j} is a window of the held-out split: val data trained on"
                )
            raise AssertionError(f"batch {k} row {j} is not a window of the training split (invented data?)")


def check(target, stream, passes=2, batch_size=4, seq_length=16):
    __tracebackhide__ = True
    from falsifiers.runtime import cycling_dataset_dir, fresh_run_dir, recorded_batches, resolve, tiny_config

    data_dir = cycling_dataset_dir()
    train, val = split_tokens(data_dir, "train"), split_tokens(data_dir, "val")
    per_pass = ((len(train) - 1) // seq_length) // batch_size
    assert per_pass >= 1, f"the cycling dataset holds {len(train)} train tokens, less than one batch"
    steps = passes * per_pass + 1
    cfg = tiny_config(
        fresh_run_dir("heldout"),
        dataset=str(data_dir),
        batch_size=batch_size,
        seq_length=seq_length,
        num_steps=steps,
        steps_per_epoch=steps,
        warmup_steps=0,
        allow_shard_cycle=True,
        eval_batches=1,
    )
    with recorded_batches(resolve(stream)) as seen:
        target(cfg)
    assert len(seen) == steps, f"{steps} steps drew {len(seen)} batches from the stream"
    check_batches(seen, train, val, seq_length)


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
