"""round-trip: decode(encode(x)) == x on hypothesis-drawn inputs, for the tokenizer or a config.

subject `tokenizer` (target: the tokenizer class with `.load(dir)`): the shared tiny tokenizer must
round-trip any text (lone surrogates excluded: they are not text), emit only ids in [0, vocab_size),
encode deterministically, and encode special-token *text* as ordinary bytes (never the special id).
subject `config` (target: the config class with to_json/from_json): a config built from drawn values
survives JSON and back unchanged.
"""

from __future__ import annotations

import sys

from hypothesis import strategies as st

NAME = "round-trip"
SUMMARY = "decode(encode(x)) == x for the tokenizer (ids in range, deterministic) or the config JSON"
PARAMS = {"subject": "tokenizer | config"}
REQUIRED_PARAMS = ("subject",)
ARGS = ("text",)

SPECIALS = ("<|endoftext|>", "<|pad|>")


def strategies(subject):
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
    tricky = st.sampled_from(
        ["", " ", "\n\n", "é", "e\u0301", "\U0001f600", "<|endoftext|>", "\x00", "\ufeff"]
    )
    return {"text": st.one_of(tricky, text, st.lists(tricky | text, max_size=4).map("".join))}


def check(target, text, subject):
    __tracebackhide__ = True
    if subject == "tokenizer":
        from falsifiers.runtime import tiny_tokenizer_dir

        tok = target.load(tiny_tokenizer_dir())
        ids = tok.encode(text)
        assert tok.decode(ids) == text, f"decode(encode({text!r})) = {tok.decode(ids)!r}"
        assert all(0 <= i < tok.vocab_size for i in ids), f"ids {ids} leave [0, {tok.vocab_size})"
        assert tok.encode(text) == ids, f"encoding {text!r} twice gave different ids"
        special_ids = set(tok.special_tokens.values())
        assert not special_ids & set(ids), f"plain text {text!r} produced a special-token id ({ids})"
        return
    if subject == "config":
        cfg = target(dataset=text or "d", tokenizer="t", run_dir=text + "/run", seed=len(text))
        back = target.from_json(cfg.to_json())
        assert back == cfg, f"config JSON round trip changed it: {cfg} → {back}"
        return
    raise ValueError(f"unknown round-trip subject {subject!r}")


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
