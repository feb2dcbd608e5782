"""`pv gate`: run the falsifiers of the ship-blocking gates and give each gate a verdict.

The generated modules run in one pytest subprocess, selected by node id, under pv's `ci` hypothesis
profile (`--pv-profile ci`: derandomized, no example database, no deadline). pv's pytest plugin
appends a JSON line per test start and end to a report file as it happens; the gate tails that file
while pytest runs, so it can show progress live, and so a pytest that dies (OOM kill, segfault,
`--timeout`) still leaves every verdict it earned: the test that was running is named (crashed or
timed out), the ones never reached are not-run, and no gate they belong to counts as green.

A gate is green only when at least one of its falsifiers executed and none failed: skipped tests do
not count as executed, and a gate with nothing executable is EMPTY, which fails the gate like a red test.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pv.errors import PvError, UsageError
from pv.generate import GenerateError, executable, kind_registry, render_all, test_node_id
from pv.index import items, str_list

DEFAULT_PARALLEL_THRESHOLD = 6  # above this many falsifiers, two xdist workers pay for their start-up
# ...and a second core. Every worker imports torch, so with a 15 s gate two workers on 2 cores were
# slower (31 s) than one process (19 s); with the run-surface falsifiers (a 35-45 s gate) they take the
# same wall time, and the largest group starting at once on its own worker (pytest_plugin's order)
# brings the median time to kill of `make mutants` from 21.6 s to 15.5 s on the same 12 mutants.
MIN_CORES_FOR_XDIST = 2
DEFAULT_TIMEOUT_S = 30 * 60.0  # `pv gate --timeout`: a gate that hangs must end, and say so
KILL_GRACE_S = 5.0  # after SIGTERM to pytest's process group, before SIGKILL
POLL_S = 0.1
LINGER_S = 15.0  # how long pytest may keep running after its last selected test ended
TICK_S = 0.5


def xdist_available() -> bool:
    """pytest-xdist importable by the gate's pytest (the same interpreter as this process)."""
    return importlib.util.find_spec("xdist") is not None


def default_jobs(n_falsifiers: int) -> int:
    """xdist workers `pv gate` uses when not told: 2 for a large gate on a machine with spare cores,
    and only where pytest-xdist is installed (it is a dev extra, not a dependency of pv)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    big = n_falsifiers > DEFAULT_PARALLEL_THRESHOLD and cores >= MIN_CORES_FOR_XDIST
    return 2 if big and xdist_available() else 0


def plugin_args() -> list[str]:
    """How the gate's pytest loads pv's plugin: through its `pytest11` entry point when pv is installed
    (`-p pv` then loads it even under PYTEST_DISABLE_PLUGIN_AUTOLOAD and never twice), else by module."""
    for ep in importlib.metadata.entry_points(group="pytest11"):
        if ep.name == "pv" and ep.value.strip() == "pv.pytest_plugin":
            return ["-p", "pv"]
    return ["-p", "pv.pytest_plugin"]


class GateError(PvError):
    """The gate could not run at all (stale generated modules, pytest refused its arguments)."""

    exit_code = 2


# Outcomes of one falsifier's test. Counted as failed: failed, error, crashed.
FAILED_OUTCOMES = ("failed", "error", "crashed")


@dataclass(frozen=True)
class TestOutcome:
    falsifier: str
    nodeid: str
    # passed | failed | skipped | error (never reported: collection failed) | crashed (pytest died
    # while it ran) | timed-out (running when --timeout expired) | not-run (never reached: after the
    # first failure with exitfirst, or after a crash or timeout)
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
    # PASS | FAIL | EMPTY | STOPPED (not all of it ran, nothing failed) | TIMEOUT (a falsifier was still
    # running when the gate's --timeout expired, nothing failed)
    verdict: str
    falsifiers: tuple[str, ...]
    ran: int
    passed: int
    failed: int
    skipped: int
    inert: int  # listed falsifiers without kind + target (prose)
    missing: tuple[str, ...] = ()  # listed ids no contract defines
    not_run: int = 0  # never reached (exitfirst, crash, timeout)
    timed_out: int = 0

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
    timeout_s: float | None = None  # the limit the run had (None: none)
    timed_out: bool = False  # the limit expired: pytest's process group was killed
    crash: str = ""  # why pytest died before finishing ("killed by signal 9 …"), "" when it finished
    # gate / falsifier id -> (contract path relative to the project root, 1-based line), for SARIF
    locations: dict = field(default_factory=dict, compare=False)
    extra: dict = field(default_factory=dict, compare=False)

    def _count(self, *outcomes: str) -> int:
        return sum(1 for t in self.tests if t.outcome in outcomes)

    @property
    def executed(self) -> int:
        return self._count("passed", *FAILED_OUTCOMES, "timed-out")

    @property
    def passed(self) -> int:
        return self._count("passed")

    @property
    def failed(self) -> int:
        return self._count(*FAILED_OUTCOMES)

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def not_run(self) -> int:
        return self._count("not-run")

    @property
    def timed_out_tests(self) -> int:
        return self._count("timed-out")

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
        if self.timed_out:
            stopped = (
                f" · timed out after {_seconds(self.timeout_s)}: {self.timed_out_tests} timed out, "
                f"{self.not_run} not run"
            )
        elif self.crash:
            dying = [t.falsifier for t in self.tests if t.outcome == "crashed"]
            stopped = (
                f" · pytest died ({self.crash}) while running {', '.join(dying) or 'no falsifier'}: "
                f"{self.not_run} not run"
            )
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


def _seconds(s: float | None) -> str:
    if s is None:
        return "no limit"
    s = round(s)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


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


# ---------------------------------------------------------------- live events


@dataclass(frozen=True)
class GateEvent:
    """What the gate tells its caller while pytest runs (`on_event`).

    kind: "plan" (total = falsifier tests to run) | "start" (falsifier) | "end" (outcome)
    | "gate" (verdict: every falsifier of that gate has ended) | "tick" (twice a second while pytest
    runs) | "done" (result)."""

    kind: str
    elapsed_s: float
    total: int = 0
    falsifier: str = ""
    outcome: TestOutcome | None = None
    verdict: GateVerdict | None = None
    result: GateResult | None = None


class _Tail:
    """New complete JSON lines of a file another process appends to (a partial last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = 0
        self.partial = b""

    def read(self) -> list[dict]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.pos)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        self.pos += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # not ours (a torn write cannot happen: one write per line, O_APPEND)
        return out


