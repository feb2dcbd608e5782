"""validator-robustness: pv validate turns bad input into findings or a clean usage error, never a crash.

case (param), target validate_paths(patterns, *, config, use_cache, jobs):
  unknown-key   a valid contract plus one drawn unknown key (top level or in an invariant) gets an
                extra error finding that names the key
  empty-input   a folder without contracts raises pv's usage error; an empty file is an error finding
  hostile-yaml  drawn hostile bytes (YAML bombs, deep nesting, python tags, binary, BOMs) return a
                report with ≥ 1 error; any exception other than pv's own errors is a crash
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hypothesis import strategies as st

NAME = "validator-robustness"
SUMMARY = "pv validate: unknown keys rejected, empty input an error, hostile YAML a finding not a crash"
PARAMS = {"case": "unknown-key | empty-input | hostile-yaml"}
REQUIRED_PARAMS = ("case",)
ARGS = ("blob",)

VALID = """\
schema: pv/v1
id: C-PROBE
version: 1.0.0
status: active
kind: tool
summary: A probe contract.
changelog:
  - {version: 1.0.0, date: 2026-01-01, summary: First.}
acceptance_criteria:
  - {id: AC-PROBE, statement: The probe holds.}
invariants:
  - id: INV-PROBE-001
    statement: The probe holds.
"""

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
HOSTILE = [
    BOMB,
    "[" * 5000 + "]" * 5000,
    "!!python/object/apply:os.system ['true']\n",
    "\ufeffschema: pv/v1\n",
    "\x00\x01\x02binary",
    "id: [unclosed\n",
    "- a\n- b\n",
    "42\n",
    "schema: pv/v1\nschema: pv/v1\n",
    "key: !!binary AAAA\n",
    "? [a, b]\n: c\n",
    "x: 1e999999\n",
    "x: 0x" + "f" * 400 + "\n",
]


def strategies(case):
    if case == "unknown-key":
        key = st.from_regex(r"\A[a-z][a-z_]{0,12}\Z")
        return {"blob": st.tuples(key.filter(lambda k: k not in VALID), st.booleans())}
    return {
        "blob": st.one_of(
            st.sampled_from(HOSTILE),
            st.text(max_size=300),
            st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        )
    }


def _validate(target, tmp: Path, name: str, text: str | None):
    from pv.config import PvConfig

    path = tmp / name
    if text is not None:
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return target([str(path)], config=PvConfig.default(tmp), use_cache=False, jobs=1)


def check(target, blob, case):
    __tracebackhide__ = True
    from pv.errors import PvError

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if case == "unknown-key":
            key, nested = blob
            clean = _validate(target, tmp, "clean.yaml", VALID)
            bad = VALID + f"{key}: 1\n" if not nested else VALID + f"    {key}: 1\n"
            report = _validate(target, tmp, "bad.yaml", bad)
            assert report.errors > clean.errors, f"unknown key {key!r} (nested={nested}) was accepted"
            assert any(key in f.message for f in report.findings), f"no finding names the unknown key {key!r}"
            return
        if case == "empty-input":
            (tmp / "empty").mkdir()
            try:
                report = _validate(target, tmp, "empty", None)
            except PvError as exc:
                assert exc.exit_code != 0, "empty input raised an error with exit code 0"
            else:
                raise AssertionError(f"an empty folder validated without error: {report.counts}")
            report = _validate(target, tmp, "empty.yaml", "")
            assert report.errors >= 1, "an empty contract file produced no error finding"
            return
        if case == "hostile-yaml":
            try:
                report = _validate(target, tmp, "hostile.yaml", blob)
            except PvError:
                return
            assert report.errors >= 1, f"hostile input {blob[:60]!r} produced no error finding"
            return
    raise ValueError(f"unknown validator-robustness case {case!r}")


def render(falsifier, contract):
    from falsifiers.kinds._render import render_test

    return render_test(falsifier, sys.modules[__name__], contract)
