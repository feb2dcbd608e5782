"""pv diff: the bump policy on data, and the CLI against two files and a real temporary git repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pv.cli import cli
from pv.diff.policy import Bump, Version, actual_bump, diff_contracts, judge

BASE = """\
schema: pv/v1
id: C-TOK
version: 1.0.0
status: active
kind: tokenizer
summary: Byte-level BPE tokenizer.
changelog:
  - {version: 1.0.0, date: 2026-11-20, summary: First version.}
constants:
  vocab_size: 512
constraints:
  - {id: CON-TOK-FITS, lhs: C-TOK.vocab_size, op: "<=", rhs: 1024}
acceptance_criteria:
  - {id: AC-TOK-001, statement: Round trip.}
invariants:
  - id: INV-TOK-001
    statement: decode(encode(t)) == t.
gates:
  - id: GATE-TOK-001
    rule: Round trip is lossless.
    enforces: [INV-TOK-001]
    binds_to: AC-TOK-001
    ship_blocking: true
    falsifiers: [FALSIFY-TOK-001]
falsifiers:
  - id: FALSIFY-TOK-001
    attacks: [INV-TOK-001]
    description: Random text survives.
    kind: round-trip
    target: trainer.tokenizer:BpeTokenizer
"""


def load(text: str) -> dict:
    from pv.loader import load_bytes

    return load_bytes(text.encode(), "x.yaml").data


def bumps(old: str, new: str) -> dict[str, Bump]:
    return {c.what: c.bump for c in diff_contracts(load(old), load(new))}


ADD_INV = BASE.replace("gates:\n", "  - id: INV-TOK-002\n    statement: Deterministic.\ngates:\n", 1)


@pytest.mark.parametrize(
    ("edit", "what", "bump"),
    [
        (
            lambda s: s.replace("gates:\n", "  - id: INV-TOK-002\n    statement: Det.\ngates:\n", 1),
            "invariant-added",
            Bump.MINOR,
        ),
        (lambda s: s.replace("vocab_size: 512", "vocab_size: 256"), "constant-changed", Bump.MAJOR),
        (
            lambda s: s.replace("ship_blocking: true", "ship_blocking: false"),
            "ship-blocking-changed",
            Bump.MAJOR,
        ),
        (
            lambda s: s.replace('op: "<=", rhs: 1024', 'op: "<=", rhs: 2048'),
            "constraint-loosened",
            Bump.MAJOR,
        ),
        (
            lambda s: s.replace('op: "<=", rhs: 1024', 'op: "<", rhs: 1024'),
            "constraint-tightened",
            Bump.MINOR,
        ),
        (lambda s: s.replace("binds_to: AC-TOK-001", "binds_to: AC-TOK-009"), "binding-changed", Bump.MAJOR),
        (
            lambda s: s.replace("    kind: round-trip\n    target: trainer.tokenizer:BpeTokenizer\n", ""),
            "falsifier-made-prose",
            Bump.MAJOR,
        ),
        (
            lambda s: s.replace("statement: decode(encode(t)) == t.", "statement: Lossless."),
            "statement-reworded",
            Bump.PATCH,
        ),
        (
            lambda s: s.replace("summary: Byte-level BPE tokenizer.", "summary: BPE."),
            "summary-changed",
            Bump.PATCH,
        ),
        (lambda s: s.replace("status: active", "status: deprecated"), "status-changed", Bump.MAJOR),
    ],
)
def test_policy_assigns_the_documented_bump(edit, what, bump):
    found = bumps(BASE, edit(BASE))
    assert found.get(what) == bump, found


def test_removals_are_major_and_unchanged_is_empty():
    assert bumps(BASE, BASE) == {}
    assert bumps(ADD_INV, BASE)["invariant-removed"] is Bump.MAJOR
    no_gate = BASE.split("gates:\n")[0] + "falsifiers:\n" + BASE.split("falsifiers:\n", 1)[1]
    assert bumps(BASE, no_gate)["gate-removed"] is Bump.MAJOR
    stops = BASE.replace("enforces: [INV-TOK-001]", "enforces: [INV-TOK-002]")
    assert bumps(BASE, stops)["enforce-removed"] is Bump.MAJOR


def test_unchanged_nan_and_inf_are_not_changes():
    # NaN != NaN: without care an untouched `.nan` example or constant reads as removed and re-added,
    # and `pv diff --base` fails a clean checkout (it did, on contracts/training-loop.yaml).
    old = {
        "constants": {"cap": float("nan")},
        "falsifiers": [
            {
                "id": "FALSIFY-X-001",
                "attacks": ["INV-X-001"],
                "kind": "loss-guard",
                "target": "m:f",
                "params": {"v": float("nan")},
                "examples": [{"trace": [1.0, float("nan")]}, {"trace": [float("inf")]}],
            }
        ],
    }
    new = json.loads(json.dumps(old))  # fresh NaN objects, as a second parse of the same file gives
    assert diff_contracts(old, new) == []
    new["falsifiers"][0]["examples"] = [{"trace": [float("inf")]}]
    assert [c.what for c in diff_contracts(old, new)] == ["examples-removed"]


def test_actual_bump_orders_versions_including_zero_x():
    v = Version.parse
    assert actual_bump(v("1.2.3"), v("2.0.0")) is Bump.MAJOR
    assert actual_bump(v("1.2.3"), v("1.3.0")) is Bump.MINOR
    assert actual_bump(v("1.2.3"), v("1.2.4")) is Bump.PATCH
    assert actual_bump(v("1.2.3"), v("1.2.3")) is Bump.NONE
    assert actual_bump(v("1.2.3"), v("1.2.2")) is None
    assert actual_bump(v("0.3.0"), v("0.4.0")) is Bump.MAJOR  # 0.x: minor carries breaking changes
    assert Version.parse("1.2") is None


def test_judge_wants_changelog_entry_for_new_version():
    bumped = ADD_INV.replace("version: 1.0.0\n", "version: 1.1.0\n", 1)
    v = judge(load(BASE), load(bumped))
    assert v.version_ok and not v.changelog_ok
    logged = bumped.replace(
        "changelog:\n", "changelog:\n  - {version: 1.1.0, date: 2026-11-21, summary: Det.}\n"
    )
    v = judge(load(BASE), load(logged))
    assert v.version_ok and v.changelog_ok and v.required is Bump.MINOR


# ---- CLI ----------------------------------------------------------------------------------------


def run(args: list[str], cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args)
    finally:
        os.chdir(old)


def test_two_files(tmp_path):
    (tmp_path / "old.yaml").write_text(BASE)
    (tmp_path / "new.yaml").write_text(BASE.replace("vocab_size: 512", "vocab_size: 1024"))
    res = run(["diff", "old.yaml", "new.yaml"], tmp_path)
    assert res.exit_code == 1, res.output
    assert "PV471" in res.output and "major" in res.output and "2.0.0" in res.output
    assert "new.yaml:3:" in res.output  # points at the version line of the new file


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "contracts").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\ncontracts = ["contracts"]\n')
    (tmp_path / "contracts" / "tok.yaml").write_text(BASE)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def bump(text: str, version: str, log: bool = True) -> str:
    out = text.replace("version: 1.0.0\n", f"version: {version}\n", 1)
    entry = f"  - {{version: {version}, date: 2026-11-21, summary: Changed.}}\n"
    return out.replace("changelog:\n", "changelog:\n" + entry, 1) if log else out


def commit(repo: Path, text: str, msg: str) -> None:
    (repo / "contracts" / "tok.yaml").write_text(text)
    git(repo, "commit", "-q", "-am", msg)


@needs_git
def test_added_invariant_without_bump_needs_minor(repo):
    commit(repo, ADD_INV, "add invariant")
    res = run(["diff", "--base", "HEAD~1", "contracts"], repo)
    assert res.exit_code == 1, res.output
    assert "minor bump" in res.output and "1.1.0" in res.output and "INV-TOK-002 added" in res.output
    assert "contracts/tok.yaml" in res.output


@needs_git
def test_removed_invariant_needs_major(repo):
    commit(repo, bump(ADD_INV, "1.1.0"), "add")
    commit(repo, bump(BASE, "1.2.0"), "drop")
    res = run(["diff", "--base", "HEAD~1", "contracts"], repo)
    assert res.exit_code == 1, res.output
    assert "major bump" in res.output and "2.0.0" in res.output and "INV-TOK-002 removed" in res.output


@needs_git
def test_right_bump_and_changelog_pass_and_json_is_machine_readable(repo):
    commit(repo, bump(ADD_INV, "1.1.0"), "add invariant, bumped")
    res = run(["diff", "--base", "HEAD~1", "contracts"], repo)
    assert res.exit_code == 0, res.output
    res = run(["diff", "--base", "HEAD~1", "--format", "json"], repo)
    assert res.exit_code == 0
    assert '"PV470"' in res.stdout
    json.loads(res.stdout)


@needs_git
def test_bump_without_changelog_fails(repo):
    commit(repo, bump(ADD_INV, "1.1.0", log=False), "bump, no log")
    res = run(["diff", "--base", "HEAD~1"], repo)
    assert res.exit_code == 1 and "PV472" in res.output and "1.1.0" in res.output


@needs_git
def test_deleted_and_added_contracts(repo):
    git(repo, "mv", "contracts/tok.yaml", "contracts/renamed.yaml")
    git(repo, "commit", "-q", "-m", "rename")
    res = run(["diff", "--base", "HEAD~1"], repo)
    assert res.exit_code == 0, res.output  # a rename (same id) is no change
    (repo / "contracts" / "renamed.yaml").unlink()
    (repo / "contracts" / "other.yaml").write_text(BASE.replace("id: C-TOK", "id: C-OTHER"))
    res = run(["diff", "--base", "HEAD"], repo)
    assert res.exit_code == 1 and "PV474" in res.output and "PV475" in res.output


@needs_git
def test_bad_ref_is_usage_error_and_auto_skips_without_remote(repo, tmp_path_factory):
    res = run(["diff", "--base", "no-such-ref"], repo)
    assert res.exit_code == 2 and "does not name a commit" in res.output
    res = run(["diff", "--base", "auto"], repo)
    assert res.exit_code == 0 and "skipped" in res.output
    bare = tmp_path_factory.mktemp("nogit")
    (bare / "contracts").mkdir()
    res = run(["diff", "--base", "auto", "contracts"], bare)
    assert res.exit_code == 0 and "skipped" in res.output


@needs_git
def test_auto_uses_merge_base_with_origin_main(repo, tmp_path_factory):
    clone = tmp_path_factory.mktemp("clone") / "c"
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "-b", "feature")
    commit(clone, ADD_INV, "add invariant, no bump")
    res = run(["diff", "--base", "auto"], clone)
    assert (
        res.exit_code == 1 and "merge base of HEAD and origin/" in res.output and "minor bump" in res.output
    )


@pytest.mark.parametrize("field", ["invariants", "gates", "falsifiers", "constraints"])
def test_fields_of_the_wrong_shape_do_not_crash_the_diff(tmp_path, field):
    # `invariants: 5` on the new side crashed the verdict's counts (TypeError); a constraint `op`
    # that is a list crashed the policy. The diff judges what it can; pv validate names the shape.
    old = tmp_path / "old.yaml"
    old.write_text(BASE)
    lines, out, skip = BASE.splitlines(), [], False
    for line in lines:
        if skip and line.startswith((" ", "-")):
            continue
        skip = line.startswith(f"{field}:")
        out.append(f"{field}: 5" if skip else line)
    new = tmp_path / "new.yaml"
    new.write_text("\n".join(out) + "\n")
    for a, b in ((old, new), (new, old)):
        res = CliRunner().invoke(cli, ["diff", str(a), str(b)])
        assert res.exit_code == 1 and "internal error" not in res.output, res.output
    new.write_text(BASE.replace('op: "<="', "op: [1]"))
    res = CliRunner().invoke(cli, ["diff", str(old), str(new)])
    assert res.exit_code == 1 and "op <= → [1]" in res.output, res.output
