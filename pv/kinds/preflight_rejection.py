"""preflight-rejection: a preflight guard refuses exactly the plans the contract rule refuses.

guard `vocab`  (target vocab_preflight(tokenizer_vocab, model_vocab)): refuse iff tokenizer > model.
guard `budget` (target budget_preflight(planned, corpus, allow_cycle)): refuse iff corpus ≤ 0, or
planned > corpus without cycling. A refusal must carry status PREFLIGHT; an acceptance must not raise.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "preflight-rejection"
SUMMARY = "vocab / budget preflight on generated sizes vs the refusal rule"
PARAMS = {"guard": "vocab | budget"}
REQUIRED_PARAMS = ("guard",)
ARGS = ("sizes",)


def oracle(guard: str, sizes) -> bool:
    """True when the plan must be refused."""
    if guard == "vocab":
        tok, model = sizes
        return tok > model
    planned, corpus, cycle = sizes
    return corpus <= 0 or (planned > corpus and not cycle)


def strategies(guard):
    n = st.integers(2, 70000)
    if guard == "vocab":
        # Equal sizes and off-by-one are where `>` vs `>=` bugs live.
        return {"sizes": n.flatmap(lambda a: st.tuples(st.just(a), st.sampled_from([a - 1, a, a + 1]) | n))}
    counts = st.integers(0, 10**9)
    return {
        "sizes": counts.flatmap(
            lambda c: st.tuples(st.sampled_from([c - 1, c, c + 1]) | counts, st.just(c), st.booleans())
        )
    }


def check(target, sizes, guard):
    __tracebackhide__ = True
    sizes = tuple(sizes)
    try:
        target(*sizes)
        refused, status = False, None
    except Exception as exc:
        refused, status = True, str(getattr(getattr(exc, "status", None), "label", type(exc).__name__))
    want = oracle(guard, sizes)
    assert refused == want, (
        f"{guard} preflight with {sizes}: {'refused' if refused else 'accepted'}, the rule says "
        f"{'refuse' if want else 'accept'}"
    )
    if refused:
        assert status == "PREFLIGHT", f"{guard} preflight refused {sizes} with {status}, not PREFLIGHT"
