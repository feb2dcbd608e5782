"""`pv hunt`: spend a time budget searching the generated falsifier tests for a regression.

N pytest worker processes (plugin pv.hunt_plugin) each take a share of the selected falsifier tests and
run them round-robin under the `pv-hunt` hypothesis profile (random, large total example counts, one
example database under .pv/hypothesis shared by every worker) until the budget is spent or something
fails. Hypothesis shrinks the failure; the minimal example can then be pinned into the contract's
`examples:` (ruamel round trip, comments kept) so the regenerated test replays it in CI forever.

API (stable):
    parse_budget("90s" | "10m" | "1h" | "1h30m" | "45") -> float seconds
    select_targets(config, *, gate_ids=(), falsifier_ids=()) -> list[Target]
    hunt(config, targets, *, budget_s, jobs, on_progress=None, slice_s=3.0, keep_going=False) -> HuntResult
    pin_example(contract_path, falsify_id, example) -> bool   # False: already pinned
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pv.errors import PvError, UsageError

DB_DIR = ".pv/hypothesis"
# Workers stop themselves one example after the deadline (pv.hunt_plugin); shrinking a failure found
# late may go on a little longer. GRACE_S past that, a worker still running is killed.
GRACE_S = 30.0
STARTUP_S = 120.0  # more for a worker that has not finished collecting (a very loaded machine)


def _late_text(seconds: float) -> str:
    return f"{seconds:.0f} s"


def shrink_grace(budget_s: float) -> float:
    """How long past the deadline a worker may keep shrinking a failure it found: a tenth of the
    budget, at least 5 s and at most a minute."""
    return min(60.0, max(5.0, 0.1 * budget_s))


MAX_BUDGET_S = 7 * 24 * 3600.0
_BUDGET = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


class HuntError(PvError):
    """A worker could not run (collection error, crash): the hunt proves nothing."""

    exit_code = 2


@dataclass(frozen=True)
class Target:
    falsify_id: str
    contract_id: str
    contract_path: Path
    node_id: str  # generated test, relative to the project root


@dataclass(frozen=True)
class Progress:
    elapsed: float
    budget: float
    examples: int
    hunted: int  # falsifiers that ran at least once
    failures: int
    workers: tuple[str, ...]  # one short line per worker
    found: tuple[str, ...] = ()  # falsifier (or node) ids that failed so far, in the order found


@dataclass(frozen=True)
class Failure:
    falsify_id: str
    node_id: str
    example: dict | None  # the shrunk arguments as plain data; None when not representable
    example_repr: str
    error: str  # pytest's failure text (tail)
    contract_path: Path | None


@dataclass(frozen=True)
class HuntResult:
    elapsed: float
    budget: float
    workers: int
    selected: int  # generated tests selected
    hunted: tuple[str, ...]  # node ids that ran (hypothesis tests)
    skipped: tuple[str, ...]  # selected, but draw no inputs: nothing to hunt
    examples: int  # test-body calls, shrinking included
    runs: int  # hypothesis runs (rounds × tests)
    failures: tuple[Failure, ...]
    examples_by_node: dict = field(default_factory=dict, compare=False)  # node id -> examples tried
    not_reached: tuple[str, ...] = ()  # selected node ids the budget ran out before
    startup_s: float = 0.0  # from the start to the slowest worker's first run (pytest start, collection)
    stopped_in: tuple[str, ...] = ()  # tests still running at the hard limit (their worker was killed)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def parse_budget(text: str) -> float:
    s = text.strip().lower().replace(" ", "")
    m = _BUDGET.fullmatch(s)
    if not s or not m or not any(m.groups()):
        raise UsageError(f"budget {text!r} is not a duration. Write e.g. 90s, 10m, 1h or 1h30m.")
    h, mi, se = (float(g) if g else 0.0 for g in m.groups())
    seconds = h * 3600 + mi * 60 + se
    if seconds <= 0:
        raise UsageError(f"budget {text!r} is zero. Give a positive duration, e.g. 30s.")
    if not seconds <= MAX_BUDGET_S:  # also catches inf from a number too long for a float
        raise UsageError(f"budget {text!r} is longer than a week. Give at most 168h.")
    return seconds


def select_targets(
    config, *, gate_ids: Sequence[str] = (), falsifier_ids: Sequence[str] = ()
) -> list[Target]:
    """Executable falsifiers (with a generated test) of [tool.pv].contracts, narrowed by gate/falsifier."""
    from pv.index import items, str_list
    from pv.loader import LoadedDocument, load_document
    from pv.trace import contract_paths, generated_test_id, test_exists

    existing = [config.path(p) for p in config.contracts if config.path(p).exists()]
    if not existing:
        raise UsageError(f"no contracts under [tool.pv].contracts ({', '.join(config.contracts)}).")
    paths = contract_paths(existing)
    docs = [
        d
        for d in (load_document(p, max_bytes=config.max_bytes) for p in paths)
        if isinstance(d, LoadedDocument)
    ]
    # Wrong shapes are `pv validate`'s to report; here they only must not crash the hunt.
    gates = {g["id"]: g for d in docs for _, g in items(d.data, "gates") if isinstance(g.get("id"), str)}
    wanted: set[str] | None = None
    if gate_ids:
        unknown = [g for g in gate_ids if g not in gates]
        if unknown:
            raise UsageError(f"no gate {', '.join(unknown)} in the contracts. `pv trace` lists the gates.")
        wanted = {f for g in gate_ids for _, f in str_list(gates[g].get("falsifiers"))}
    if falsifier_ids:
        wanted = (wanted or set()) | set(falsifier_ids)
    out, known, cache = [], set(), {}
    for d in docs:
        for _, f in items(d.data, "falsifiers"):
            if not isinstance(f.get("id"), str):
                continue
            known.add(f["id"])
            if not (f.get("kind") and f.get("target")) or (wanted is not None and f["id"] not in wanted):
                continue
            node = generated_test_id(config, d.path, f["id"])
            if test_exists(config, node, cache):
                continue  # not generated yet; `pv trace` reports it
            out.append(Target(f["id"], d.contract_id, d.path, node))
    missing = sorted(set(falsifier_ids) - known)
    if missing:
        raise UsageError(f"no falsifier {', '.join(missing)} in the contracts. `pv trace` lists them.")
    if not out:
        raise UsageError(
            "nothing to hunt: no executable falsifier with a generated test matches. "
            "Run `pv generate`, or widen --gate/--falsifier."
        )
    return out


def _shares(node_ids: list[str], jobs: int) -> list[list[str]]:
    """Disjoint slices when there are enough tests; with fewer tests than workers, tests repeat
    across workers (different random seeds, one shared database)."""
    if len(node_ids) >= jobs:
        return [node_ids[i::jobs] for i in range(jobs)]
    return [[node_ids[i % len(node_ids)]] for i in range(jobs)]


def _read_states(state: Path) -> list[dict]:
    out = []
    for p in sorted(state.glob("worker-*.json")):
        try:
            out.append(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # being replaced right now; next poll reads it
    return out


def hunt(
    config,
    targets: Sequence[Target],
    *,
    budget_s: float,
    jobs: int,
    on_progress: Callable[[Progress], None] | None = None,
    slice_s: float = 3.0,
    keep_going: bool = False,
    poll_s: float = 0.5,
) -> HuntResult:
    if not targets:
        raise UsageError("nothing to hunt: no targets selected.")
    from pv.gate import plugin_args

    root = Path(config.root)
    db = root / DB_DIR
    db.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="hunt-", dir=db.parent))
    start = time.time()
    deadline = start + budget_s
    node_ids = [t.node_id for t in targets]
    procs: list[tuple[subprocess.Popen, Path]] = []
    try:
        for i, share in enumerate(_shares(node_ids, jobs)):
            path_entries = [str(root), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(dict.fromkeys(path_entries)),  # the project, importable
                "PV_PROJECT_ROOT": str(root),
                "PV_HUNT_STATE": str(state),
                "PV_HUNT_WORKER": str(i),
                "PV_HUNT_DEADLINE": repr(deadline),
                "PV_HUNT_DB": str(db),
                "PV_HUNT_SLICE": repr(slice_s),
                "PV_HUNT_SHRINK_GRACE": repr(shrink_grace(budget_s)),
                "PV_HUNT_KEEP_GOING": "1" if keep_going else "0",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
            log = state / f"worker-{i}.log"
            cmd = [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "pv.hunt_plugin",
                *plugin_args(),
                "--pv-profile",
                "hunt",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                "-q",
                "--no-header",
                "-rN",
                *share,
            ]
            with open(log, "wb") as fh:
                procs.append(
                    (subprocess.Popen(cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT), log)
                )
        stopped: dict[int, str] = {}  # worker -> the test it was still running at its hard limit
        late = shrink_grace(budget_s) + GRACE_S
        while any(p.poll() is None for p, _ in procs):
            states_now = {s["worker"]: s for s in _read_states(state)}
            now = time.time()
            for i, (p, _) in enumerate(procs):  # only our own children, by handle
                s = states_now.get(i)
                # A worker's grace runs from the deadline, or from its own start when that came later
                # (a loaded machine); one that never got going has STARTUP_S more.
                began = (s.get("loop_start") or now) if s is not None else deadline + STARTUP_S
                if p.poll() is None and now > max(deadline, began) + late:
                    p.kill()
                    stopped[i] = (s or {}).get("current", "")
            if on_progress is not None:
                on_progress(_progress(list(states_now.values()), start, budget_s))
            time.sleep(poll_s)
        for p, _ in procs:
            p.wait()
        states = _read_states(state)
        if on_progress is not None:
            on_progress(_progress(states, start, budget_s))
        by_worker = {s["worker"]: s for s in states}
        for i, (p, log) in enumerate(procs):
            s = by_worker.get(i)
            if s is not None and i in stopped and not s.get("error"):
                continue  # stopped by us, one slow test past the budget: what it wrote stands
            if s is None or s.get("error") or (p.returncode not in (0, 1) and not s.get("failures")):
                tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
                why = (s or {}).get("error") or f"exit status {p.returncode}"
                raise HuntError(f"hunt worker {i} failed ({why}); its output ends with:\n{tail}")
        result = _result(states, targets, start, budget_s, len(procs))
        result = dataclasses.replace(result, stopped_in=tuple(sorted(n for n in stopped.values() if n)))
        if not result.hunted and not result.failures:
            # an empty hunt is no evidence, whatever the exit status says
            why = (
                f"{', '.join(result.stopped_in)} was still running its first run when stopped "
                f"{_late_text(late)} after the budget"
                if result.stopped_in
                else "no selected falsifier draws inputs"
                if result.skipped
                else "no worker got as far as a first run"
            )
            raise HuntError(f"nothing was hunted: {why}. Give a larger --budget, or select other falsifiers.")
        return result
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(state, ignore_errors=True)


def _progress(states: list[dict], start: float, budget: float) -> Progress:
    lines = tuple(
        f"worker {s['worker']}: {s['examples']} examples, {s['runs']} runs"
        + (
            f", now {s['current'].rpartition('::')[2]}"
            if s.get("current")
            else ", done"
            if s.get("done")
            else ""
        )
        for s in states
    )
    hunted = {n for s in states for n in s.get("hunted", {})}
    found = sorted(
        (f["at"], f.get("falsifier") or f["nodeid"]) for s in states for f in s.get("failures", [])
    )
    return Progress(
        time.time() - start,
        budget,
        sum(s["examples"] for s in states),
        len(hunted),
        sum(len(s.get("failures", [])) for s in states),
        lines,
        tuple(dict.fromkeys(fid for _, fid in found)),
    )


def _result(
    states: list[dict], targets: Sequence[Target], start: float, budget: float, workers: int
) -> HuntResult:
    by_node = {t.node_id: t for t in targets}
    failures: dict[str, Failure] = {}
    for s in states:
        for f in sorted(s.get("failures", []), key=lambda f: f["at"]):
            t = by_node.get(f["nodeid"])
            fid = f.get("falsifier") or (t.falsify_id if t else f["nodeid"])
            failures.setdefault(
                fid,
                Failure(
                    fid,
                    f["nodeid"],
                    f.get("example"),
                    f.get("example_repr", ""),
                    f.get("error", ""),
                    t.contract_path if t else None,
                ),
            )
    hunted = sorted({n for s in states for n in s.get("hunted", {})})
    skipped = sorted({n for s in states for n in s.get("skipped", [])} - set(hunted))
    by_node: dict[str, int] = {}
    for s in states:
        for node, n in s.get("hunted", {}).items():
            by_node[node] = by_node.get(node, 0) + n
    not_reached = tuple(t.node_id for t in targets if t.node_id not in by_node and t.node_id not in skipped)
    return HuntResult(
        time.time() - start,
        budget,
        workers,
        len(targets),
        tuple(hunted),
        tuple(skipped),
        sum(s["examples"] for s in states),
        sum(s["runs"] for s in states),
        tuple(failures.values()),
        by_node,
        tuple(dict.fromkeys(not_reached)),
        max((s.get("loop_start") or start) - start for s in states) if states else 0.0,
    )


# ---------------------------------------------------------------- pinning


def pin_example(contract_path: Path, falsify_id: str, example: dict) -> bool:
    """Append `example` to the falsifier's `examples:` in the contract, keeping comments and layout
    (ruamel round trip), written atomically. False when the very same example is already pinned."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    path = Path(contract_path)
    doc = yaml.load(path.read_text(encoding="utf-8"))
    falsifier = next((f for f in doc.get("falsifiers") or [] if f.get("id") == falsify_id), None)
    if falsifier is None:
        raise UsageError(f"{path}: no falsifier {falsify_id} to pin the example to.")
    entry = CommentedMap(example)
    entry.fa.set_flow_style()
    examples = falsifier.get("examples")
    if examples is None:
        examples = CommentedSeq()
        after = [k for k in ("params", "target", "kind") if k in falsifier]
        pos = list(falsifier).index(after[0]) + 1 if after else len(falsifier)
        falsifier.insert(pos, "examples", examples)
    same = json.dumps(example, sort_keys=True)  # by text, so a pinned NaN equals itself
    if any(json.dumps(dict(e), sort_keys=True) == same for e in examples if isinstance(e, dict)):
        return False
    examples.fa.set_block_style()  # one `- {…}` line per example: a flow list shows one-key maps bare
    examples.append(entry)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yaml.dump(doc, fh)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True
