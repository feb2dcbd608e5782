"""Cache trust (issue 11): a planted `.pv/cache/report-<key>.json` (the key is derivable) made
`pv validate` print PASS with exit 0 on a tree with errors; a 200k-deep JSON in `.pv/cache` raised
RecursionError on every run until deleted. Now every cache file is signed with a per-user key kept
outside the tree, the cache is off under CI / PV_NO_CACHE, and a bad entry is only a miss."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pv.cli import cli
from pv.config import load_config
from pv.validate import _kinds_fingerprint, _report_key
from tests.security.conftest import contract

BROKEN = contract(target="victim.consts:ANSWER").replace("summary: A scratch contract.\n", "")


def _cache(project: Path) -> Path:
    return project / ".pv" / "cache"


def _plant_green_report(project: Path) -> None:
    """What an attacker with write access to the tree (or to a restored CI cache) can do: derive the
    report key from the inputs, as pv does, and write a PASS for it."""
    from pv.cache import FORMAT, cache_salt
    from pv.loader import read_source

    config = load_config(project)
    files = ["contracts/scratch.yaml"]
    data = read_source(project / files[0])
    key = _report_key(config, files, [(data, hashlib.sha256(data).hexdigest())])
    digest = hashlib.sha256(f"{cache_salt(config)}:{key}".encode()).hexdigest()
    counts = {"files": 1, "contracts": 1, "invariants": 1, "gates": 0, "ship_blocking_gates": 0}
    counts |= {"falsifiers": 1, "executable_falsifiers": 1, "inert_contracts": 0}
    kinds = _kinds_fingerprint(config)  # derivable too: the attacker runs the same pv
    payload = {"deps": [], "kinds": kinds, "findings": [], "counts": counts, "dialects": {"pv/v1": 1}}
    body = json.dumps({"format": FORMAT, "key": key, "payload": payload})
    _cache(project).mkdir(parents=True, exist_ok=True)
    forged = _cache(project) / f"report-{digest[:32]}.json"
    forged.write_text(body)  # the attacker has no user key: unsigned, as the format was before


def test_a_planted_green_report_does_not_turn_a_failing_tree_green(runner, project: Path) -> None:
    (project / "contracts" / "scratch.yaml").write_text(BROKEN)
    _plant_green_report(project)
    res = runner.invoke(cli, ["validate"])
    assert res.exit_code == 1 and "FAIL" in res.output and "PV102" in res.output, res.output


def test_an_entry_signed_with_another_key_is_a_miss(
    runner, project: Path, tmp_path: Path, monkeypatch
) -> None:
    (project / "contracts" / "scratch.yaml").write_text(BROKEN)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker-home"))
    assert runner.invoke(cli, ["validate"]).exit_code == 1  # the attacker's machine writes its cache
    for f in _cache(project).glob("report-*.json"):  # and edits its own report to PASS
        head, _, body = f.read_bytes().partition(b"\n")
        raw = json.loads(body)
        raw["payload"]["findings"], raw["payload"]["counts"]["files"] = [], 1
        f.write_bytes(head + b"\n" + json.dumps(raw).encode())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "victim-home"))
    res = runner.invoke(cli, ["validate"])
    assert res.exit_code == 1 and "PV102" in res.output, res.output


@pytest.mark.parametrize("env", [{"CI": "true"}, {"PV_NO_CACHE": "1"}])
def test_the_cache_is_off_where_the_tree_is_not_the_users_own(
    runner, project: Path, monkeypatch, env: dict
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(cli, ["validate"]).exit_code == 0
    assert not _cache(project).exists()  # neither read nor written


def test_the_key_lives_outside_the_tree_and_only_its_user_can_read_it(runner, project: Path) -> None:
    from pv.cache import key_path

    assert runner.invoke(cli, ["validate"]).exit_code == 0
    key = key_path()
    assert key is not None and not key.is_relative_to(project)
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"


def test_a_key_others_can_read_turns_the_cache_off(
    runner, project: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    key = tmp_path / "home" / "pv" / "cache-key"
    key.parent.mkdir(parents=True)
    key.write_text("0" * 64 + "\n")
    key.chmod(0o644)
    res = runner.invoke(cli, ["validate"])
    assert res.exit_code == 0 and not _cache(project).exists(), res.output


DEEP = "[" * 200_000 + "]" * 200_000


def test_deeply_nested_json_in_the_cache_is_discarded_not_a_traceback(runner, project: Path) -> None:
    (project / "contracts" / "scratch.yaml").write_text(BROKEN)  # a warm cache must not hide this
    assert runner.invoke(cli, ["validate"]).exit_code == 1
    planted = [*_cache(project).glob("report-*.json"), *_cache(project).glob("docs-*.json")]
    assert planted
    for f in planted:
        f.write_text(DEEP)
    for _ in range(2):  # discarded and rewritten: the next run is clean too
        res = runner.invoke(cli, ["validate"])
        assert res.exit_code == 1 and "internal error" not in res.output and "PV102" in res.output, res.output
    assert all(len(f.read_bytes()) < 100_000 for f in _cache(project).iterdir())


def test_a_signed_but_corrupt_entry_is_only_a_miss(runner, project: Path) -> None:
    """Even a file pv itself signed (a disk error, a pv bug) cannot crash a run."""
    from pv.cache import _signed, user_key

    (project / "contracts" / "scratch.yaml").write_text(BROKEN)
    assert runner.invoke(cli, ["validate"]).exit_code == 1
    for f in [*_cache(project).glob("report-*.json"), *_cache(project).glob("docs-*.json")]:
        f.write_bytes(_signed(user_key(), f.name, DEEP.encode()))
    res = runner.invoke(cli, ["validate"])
    assert res.exit_code == 1 and "internal error" not in res.output and "PV102" in res.output, res.output
