"""`pv gate`: run the falsifiers of the ship-blocking gates and give each gate a verdict.

The generated modules run in a pytest subprocess (HYPOTHESIS_PROFILE=ci: derandomized), selected by
node id; `pv.pytest_plugin` writes per-test outcomes and times that become a `GateResult`. A gate is
green only when at least one of its falsifiers executed and none failed: skipped tests do not count
as executed, and a gate with nothing executable is EMPTY, which fails the gate like a red test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pv.errors import PvError, UsageError
from pv.generate import GenerateError, executable, kind_registry, render_all, test_node_id
from pv.index import items, str_list

DEFAULT_PARALLEL_THRESHOLD = 6  # above this many falsifiers, two xdist workers pay for their start-up
# ...but only with cores to spare: every worker imports torch and the DDP falsifiers spawn their own
# ranks, so on 2 shared cores two workers made the clean gate slower (31 s) than one process (19 s).
MIN_CORES_FOR_XDIST = 4


def default_jobs(n_falsifiers: int) -> int:
    """xdist workers `pv gate` uses when not told: 2 for a large gate on a machine with spare cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if n_falsifiers > DEFAULT_PARALLEL_THRESHOLD and cores >= MIN_CORES_FOR_XDIST else 0


class GateError(PvError):
    """The gate could not run at all (stale generated modules, pytest crashed)."""

    exit_code = 2


@dataclass(frozen=True)
class TestOutcome:
    falsifier: str
    nodeid: str
    # passed | failed | skipped | error (never reported: collection failed) | not-run (after the
    # first failure, when the gate was asked to stop there)
    outcome: str
    start_s: float  # offset from the gate's subprocess start
    duration_s: float
    message: str = ""


@dataclass(frozen=True)
class GateVerdict:
    id: str
    contract: str
    binds_to: str
    ship_blocking: bool
    verdict: str  # PASS | FAIL | EMPTY | STOPPED (exitfirst: no failure here, but not all of it ran)
    falsifiers: tuple[str, ...]
    ran: int
    passed: int
    failed: int
    skipped: int
    inert: int  # listed falsifiers without kind + target (prose)
    missing: tuple[str, ...] = ()  # listed ids no contract defines
    not_run: int = 0  # exitfirst: falsifiers never reached after the first failure elsewhere

    @property
    def green(self) -> bool:
        return self.verdict == "PASS"


@dataclass(frozen=True)
class GateResult:
    gates: tuple[GateVerdict, ...]
    tests: tuple[TestOutcome, ...]
    wall_s: float
    first_failure_s: float | None  # wall time from subprocess start to the end of the first failing test
    command: tuple[str, ...]
    pytest_exit: int
    output_tail: str = ""
    stopped_early: bool = False  # exitfirst: pytest stopped at the first failure; `not_run` never ran
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def executed(self) -> int:
        return sum(1 for t in self.tests if t.outcome in ("passed", "failed", "error"))

    @property
    def passed(self) -> int:
        return sum(1 for t in self.tests if t.outcome == "passed")

    @property
    def failed(self) -> int:
        return sum(1 for t in self.tests if t.outcome in ("failed", "error"))

    @property
    def skipped(self) -> int:
        return sum(1 for t in self.tests if t.outcome == "skipped")

    @property
    def not_run(self) -> int:
        return sum(1 for t in self.tests if t.outcome == "not-run")

    @property
    def inert(self) -> int:
        return len(
            {f for g in self.gates for f in g.falsifiers}
            - {t.falsifier for t in self.tests}
            - {m for g in self.gates for m in g.missing}
        )

    @property
    def blocking(self) -> tuple[GateVerdict, ...]:
        return tuple(g for g in self.gates if g.ship_blocking)

    @property
    def exit_code(self) -> int:
        return 0 if all(g.green for g in self.blocking) and all(g.green for g in self.gates) else 1

    def summary(self) -> str:
        green = sum(1 for g in self.blocking if g.green)
        stopped = f" · stopped after the first failure: {self.not_run} not run" if self.stopped_early else ""
        # --gate may select advisory gates: their verdict counts too, so say how many were selected.
        selected = (
            f" · {sum(1 for g in self.gates if g.green)}/{len(self.gates)} selected gates green"
            if len(self.blocking) < len(self.gates)
            else ""
        )
        return (
            f"{self.executed} falsifiers executed, {self.passed} passed, {self.failed} failed, "
            f"{self.skipped} skipped, {self.inert} inert · "
            f"{green}/{len(self.blocking)} ship-blocking gates green{selected}{stopped}"
        )