def _why_died(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " — out of memory?" if -returncode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit status {returncode} before the session finished"


def _kill_group(proc: subprocess.Popen) -> None:
    """End pytest and everything it started (xdist workers, DDP ranks): its own process group."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            if sig == signal.SIGTERM:  # pytest is gone; its children may not be
                os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue
        except (ProcessLookupError, PermissionError):
            return


def _outcome_of(fid: str, node: str, rec: dict, t0: float) -> TestOutcome:
    start = (rec["start"] - t0) if rec.get("start") else 0.0
    return TestOutcome(
        fid,
        node,
        rec["outcome"],
        round(max(start, 0.0), 3),
        round(float(rec.get("duration") or 0.0), 3),
        rec.get("message", ""),
    )


def _locations(selected, by_id: dict, root: Path) -> dict[str, tuple[str, int]]:
    """Where each selected gate and each falsifier it lists is written: (posix path, line)."""
    from pv.loader import LoadedDocument, load_document

    wanted = {g["id"] for _, g in selected} | {f for _, g in selected for f in _listed(g) if f in by_id}
    contracts = {id(c): c for c, _ in selected} | {id(by_id[f][0]): by_id[f][0] for f in wanted if f in by_id}
    out: dict[str, tuple[str, int]] = {}
    for c in contracts.values():
        try:
            uri = Path(c.path).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            uri = Path(c.path).as_posix()
        loaded = load_document(Path(c.path))
        for key in ("gates", "falsifiers"):
            entries = c.doc.get(key)
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                eid = entry.get("id") if isinstance(entry, dict) else None
                if eid in wanted and eid not in out:
                    line = loaded.locate((key, i)).line if isinstance(loaded, LoadedDocument) else 1
                    out[eid] = (uri, line)
    return out


def _judge(c, g, outcomes: dict[str, TestOutcome], by_id: dict) -> GateVerdict:
    fids = tuple(_listed(g))
    mine = [outcomes[f] for f in fids if f in outcomes]
    ran = sum(1 for o in mine if o.outcome not in ("skipped", "not-run"))
    failed = sum(1 for o in mine if o.outcome in FAILED_OUTCOMES)
    not_run = sum(1 for o in mine if o.outcome == "not-run")
    timed_out = sum(1 for o in mine if o.outcome == "timed-out")
    if failed:
        verdict = "FAIL"
    elif timed_out:
        verdict = "TIMEOUT"
    elif not_run:
        verdict = "STOPPED"  # unverified, so not green, but not shown to be broken either
    else:
        verdict = "EMPTY" if ran == 0 else "PASS"
    return GateVerdict(
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
        missing=tuple(f for f in fids if f not in by_id),
        not_run=not_run,
        timed_out=timed_out,
    )


def run_gate(
    config,
    *,
    gate_ids=None,
    jobs=None,
    env=None,
    cwd=None,
    contract_paths=None,
    extra_pytest_args=(),
    timeout: float | None = None,
    exitfirst=False,
    on_event: Callable[[GateEvent], None] | None = None,
) -> GateResult:
    """Run the selected gates' falsifiers in one pytest subprocess and judge every gate.

    `exitfirst` stops pytest at the first failing falsifier (`-x`): the run is red either way, the
    falsifiers it never reached are reported as not-run (neither passed nor failed), and the summary
    says the gate stopped early. `timeout` (seconds, None = no limit) bounds the whole pytest run: on
    expiry its process group is killed, the verdicts earned are kept, the falsifiers still running are
    timed-out and the rest not-run. `on_event` sees each falsifier start and end and each gate's
    verdict as soon as its last falsifier ends."""
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
    if jobs and jobs > 1 and not xdist_available():
        raise UsageError(
            f"--jobs {jobs} needs pytest-xdist, which is not installed here. "
            "Install it (pip install pytest-xdist) or run in one process with --jobs 0."
        )
    fid_of = {node: fid for fid, node in nodes.items()}
    t0 = time.time()

    def emit(kind: str, **kw) -> None:
        if on_event is not None:
            on_event(GateEvent(kind, time.time() - t0, **kw))

    with tempfile.TemporaryDirectory(prefix="pv-gate-") as tmp:
        report_path = Path(tmp) / "report.jsonl"
        log_path = Path(tmp) / "pytest.log"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *plugin_args(),
            "--pv-profile",
            "ci",
            "--pv-report",
            str(report_path),
            "--rootdir",
            str(run_root),
            *extra_pytest_args,
        ]
        if exitfirst:
            cmd.append("-x")
        if jobs and jobs > 1:
            cmd += ["-n", str(jobs), "--dist", "loadgroup"]
        cmd += sorted(set(nodes.values()))
        base_env = {**os.environ, **(env or {})}
        # The project under test must be importable by its tests, whatever cwd or entry point pv
        # was started from: its root goes first on the child's sys.path.
        path_entries = [str(run_root), *filter(None, base_env.get("PYTHONPATH", "").split(os.pathsep))]
        child_env = {
            **base_env,
            "PYTHONPATH": os.pathsep.join(dict.fromkeys(path_entries)),
            "PV_PROJECT_ROOT": str(run_root),  # pv.runtime reads target_packages from here
        }
        child_env.pop("PV_PROFILE", None)  # --pv-profile decides; a stray environment must not
        records: dict[str, dict] = {}  # nodeid -> finished record
        running: dict[str, float] = {}  # nodeid -> start time, not ended yet
        collect_errors: list[dict] = []
        finished = False
        timed_out = False
        lingered = False  # every test ended, then pytest hung and was ended by the gate
        outcomes: dict[str, TestOutcome] = {}
        announced: set[str] = set()

        def judge_ready() -> None:
            for c, g in selected:
                if g["id"] in announced:
                    continue
                mine = [f for f in _listed(g) if f in nodes]
                if all(f in outcomes for f in mine):
                    announced.add(g["id"])
                    emit("gate", verdict=_judge(c, g, outcomes, by_id))

        def feed(events: list[dict]) -> None:
            nonlocal finished
            for ev in events:
                kind, node = ev.get("event"), ev.get("nodeid", "")
                if kind == "start":
                    running[node] = float(ev.get("t") or time.time())
                    if node in fid_of:
                        emit("start", falsifier=fid_of[node])
                elif kind == "end":
                    running.pop(node, None)
                    records[node] = ev
                    if node in fid_of:
                        outcomes[fid_of[node]] = _outcome_of(fid_of[node], node, ev, t0)
                        emit("end", falsifier=fid_of[node], outcome=outcomes[fid_of[node]])
                        judge_ready()
                elif kind == "collect-error":
                    collect_errors.append(ev)
                elif kind == "finish":
                    finished = True

        emit("plan", total=len(nodes))
        judge_ready()  # gates with nothing to run (EMPTY) are decided already
        tail = _Tail(report_path)
        if nodes:
            deadline = t0 + timeout if timeout else None
            with open(log_path, "wb") as log:
                try:
                    proc = subprocess.Popen(
                        cmd,
                        cwd=run_root,
                        env=child_env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # one process group to kill on timeout or interrupt
                    )
                except OSError as exc:
                    raise GateError(f"cannot start pytest ({cmd[0]}): {exc}") from exc
                try:
                    last_tick = 0.0
                    all_ended_at = None
                    while proc.poll() is None:
                        feed(tail.read())
                        if time.time() - last_tick >= TICK_S:  # lets a status line show the clock
                            last_tick = time.time()
                            emit("tick")
                        if deadline is not None and time.time() >= deadline:
                            timed_out = True
                            _kill_group(proc)
                            break
                        if all_ended_at is None and all(n in records for n in fid_of):
                            all_ended_at = time.time()
                        if all_ended_at is not None and time.time() - all_ended_at >= LINGER_S:
                            # Every verdict is in, but pytest does not exit (xdist can hang replacing
                            # a crashed worker): nothing is left to learn from it.
                            lingered = True
                            _kill_group(proc)
                            break
                        time.sleep(POLL_S)
                    proc.wait()
                finally:
                    if proc.poll() is None:  # interrupted (Ctrl-C): leave nothing running
                        _kill_group(proc)
            feed(tail.read())
            exit_status = proc.returncode
            tail_text = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        else:
            exit_status, tail_text = 5, "no executable falsifiers selected"
        wall = time.time() - t0
    crash = ""
    if nodes and not timed_out and not finished and not lingered:
        if exit_status >= 0 and not records and not running:
            # pytest refused to start (bad args, a plugin error, collection aborted): no verdict at all
            raise GateError(f"pytest exited {exit_status} without running a falsifier:\n{tail_text}")
        crash = _why_died(exit_status)
    elif nodes and exit_status not in (0, 1) and not records and not timed_out:
        raise GateError(f"pytest exited {exit_status} without running a falsifier:\n{tail_text}")
    # -x stopped pytest after a failure: what it never reached was not run, not broken.
    stopped = bool(exitfirst and any(r["outcome"] in ("failed", "crashed") for r in records.values()))
    for fid, node in nodes.items():
        if fid in outcomes:
            continue
        if node in running:
            ran_for = round(max(time.time() - running[node], 0.0), 3)
            start_s = round(running[node] - t0, 3)
            if timed_out:
                outcomes[fid] = TestOutcome(
                    fid,
                    node,
                    "timed-out",
                    start_s,
                    ran_for,
                    f"still running when --timeout {_seconds(timeout)} expired",
                )
            else:
                outcomes[fid] = TestOutcome(
                    fid, node, "crashed", start_s, ran_for, f"pytest died while this test ran ({crash})"
                )
        elif timed_out:
            outcomes[fid] = TestOutcome(fid, node, "not-run", 0.0, 0.0, "not run: the gate timed out first")
        elif crash:
            outcomes[fid] = TestOutcome(
                fid, node, "not-run", 0.0, 0.0, f"not run: pytest died first ({crash})"
            )
        elif stopped:
            outcomes[fid] = TestOutcome(
                fid, node, "not-run", 0.0, 0.0, "not run: stopped after the first failure"
            )
        else:
            why = next(
                (e["message"] for e in collect_errors if node.startswith(e.get("nodeid", "\0"))),
                "not run (collection failed?)",
            )
            outcomes[fid] = TestOutcome(fid, node, "error", 0.0, 0.0, why)
        emit("end", falsifier=fid, outcome=outcomes[fid])
        judge_ready()
    stops = [o.start_s + o.duration_s for o in outcomes.values() if o.outcome in FAILED_OUTCOMES]
    result = GateResult(
        gates=tuple(_judge(c, g, outcomes, by_id) for c, g in selected),
        tests=tuple(sorted(outcomes.values(), key=lambda o: o.falsifier)),
        wall_s=round(wall, 3),
        first_failure_s=round(min(stops), 3) if stops else None,
        command=tuple(cmd),
        pytest_exit=exit_status,
        output_tail=tail_text,
        stopped_early=stopped,
        timeout_s=timeout,
        timed_out=timed_out,
        crash=crash,
        locations=_locations(selected, by_id, config.root),
        extra={"killed_after_last_test": True} if lingered else {},
    )
    emit("done", result=result)
    return result
