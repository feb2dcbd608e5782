"""preflight-rejection: a preflight guard refuses exactly the plans the contract rule refuses.

guard `vocab`  (target vocab_preflight(tokenizer_vocab, model_vocab)): refuse iff tokenizer > model.
guard `budget` (target budget_preflight(planned, corpus, allow_cycle)): refuse iff corpus ≤ 0, or
planned > corpus without cycling. A refusal must carry `status` (default PREFLIGHT); an acceptance must
not raise. For a guard written elsewhere (pv.kinds._verdicts): `arguments` gives its parameter order
(vocab: tokenizer_vocab, model_vocab; budget: planned, corpus, allow_cycle), `status_of` reads the label
from the raised exception (default `exc.status.label`, else the class name), `raises` names the class a
refusal must be, and `status: null` checks only that it refused (with `raises`, the class is the verdict).
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "preflight-rejection"
SUMMARY = "vocab / budget preflight on generated sizes vs the refusal rule"
PARAMS = {
    "guard": "vocab | budget",
    "status": "status label a refusal carries (default PREFLIGHT; null: not checked)",
    "arguments": "the guard's positional arguments by name (default: vocab tokenizer_vocab, model_vocab; "
    "budget planned, corpus, allow_cycle)",
    "status_of": "adapter (exc) -> status label (default exc.status.label, else the class name)",
    "raises": "exception class every refusal must be (ValueError, pkg.mod:VocabError); default any",
}
REQUIRED_PARAMS = ("guard",)
TARGET_PARAMS = ("status_of",)
ARGUMENTS = {
    "vocab": ("tokenizer_vocab", "model_vocab"),
    "budget": ("planned", "corpus", "allow_cycle"),
}
ARGS = ("sizes",)


def oracle(guard: str, sizes) -> bool:
    """True when the plan must be refused."""
    if guard == "vocab":
        tok, model = sizes
        return tok > model
    planned, corpus, cycle = sizes
    return corpus <= 0 or (planned > corpus and not cycle)


def strategies(guard, **_adapters):
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


def check(target, sizes, guard, status="PREFLIGHT", arguments=None, status_of=None, raises=None):
    __tracebackhide__ = True
    from pv.kinds._verdicts import refusal

    if guard not in ARGUMENTS:
        raise ValueError(f"preflight-rejection guard must be vocab or budget, got {guard!r}")
    sizes = tuple(sizes)
    values = dict(zip(ARGUMENTS[guard], sizes, strict=True))
    refused, got = refusal(target, tuple(arguments or ARGUMENTS[guard]), values, status_of, raises)
    want = oracle(guard, sizes)
    assert refused == want, (
        f"{guard} preflight with {values}: {'refused' if refused else 'accepted'}, the rule says "
        f"{'refuse' if want else 'accept'}"
    )
    if refused and status is not None:
        assert got == status, f"{guard} preflight refused {values} with {got}, not {status}"
