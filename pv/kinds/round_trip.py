"""round-trip: decode(encode(x)) == x on hypothesis-drawn inputs, for a tokenizer or a config.

subject `tokenizer`. The target is the tokenizer: an object with `encode(text) -> list[int]` (an
object with `.ids`, such as a `tokenizers.Encoding`, works too) and `decode(ids) -> str`; or a class
or factory that builds one (`target(**factory_kwargs)`); or, with the `load` adapter
`(target) -> tokenizer`, whatever `load` makes of it (a class loaded from files a fixture wrote).
It is built once per process. On drawn unicode text (combining marks, emoji, NUL, BOM, special-token
text; lone surrogates excluded: they are not text) it must round-trip exactly, emit only ids in
[0, vocab_size) — `vocab_size` as the contract pins it (the model's embedding rows), else the
tokenizer's own (`vocab_size` attribute or method, `get_vocab_size()`) — and encode deterministically.
With `specials_in_text: plain` (default) special-token *text* in the input is ordinary text, never a
special id; the special ids are the `special_tokens` param ({text: id}) or the tokenizer's
`special_tokens` mapping.

subject `config`. The target is a config class with `to_json() -> str` and `from_json(str)` (other
method names: `dump` / `parse`); it is built from drawn `fields` ({name: text | int | float | bool |
[choices]}) plus fixed `config_kwargs`, and must survive JSON and back unchanged.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAME = "round-trip"
SUMMARY = "decode(encode(x)) == x for a tokenizer (ids in range, deterministic, specials) or a config's JSON"
PARAMS = {
    "subject": "tokenizer | config",
    "load": "tokenizer: adapter (target) -> tokenizer (default: the target, or target(**factory_kwargs))",
    "factory_kwargs": "tokenizer: keyword arguments when the target is a class or factory",
    "vocab_size": "tokenizer: ids must be < this (default the tokenizer's own vocabulary size)",
    "special_tokens": "tokenizer: {text: id} of the special tokens (default the tokenizer's special_tokens)",
    "specials_in_text": "tokenizer: plain (default: special text encodes as text) | allowed (not checked)",
    "fields": "config: {field: text | int | float | bool | [choices]} drawn into the config",
    "config_kwargs": "config: fixed fields every drawn config gets",
    "dump": "config: name of the method that serialises (default to_json)",
    "parse": "config: name of the class method that reads it back (default from_json)",
}
REQUIRED_PARAMS = ("subject",)
TARGET_PARAMS = ("load",)
ARGS = ("text",)

TRICKY = ["", " ", "\n\n", "é", "e\u0301", "\U0001f600", "<|endoftext|>", "\x00", "\ufeff"]
_FIELD_TYPES = ("text", "int", "float", "bool")


def _text():
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=200)


def _field(spec):
    if isinstance(spec, list):
        return st.sampled_from(spec)
    if spec == "text":
        return _text()
    if spec == "int":
        return st.integers(-(2**31), 2**31)
    if spec == "float":
        return st.floats(allow_nan=False, allow_infinity=False)
    if spec == "bool":
        return st.booleans()
    raise ValueError(f"round-trip field type {spec!r} is unknown; use {', '.join(_FIELD_TYPES)} or a list")


def strategies(subject, fields=None, special_tokens=None, **_):
    if subject == "config":
        if not fields:
            raise ValueError("round-trip subject config needs `fields` ({name: text | int | ...})")
        return {"text": st.fixed_dictionaries({k: _field(v) for k, v in fields.items()})}
    if subject != "tokenizer":
        raise ValueError(f"unknown round-trip subject {subject!r}; use tokenizer or config")
    specials = sorted(special_tokens or {})
    tricky = st.sampled_from(TRICKY + [s for s in specials if s not in TRICKY])
    text = _text()
    return {"text": st.one_of(tricky, text, st.lists(tricky | text, max_size=4).map("".join))}


_TOKENIZERS: dict[tuple, object] = {}


def tokenizer_of(target, load=None, factory_kwargs=None):
    """The tokenizer under test, built once per process for each (target, load, kwargs)."""
    key = (target, load, repr(sorted((factory_kwargs or {}).items())))
    if key not in _TOKENIZERS:
        if load is not None:
            from pv.runtime import resolve

            tok = resolve(load)(target)
        elif hasattr(target, "encode") and not isinstance(target, type):
            tok = target
        else:
            tok = target(**(factory_kwargs or {}))
        missing = [m for m in ("encode", "decode") if not callable(getattr(tok, m, None))]
        if missing:
            raise TypeError(f"the tokenizer ({type(tok).__name__}) has no {', '.join(missing)} method")
        _TOKENIZERS[key] = tok
    return _TOKENIZERS[key]


def ids_of(encoded) -> list[int]:
    ids = getattr(encoded, "ids", encoded)
    return [int(i) for i in ids]


def vocab_size_of(tok) -> int:
    for name in ("vocab_size", "get_vocab_size"):
        value = getattr(tok, name, None)
        if value is not None:
            return int(value() if callable(value) else value)
    raise TypeError(
        f"the tokenizer ({type(tok).__name__}) has no vocab_size or get_vocab_size(); "
        "pin the contract's `vocab_size` param"
    )


def check(
    target,
    text,
    subject,
    load=None,
    factory_kwargs=None,
    vocab_size=None,
    special_tokens=None,
    specials_in_text="plain",
    fields=None,
    config_kwargs=None,
    dump="to_json",
    parse="from_json",
):
    __tracebackhide__ = True
    if subject == "config":
        cfg = target(**(config_kwargs or {}), **text)
        back = getattr(target, parse)(getattr(cfg, dump)())
        assert back == cfg, f"config JSON round trip changed it: {cfg} → {back}"
        return
    if subject != "tokenizer":
        raise ValueError(f"unknown round-trip subject {subject!r}")
    if specials_in_text not in ("plain", "allowed"):
        raise ValueError(f"specials_in_text must be plain or allowed, got {specials_in_text!r}")
    tok = tokenizer_of(target, load, factory_kwargs)
    ids = ids_of(tok.encode(text))
    back = tok.decode(ids)
    assert back == text, f"decode(encode({text!r})) = {back!r} (ids {ids})"
    v = vocab_size if vocab_size is not None else vocab_size_of(tok)
    outside = sorted({i for i in ids if not 0 <= i < v})
    assert not outside, f"encode({text!r}) emits ids {outside} outside [0, {v}) (ids {ids})"
    assert ids_of(tok.encode(text)) == ids, f"encoding {text!r} twice gave different ids"
    if specials_in_text == "plain":
        specials = special_tokens if special_tokens is not None else getattr(tok, "special_tokens", None)
        special_ids = set((specials or {}).values()) if isinstance(specials, dict) else set()
        forged = sorted(special_ids & set(ids))
        assert not forged, f"plain text {text!r} produced special-token id(s) {forged} ({ids})"
