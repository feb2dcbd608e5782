"""ddp-disjoint: data-parallel ranks split each global batch; no window is read by two ranks in a pass.

Target: the per-rank stream class (trainer.distributed:ShardedStream(inner, rank, world_size)) over a
single-process TokenStream (trainer.data:TokenStream) with the GLOBAL batch. Over drawn layouts
(world_size, per-rank batch, seq_len, spare windows, seed) and one full pass of the data: each rank gets
exactly batch/world_size rows per step; concatenating the ranks' slices in rank order gives exactly
the single-process batch of that step (x and y); no input window appears on two ranks (tokens are
arange(n), so a row's first token names its window); and every rank's stream state equals the
single-process stream's, so a checkpoint resumes under any world size.
"""

from __future__ import annotations

import sys

from hypothesis import strategies as st

NAME = "ddp-disjoint"
SUMMARY = "ranks' batch slices concatenate to the 1-process batch; no window on two ranks in a pass"
PARAMS: dict[str, str] = {"max_world_size": "largest world size drawn (default 4)"}
ARGS = ("layout",)


def strategies(max_world_size=4):
    return {
        "layout": st.tuples(
            st.integers(1, max_world_size),  # world size
            st.integers(1, 4),  # per-rank batch
            st.integers(2, 9),  # seq_len
            st.integers(0, 40),  # spare windows beyond one global batch
            st.integers(0, 99),  # seed
        )
    }


def check(target, layout, max_world_size=4):
    __tracebackhide__ = True
    import torch

    from falsifiers.runtime import resolve

    token_stream = resolve("trainer.data:TokenStream")
    world, b, t, spare, seed = layout
    n_windows = world * b + spare
    tokens = torch.arange(n_windows * t + 1)

    def global_stream():
        return token_stream(tokens, world * b, t, seed=seed, allow_cycle=False)

    ranks = [target(global_stream(), r, world) for r in range(world)]
    ref = global_stream()
    owner: dict[int, int] = {}
    for step in range(ref.batches_per_pass):
        x_ref, y_ref = next(ref)
        parts = [next(s) for s in ranks]
        for r, (x, _) in enumerate(parts):
            assert x.shape[0] == b, f"step {step}: rank {r} got {x.shape[0]} rows, want {b} = B/world_size"
            for start in x[:, 0].tolist():
                assert start not in owner, (
                    f"step {step}: window at token {start} read by ranks {owner[start]} and {r} in one pass"
                )
                owner[start] = r
        x_cat = torch.cat([x for x, _ in parts])
        y_cat = torch.cat([y for _, y in parts])
        assert torch.equal(x_cat, x_ref) and torch.equal(y_cat, y_ref), (
            f"step {step}: the ranks' slices (rank order) are not the single-process batch "
            f"(world {world}, per-rank batch {b})"
        )
    for r, s in enumerate(ranks):
        assert s.state_dict() == ref.state_dict(), (
            f"rank {r} stream state {s.state_dict()} differs from the single-process {ref.state_dict()}: "
            f"a checkpoint would not resume under another world size"
        )


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
