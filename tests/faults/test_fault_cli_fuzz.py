"""Fuzz of every `trainer` subcommand with hostile flag combinations (in-process, click's CliRunner).

For each drawn command line: no exception escapes (no traceback), the exit status is a documented one
(docs/trainer.md) or click's usage error 2, and a non-zero exit says why on stderr. Values come from
pools of bad, extreme and a few valid spellings (empty, negative, NaN, 400 digits, a newline, a lone
surrogate as from a non-UTF-8 file name, system paths, files where folders belong, the inputs as the
output). The world they point into is tiny, so the few combinations that are valid finish in
milliseconds: a corpus of three small files, the tiny tokenizer and dataset, a 1-step pretrain shape
put first on the command line (later drawn flags override it, as click keeps the last value).
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from faultkit import DOCUMENTED_EXITS, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ids = itertools.count()

NUMBERS = ["0", "-1", "1", "2", "3", "258", "259", "300", "512", "1.5", "nan", "abc", "4294967296",
           "9" * 400, " 7", "\u0663"]  # fmt: skip
FLOATS = ["", "0", "-1", "1e-3", "3e-4", "nan", "inf", "-inf", "1e39", "-0.0", "abc", "1e-400", "9" * 400]
ODD = ["", " ", "a\nb", "\udcff", "--", "-", "~", "/", "/etc", "/nonexistent/x", "x" * 300, "..", "."]


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_tokenizer_dir: Path, tiny_dataset_dir: Path) -> dict[str, list[str]]:
    root = tmp_path_factory.mktemp("fuzz")
    # Copies: drawn command lines write into them (`--out TOKENIZER --force`), and the session's
    # fixtures are shared with every other test of this worker.
    tiny_tokenizer_dir = shutil.copytree(tiny_tokenizer_dir, root / "tokenizer")
    tiny_dataset_dir = shutil.copytree(tiny_dataset_dir, root / "data")
    corpus = root / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"m{i}.py").write_text(
            "".join(f"def f{i}_{j}(x):\n    return x * {j}\n" for j in range(40))
        )
    binary = root / "binary"
    binary.mkdir()
    (binary / "blob.txt").write_bytes(b"\xff\xfe\x00" * 100)
    (root / "empty").mkdir()
    (root / "file").write_text("not a folder")
    run = root / "finished-run"
    ok = invoke("pretrain", "--dataset", str(tiny_dataset_dir), "--tokenizer", str(tiny_tokenizer_dir),
                "--run-dir", str(run), "--num-steps", "1", "--steps-per-epoch", "1", "--batch-size", "1",
                "--seq-length", "4", "--eval-batches", "1", "--device", "cpu")  # fmt: skip
    assert ok.exit_code in (0, 3), ok.stderr
    torn = root / "torn-run"
    torn.mkdir()
    (torn / "config.json").write_text("{")
    bad_paths = [str(root / "empty"), str(root / "file"), str(root / "nope"), str(root / "file" / "under")]
    return {
        "corpus": [str(corpus), str(binary), *bad_paths, "stdlib-typo"],
        # The valid input 4 times in 10: deep paths (preflights, runs) get drawn, not only refusals.
        "tokenizer": [str(tiny_tokenizer_dir)] * 4 + [str(tiny_dataset_dir), *bad_paths, "/"],
        "dataset": [str(tiny_dataset_dir)] * 4 + [str(tiny_tokenizer_dir), *bad_paths, "/"],
        "out": [str(tiny_tokenizer_dir), str(tiny_dataset_dir), str(corpus), str(run), *bad_paths],
        "run": [str(run), str(torn), str(tiny_dataset_dir), str(tiny_tokenizer_dir), str(root), *bad_paths],
        "root": [str(root)],
    }


def _fresh(world: dict, name: str) -> str:
    return str(Path(world["root"][0]) / f"{name}-{next(_ids)}")


def _check(argv: list[str]) -> None:
    res = invoke(*argv, catch_exceptions=True)
    shown = " ".join(map(repr, argv))
    assert res.exception is None or isinstance(res.exception, SystemExit), (shown, repr(res.exception))
    assert res.exit_code in DOCUMENTED_EXITS, (shown, res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout, (shown, res.stderr)
    if res.exit_code != 0:
        assert res.stderr.strip(), (shown, res.exit_code, "no message on stderr")


def _value(draw, pool: list[str]) -> str:
    # Hypothesis favours 0 and the bounds: the rare branches test a middle value.
    return draw(st.sampled_from(ODD if draw(st.integers(0, 9)) == 5 else pool))  # 1 in 10 odd


def _flags(draw, required: dict[str, list[str]], optional: dict[str, list[str]], flags=()) -> list[str]:
    """Each required option (usually present), a few optional ones, maybe a flag, rarely garbage;
    values from the option's pool, 1 in 10 from the odd pool, 1 in 20 options left without a value."""
    out: list[str] = []
    for name, pool in required.items():
        if draw(st.integers(0, 19)) != 7:
            out += [name, _value(draw, pool)]
    for name in draw(st.lists(st.sampled_from(sorted(optional)), max_size=4)):
        out += [name] if draw(st.integers(0, 19)) == 7 else [name, _value(draw, optional[name])]
    out += draw(st.lists(st.sampled_from(flags), max_size=2, unique=True)) if flags else []
    if draw(st.integers(0, 9)) == 5:
        out.insert(draw(st.integers(0, len(out))), draw(st.sampled_from(["--bogus", "extra-arg", "-x"])))
    return out


