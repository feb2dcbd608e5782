"""nonfinite-stop, heldout-isolation, run-artifacts' independent hashes, the gate's exitfirst and
cheapest-first order, the shared naming rule, and target_packages read from the project under test."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from falsifiers import runtime
from falsifiers.kinds import heldout_isolation, nonfinite_stop, run_artifacts
from pv import pytest_plugin
from pv.config import load_config
from pv.gate import run_gate
from pv.generate import generate, test_node_id
from pv.trace import generated_test_id

torch.set_num_threads(1)


# ── nonfinite-stop ──────────────────────────────────────────────────────────────────────────────────
def write_run(run_dir: Path, records: list[str], status="NONFINITE", steps=None) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train.jsonl").write_text("".join(r + "\n" for r in records))
    n = sum(1 for r in records if '"event"' not in r)
    (run_dir / "result.json").write_text(
        json.dumps({"status": status, "steps": n if steps is None else steps})
    )
    return run_dir


def test_nonfinite_log_check_accepts_a_clean_stop_and_refutes_logged_nan(tmp_path):
    ok = ['{"step": 1, "train_loss": 6.2}', '{"event": "cycle", "step": 1}']
    nonfinite_stop.check_log(write_run(tmp_path / "ok", ok))
    nonfinite_stop.check_log(write_run(tmp_path / "none", []))  # step 1 went non-finite: nothing logged
    bad = {
        "nan logged": [*ok, '{"step": 2, "train_loss": NaN}'],
        "inf nested": ['{"step": 1, "train_loss": 1.0, "extra": {"g": Infinity}}'],
        "bad step counted": (ok, {"steps": 0}),
        "wrong status": (ok, {"status": "OK"}),
        "gap": ['{"step": 1, "train_loss": 1.0}', '{"step": 3, "train_loss": 1.0}'],
    }
    for name, case in bad.items():
        records, over = case if isinstance(case, tuple) else (case, {})
        with pytest.raises(AssertionError):
            nonfinite_stop.check_log(write_run(tmp_path / name.replace(" ", "-"), records, **over))
            pytest.fail(f"{name} was accepted")


def test_nonfinite_check_needs_the_status_not_a_crash_or_a_finished_run(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "fresh_run_dir", lambda name: tmp_path / name)
    monkeypatch.setattr(runtime, "tiny_config", lambda run_dir, **kw: SimpleNamespace(run_dir=run_dir, **kw))

    class Stop(Exception):
        status = SimpleNamespace(label="NONFINITE")

    def clean(cfg):
        write_run(cfg.run_dir, ['{"step": 1, "train_loss": 6.0}'])
        raise Stop("step 2: non-finite loss")

    def logs_then_crashes(cfg):  # the nan-logged mutant: the record is written, then json refuses it
        write_run(cfg.run_dir, ['{"step": 1, "train_loss": 6.0}'])
        raise ValueError("Out of range float values are not JSON compliant")

    def finishes(cfg):
        return SimpleNamespace(status="OK", steps=7)

    nonfinite_stop.check(clean, {"lr": 1e30})
    for target in (logs_then_crashes, finishes):
        with pytest.raises(AssertionError):
            nonfinite_stop.check(target, {"lr": 1e30})


# ── heldout-isolation ─────────────────────────────────────────────────────────────────────────────────
def test_heldout_batches_must_be_train_windows():
    train, val, t = list(range(100, 140)), list(range(500, 530)), 4

    def batch(rows):
        x = torch.tensor([r[:t] for r in rows])
        y = torch.tensor([r[1 : t + 1] for r in rows])
        return x, y

    heldout_isolation.check_batches([batch([train[0:5], train[20:25]])], train, val, t)
    with pytest.raises(AssertionError, match="held-out"):
        heldout_isolation.check_batches([batch([train[0:5]]), batch([val[3:8]])], train, val, t)
    with pytest.raises(AssertionError, match="not a window"):
        heldout_isolation.check_batches([batch([[0, 0, 0, 0, 0]])], train, val, t)
    with pytest.raises(AssertionError, match="not a window"):  # straddles the end of train and val
        heldout_isolation.check_batches([batch([train[-2:] + val[:3]])], train, val, t)


def test_heldout_reads_splits_from_the_manifest_and_shards(tmp_path):
    import numpy as np

    shards = []
    for name, split, toks in (
        ("train-0.bin", "train", [1, 2, 3]),
        ("val-0.bin", "val", [7, 8]),
        ("train-1.bin", "train", [4, 5]),
    ):
        (tmp_path / name).write_bytes(np.asarray(toks, dtype="<u2").tobytes())
        shards.append({"file": name, "split": split})
    (tmp_path / "manifest.json").write_text(json.dumps({"dtype": "uint16", "shards": shards}))
    assert heldout_isolation.split_tokens(tmp_path, "train") == [1, 2, 3, 4, 5]
    assert heldout_isolation.split_tokens(tmp_path, "val") == [7, 8]


def test_recorded_batches_observes_and_restores():
    class Stream:
        def __init__(self):
            self.i = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.i += 1
            return torch.tensor([self.i]), torch.tensor([self.i + 1])

    original = Stream.__next__
    with runtime.recorded_batches(Stream) as seen:
        it = iter(Stream())
        next(it), next(it)
    assert [int(x) for x, _ in seen] == [1, 2] and Stream.__next__ is original


# ── run-artifacts: the hash is recomputed independently ───────────────────────────────────────────────
def test_run_artifacts_refutes_a_hash_function_that_agrees_with_its_own_wrong_metadata(tmp_path):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "epoch-000.safetensors").write_bytes(b"weights")
    (ckpt / "epoch-000.optim.safetensors").write_bytes(b"optim")

    def sha_of_model(path):  # the optimizer-sha-of-model mutant: hashes the weights file instead
        return hashlib.sha256(Path(str(path).replace(".optim", "")).read_bytes()).hexdigest()

    meta = {
        "optimizer_state_sha": sha_of_model(ckpt / "epoch-000.optim.safetensors"),
        "model_sha256": hashlib.sha256(b"weights").hexdigest(),
    }
    (ckpt / "epoch-000.metadata.json").write_text(json.dumps(meta))
    with pytest.raises(AssertionError, match="optimizer_state_sha"):
        run_artifacts.check_run_dir(tmp_path, 1, sha_of_model)


# ── the gate: exitfirst and cheapest-first order ──────────────────────────────────────────────────────
DEMO = """\
schema: pv/v1
id: C-STOP
version: 1.0.0
status: active
kind: tool
summary: Demo.
changelog:
  - {version: 1.0.0, date: 2026-01-01, summary: First.}
