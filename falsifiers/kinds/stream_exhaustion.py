"""stream-exhaustion: a token stream either cycles honestly or stops; it never invents batches.

Target: the stream class TokenStream(tokens, batch_size, seq_len, *, seed, allow_cycle, on_cycle).
Over drawn sizes: every batch is a real window of the tokens (x = tokens[s:s+T], y = tokens[s+1:s+T+1]);
without cycling, the stream raises a status-carrying error after at most one pass worth of windows;
with cycling, it keeps yielding real windows, counts `.cycles`, and calls on_cycle exactly once.
"""

from __future__ import annotations

import sys

from hypothesis import strategies as st

NAME = "stream-exhaustion"
SUMMARY = "TokenStream never yields placeholders: stops without cycling, cycles (said once) with it"
PARAMS: dict[str, str] = {}
ARGS = ("shape",)


def strategies():
    return {
        "shape": st.tuples(st.integers(40, 400), st.integers(1, 4), st.integers(2, 9), st.integers(0, 99))
    }


def _real_window(tokens, x, y) -> bool:
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        s = row_x[0]  # tokens are arange(n) + 7, so the value names the position
        start = s - 7
        if row_x != tokens[start : start + len(row_x)] or row_y != tokens[start + 1 : start + 1 + len(row_y)]:
            return False
    return True


def check(target, shape):
    __tracebackhide__ = True
    import torch

    n, b, t, seed = shape
    if (n - 1) // t < b:
        return  # fewer windows than one batch: the constructor's own refusal, not this property
    tokens = list(range(7, 7 + n))
    stream = target(torch.tensor(tokens), b, t, seed=seed, allow_cycle=False)
    max_batches = ((n - 1) // t) // b
    got = 0
    try:
        for _ in range(max_batches + 1):
            x, y = next(stream)
            assert _real_window(tokens, x, y), f"batch {got} is not a window of the data (placeholder?)"
            got += 1
    except StopIteration as exc:
        raise AssertionError("stream ended with StopIteration instead of a status-carrying error") from exc
    except AssertionError:
        raise
    except Exception as exc:
        assert getattr(exc, "status", None) is not None, (
            f"exhaustion raised {type(exc).__name__} without a status"
        )
    else:
        raise AssertionError(
            f"{got} batches from {n} tokens at B={b}, T={t}: more than one pass ({max_batches})"
        )
    calls = []
    stream = target(torch.tensor(tokens), b, t, seed=seed, allow_cycle=True, on_cycle=calls.append)
    for i in range(3 * max_batches + 1):
        x, y = next(stream)
        assert _real_window(tokens, x, y), f"cycled batch {i} is not a window of the data (placeholder?)"
    assert stream.cycles >= 3, (
        f"{3 * max_batches + 1} batches of {max_batches} per pass, cycles={stream.cycles}"
    )
    assert len(calls) == 1, (
        f"on_cycle called {len(calls)} times; the contract says once, at the first boundary"
    )


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