@FUZZ
@given(data=st.data())
def test_fuzz_tokenizer_train(world, data) -> None:
    out = [*world["out"], _fresh(world, "tok"), _fresh(world, "tok")]
    required = {"--corpus": world["corpus"], "--vocab-size": NUMBERS, "--out": out}
    _check(["tokenizer", "train", *_flags(data.draw, required, {"--max-files": NUMBERS}, ("--force",))])


@FUZZ
@given(data=st.data())
def test_fuzz_data_prepare(world, data) -> None:
    out = [*world["out"], _fresh(world, "data"), _fresh(world, "data")]
    required = {"--corpus": world["corpus"], "--tokenizer": world["tokenizer"], "--out": out}
    _check(["data", "prepare", *_flags(data.draw, required, {"--max-files": NUMBERS})])


@FUZZ
@given(data=st.data())
def test_fuzz_pretrain(world, data) -> None:
    small = ["--num-steps", "1", "--steps-per-epoch", "1", "--batch-size", "1", "--seq-length", "4",
             "--eval-batches", "1", "--device", "cpu"]  # fmt: skip
    required = {"--dataset": world["dataset"], "--tokenizer": world["tokenizer"],
                "--run-dir": [*world["run"], _fresh(world, "run"), _fresh(world, "run")]}  # fmt: skip
    optional = {
        "--mode": ["finetune", "from-scratch", "x"],
        "--lr": FLOATS, "--warmup-steps": NUMBERS, "--target-val-loss": FLOATS,
        "--vocab-size": [*NUMBERS, "511", "512", "513", "16777217", "1" + "0" * 30],
        "--num-steps": ["0", "-5", "abc", "1.5", "2", "3", "3"], "--steps-per-epoch": NUMBERS,
        "--batch-size": ["0", "-1", "x", "2", "3", "4", "4294967297", "9" * 30],
        "--seq-length": ["0", "-1", "x", "8", "16", "4294967297", "9" * 30], "--model": ["tiny", "huge"],
        "--seed": [*NUMBERS, str(2**63), str(-(2**63) - 1)], "--device": ["cuda", "cuda:7", "tpu", "", "mps",
        "cuda:-1", "cpu", "auto", "CPU"], "--patience": NUMBERS, "--grad-clip": FLOATS,
        "--weight-decay": FLOATS, "--eval-batches": NUMBERS,
    }  # fmt: skip
    # Never --allow-shard-cycle: with a drawn 10**30 budget it would be a real (endless) run.
    _check(
        ["pretrain", *small, *_flags(data.draw, required, optional, ("--resume", "--synthetic", "--json"))]
    )


@FUZZ
@given(data=st.data())
def test_fuzz_qa(world, data) -> None:
    run = data.draw(st.sampled_from([*world["run"], *ODD]))
    extra = data.draw(st.lists(st.sampled_from(["--json", "--json", "--bogus", "more"]), max_size=2))
    _check(["qa", *extra] if data.draw(st.integers(0, 9)) == 5 else ["qa", run, *extra])


def test_fuzz_world_is_what_it_claims(world) -> None:
    """The finished run really is one (qa passes or fails its checks, exit 0/1), the torn one is not."""
    assert invoke("qa", world["run"][0]).exit_code in (0, 1)
    assert invoke("qa", world["run"][1]).exit_code == 8
    assert json.loads((Path(world["run"][0]) / "result.json").read_text())["steps"] == 1