invariants:
  - {id: INV-STOP-001, statement: The values hold.}
gates:
  - {id: GATE-STOP-RED, rule: r, enforces: [INV-STOP-001], binds_to: AC-DEMO, ship_blocking: true,
     falsifiers: [FALSIFY-STOP-A]}
  - {id: GATE-STOP-LATER, rule: r, enforces: [INV-STOP-001], binds_to: AC-DEMO, ship_blocking: true,
     falsifiers: [FALSIFY-STOP-B]}
falsifiers:
  - {id: FALSIFY-STOP-A, attacks: [INV-STOP-001], description: d, kind: constant-matches,
     target: "stopdemo:A", params: {expected: 1}}
  - {id: FALSIFY-STOP-B, attacks: [INV-STOP-001], description: d, kind: constant-matches,
     target: "stopdemo:B", params: {expected: 2}}
"""


def _stop_project(tmp_path):
    """A scratch project whose first gate fails (A drifted) and whose second would pass."""
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "stop.yaml").write_text(DEMO)
    (tmp_path / "stopdemo.py").write_text("A = 0  # drifted\nB = 2\n")
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["stopdemo"]\n')
    generate(
        [tmp_path / "contracts"],
        tmp_path / "falsifiers/generated",
        target_packages=("stopdemo",),
        root=tmp_path,
    )


def test_exitfirst_stops_at_the_first_failure_and_says_so(tmp_path):
    _stop_project(tmp_path)
    result = run_gate(load_config(tmp_path), jobs=0, env={"PYTHONPATH": str(tmp_path)}, exitfirst=True)
    verdicts = {g.id: g.verdict for g in result.gates}
    assert verdicts == {"GATE-STOP-RED": "FAIL", "GATE-STOP-LATER": "STOPPED"}
    assert result.stopped_early and result.exit_code == 1
    assert (result.executed, result.failed, result.not_run) == (1, 1, 1)
    assert result.summary().endswith(
        "0/2 ship-blocking gates green · stopped after the first failure: 1 not run"
    )


def test_cli_exitfirst_flag_reaches_the_runner(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pv.cli import cli

    _stop_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    res = CliRunner().invoke(cli, ["gate", "-x", "-j", "0"])
    assert res.exit_code == 1, res.output
    assert "STOPPED" in res.output and "stopped after the first failure: 1 not run" in res.output


def test_plugin_orders_ungrouped_first_then_larger_groups_kept_together():
    def item(name, group=None):
        mark = SimpleNamespace(args=(group,), kwargs={}) if group else None
        return SimpleNamespace(name=name, get_closest_marker=lambda _m, mark=mark: mark)

    items = [
        item("d1", "ddp"),
        item("t1", "tiny"),
        item("a"),
        item("t2", "tiny"),
        item("b"),
        item("d2", "ddp"),
        item("t3", "tiny"),
    ]
    pytest_plugin.order_cheapest_first(items)
    assert [i.name for i in items] == ["a", "b", "t1", "t2", "t3", "d1", "d2"]
    pytest_plugin.order_cheapest_first(items, parallel=True)  # xdist: the largest group leads
    assert [i.name for i in items] == ["t1", "t2", "t3", "a", "b", "d1", "d2"]


# ── naming and project config ─────────────────────────────────────────────────────────────────────────
def test_one_naming_rule_for_generation_gate_and_trace():
    config = load_config(Path(__file__).parents[2])
    node = "falsifiers/generated/test_training_loop.py::test_FALSIFY_TRAIN_NAN_RUN"
    assert test_node_id(config, "contracts/training-loop.yaml", "FALSIFY-TRAIN-NAN-RUN") == node
    assert generated_test_id(config, "contracts/training-loop.yaml", "FALSIFY-TRAIN-NAN-RUN") == node
    assert f"def {node.rpartition('::')[2]}(" in (config.root / node.partition("::")[0]).read_text()


def test_target_packages_come_from_the_project_under_test(tmp_path, monkeypatch):
    monkeypatch.delenv("PV_PROJECT_ROOT", raising=False)
    (tmp_path / "pyproject.toml").write_text('[tool.pv]\ntarget_packages = ["elsewhere"]\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert runtime.target_packages() == ("elsewhere",)
    with pytest.raises(runtime.TargetError, match="outside"):
        runtime.resolve("trainer.guards:check_epoch")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(bare)
    with pytest.raises(runtime.TargetError, match=r"no \[tool\.pv\]\.target_packages"):
        runtime.resolve("trainer.guards:check_epoch")