def _entries(doc: dict, key: str) -> list[dict]:
    """The `key` list's entries that carry a string id; the rest is `pv validate`'s to report (the
    gate runs on contracts it may not have seen, and must not crash on them)."""
    return [e for _, e in items(doc, key) if isinstance(e.get("id"), str)]


def _listed(gate: dict) -> list[str]:
    return [f for _, f in str_list(gate.get("falsifiers"))]


def _select(contracts, gate_ids):
    """Gates to run: the ship-blocking ones, or exactly `gate_ids` (blocking or not)."""
    gates = [(c, g) for c in contracts for g in _entries(c.doc, "gates")]
    if gate_ids:
        known = {g["id"] for _, g in gates}
        unknown = [gid for gid in gate_ids if gid not in known]
        if unknown:
            raise UsageError(f"unknown gate id(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return [(c, g) for c, g in gates if g["id"] in gate_ids]
    return [(c, g) for c, g in gates if g.get("ship_blocking")]


def plan(config, contract_paths=None, gate_ids=None):
    """(selected gates, falsifier id → (contract, falsifier dict), generated dir) with a drift check."""
    paths = list(contract_paths or [config.path(p) for p in config.contracts])
    out_dir = config.path(config.generated_dir)
    try:
        files = render_all(
            paths,
            out_dir,
            kinds=kind_registry(config),
            target_packages=config.target_packages,
            root=config.root,
        )
    except GenerateError as exc:  # a contract the gate cannot read is no verdict: exit 2, not 1
        raise GateError(f"cannot run the gate: {exc}") from exc
    contracts = [f.contract for f in files]
    stale = [
        str(f.path)
        for f in files
        if not f.path.is_file() or f.path.read_text(encoding="utf-8", errors="replace") != f.source
    ]
    if stale:
        raise GateError(
            f"generated falsifiers differ from the contracts: {', '.join(stale)}. "
            f"Run `pv generate` and commit the result, then rerun `pv gate`."
        )
    by_id = {}
    for c in contracts:
        for f in _entries(c.doc, "falsifiers"):
            by_id[f["id"]] = (c, f)
    return _select(contracts, gate_ids), by_id, out_dir


def run_gate(
    config,
    *,
    gate_ids=None,
    jobs=None,
    env=None,
    cwd=None,
    contract_paths=None,
    extra_pytest_args=(),
    timeout=None,
    exitfirst=False,
) -> GateResult:
    """Run the selected gates' falsifiers in one pytest subprocess and judge every gate.

    `exitfirst` stops pytest at the first failing falsifier (`-x`): the run is red either way, the
    falsifiers it never reached are reported as not-run (neither passed nor failed), and the summary
    says the gate stopped early."""
    selected, by_id, _ = plan(config, contract_paths, gate_ids)
    if not selected:
        raise UsageError(
            "no ship-blocking gates in the contracts: nothing to gate (an empty gate run is not a pass)"
        )
    run_root = Path(cwd) if cwd else config.root
    nodes: dict[str, str] = {}
    for _, g in selected:
        for fid in _listed(g):
            if fid in by_id and executable(by_id[fid][1]):
                nodes[fid] = test_node_id(config, by_id[fid][0].path, fid, root=run_root)
    if jobs is None:
        jobs = default_jobs(len(nodes))
    with tempfile.TemporaryDirectory(prefix="pv-gate-") as tmp:
        report_path = Path(tmp) / "report.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "pv.pytest_plugin",
            "--rootdir",
            str(run_root),
            *extra_pytest_args,
        ]
        if exitfirst:
            cmd.append("-x")
        if jobs and jobs > 1:
            cmd += ["-n", str(jobs), "--dist", "loadgroup"]
        cmd += sorted(set(nodes.values()))
        child_env = {
            **os.environ,
            **(env or {}),
            "HYPOTHESIS_PROFILE": "ci",
            "PV_GATE_REPORT": str(report_path),
            "PV_PROJECT_ROOT": str(run_root),  # falsifiers.runtime reads target_packages from here
        }
        t0 = time.time()
        if nodes:
            try:
                proc = subprocess.run(
                    cmd,
                    cwd=run_root,
                    env=child_env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise GateError(f"pytest did not finish within {timeout} s: {' '.join(cmd[:8])} …") from exc
            exit_status, tail = proc.returncode, (proc.stdout + proc.stderr)[-4000:]
        else:
            exit_status, tail = 5, "no executable falsifiers selected"
        wall = time.time() - t0
        data = json.loads(report_path.read_text()) if report_path.is_file() else {"tests": []}
    if nodes and exit_status not in (0, 1) and not data["tests"]:
        raise GateError(f"pytest exited {exit_status} without running a falsifier:\n{tail}")
    by_node = {t["nodeid"]: t for t in data["tests"]}
    # -x stopped pytest after a failure: what it never reached was not run, not broken.
    stopped = bool(exitfirst and any(t["outcome"] == "failed" for t in data["tests"]))
    outcomes = {}
    for fid, node in nodes.items():
        rec = by_node.get(node)
        if rec is None and stopped:
            outcomes[fid] = TestOutcome(
                fid, node, "not-run", 0.0, 0.0, "not run: stopped after the first failure"
            )
        elif rec is None:
            outcomes[fid] = TestOutcome(fid, node, "error", 0.0, 0.0, "not run (collection failed?)")
        else:
            start = (rec["start"] - t0) if rec["start"] else 0.0
            outcomes[fid] = TestOutcome(
                fid, node, rec["outcome"], round(start, 3), round(rec["duration"], 3), rec["message"]
            )
    stops = [o.start_s + o.duration_s for o in outcomes.values() if o.outcome in ("failed", "error")]
    verdicts = []
    for c, g in selected:
        fids = tuple(_listed(g))
        mine = [outcomes[f] for f in fids if f in outcomes]
        ran = sum(1 for o in mine if o.outcome not in ("skipped", "not-run"))
        failed = sum(1 for o in mine if o.outcome in ("failed", "error"))
        missing = tuple(f for f in fids if f not in by_id)
        not_run = sum(1 for o in mine if o.outcome == "not-run")
        if failed:
            verdict = "FAIL"
        elif not_run:
            verdict = "STOPPED"  # unverified, so not green, but not shown to be broken either
        else:
            verdict = "EMPTY" if ran == 0 else "PASS"
        verdicts.append(
            GateVerdict(
                id=g["id"],
                contract=c.id,
                binds_to=g.get("binds_to", ""),
                ship_blocking=bool(g.get("ship_blocking")),
                verdict=verdict,
                falsifiers=fids,
                ran=ran,
                passed=sum(1 for o in mine if o.outcome == "passed"),
                failed=failed,
                skipped=sum(1 for o in mine if o.outcome == "skipped"),
                inert=sum(1 for f in fids if f in by_id and not executable(by_id[f][1])),
                missing=missing,
                not_run=not_run,
            )
        )
    return GateResult(
        gates=tuple(verdicts),
        tests=tuple(sorted(outcomes.values(), key=lambda o: o.falsifier)),
        wall_s=round(wall, 3),
        first_failure_s=round(min(stops), 3) if stops else None,
        command=tuple(cmd),
        pytest_exit=exit_status,
        output_tail=tail,
        stopped_early=stopped,
    )
