"""pytest plugin of one `pv hunt` worker (`-p pv.hunt_plugin`; inert without PV_HUNT_STATE).

It replaces pytest's run loop: the selected hypothesis tests are run round-robin, again and again, until
the deadline, the stop file, or a failure. Each run uses pv's `hunt` profile (`--pv-profile hunt`, from
pv's pytest plugin: random, shared example database under .pv/hypothesis) with a max_examples sized so
one run takes about PV_HUNT_SLICE seconds. Every call of a test body is counted, and the arguments of
the last failing call (hypothesis replays the shrunk example last) are kept as the minimal example.
Progress and results go to $PV_HUNT_STATE/worker-<i>.json, rewritten atomically after every run.

The deadline is kept inside a run too: once it has passed, the next example ends the run (as a skip,
which hypothesis passes straight through), so a worker stops one example after its budget — except
while a failure is being shrunk, which may go on for SHRINK_GRACE past the deadline; after that the
failing example found so far is reported as it is. No run starts after the deadline, except a worker's
very first (one example), so every hunt states a real denominator.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

PROFILE = "pv-hunt"  # pv.pytest_plugin.hypothesis_profile("hunt"), registered by pv's plugin
MIN_EXAMPLES, MAX_EXAMPLES = 10, 100_000
FIRST_EXAMPLES = 25  # the first run of a test measures its speed; small so a slow test cannot overshoot
_NOT_FAILURES = ("UnsatisfiedAssumption", "StopTest", "Frozen", "Skipped")
BUDGET_SPENT = "pv hunt: budget spent"


def _active() -> bool:
    return bool(os.environ.get("PV_HUNT_STATE"))


def jsonable(value):
    """The value as JSON-compatible data (floats nan/inf kept), or raise TypeError."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: jsonable(v) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} is not plain data")


class _Worker:
    def __init__(self) -> None:
        self.state = Path(os.environ["PV_HUNT_STATE"])
        self.index = int(os.environ.get("PV_HUNT_WORKER", "0"))
        self.deadline = float(os.environ["PV_HUNT_DEADLINE"])
        self.stop_file = self.state / "stop"
        self.slice_s = float(os.environ.get("PV_HUNT_SLICE", "3"))
        self.shrink_grace_s = float(os.environ.get("PV_HUNT_SHRINK_GRACE", "10"))
        self.keep_going = os.environ.get("PV_HUNT_KEEP_GOING") == "1"
        self.examples = 0
        self.runs = 0
        self.current = ""
        self.hunted: dict[str, int] = {}  # nodeid -> examples tried
        self.skipped: list[str] = []  # collected but not hypothesis tests
        self.failures: list[dict] = []
        self.error = ""
        self.last_failing: dict[str, tuple[str, object]] = {}  # nodeid -> (repr, json or None)
        self.last_error: dict[str, str] = {}  # nodeid -> the failing call's exception, one line
        self.reports: dict[str, pytest.TestReport] = {}
        self.run_calls = 0  # test-body calls in the run in progress
        self.run_failed = False  # the run in progress has seen a failing call (it is shrinking)
        self.cut_short = False  # the run in progress was ended by the deadline
        self.ran_any = False
        self.loop_start = 0.0  # when collection was over and the hunt proper began (epoch seconds)

    def write(self, done: bool = False) -> None:
        data = {
            "worker": self.index,
            "pid": os.getpid(),
            "examples": self.examples,
            "runs": self.runs,
            "current": self.current,
            "hunted": self.hunted,
            "skipped": self.skipped,
            "failures": self.failures,
            "error": self.error,
            "loop_start": self.loop_start,
            "done": done,
        }
        path = self.state / f"worker-{self.index}.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
        os.replace(tmp, path)

    def stopped(self) -> bool:
        return time.time() >= self.deadline or self.stop_file.exists()

    def instrument(self, item) -> None:
        """Count every call of the test body and keep the arguments of the last failing one."""
        fn = item.obj
        inner = fn.hypothesis.inner_test
        if getattr(inner, "_pv_hunt", False):
            return
        nodeid = item.nodeid

        def counted(*args, **kwargs):
            now = time.time()
            limit = self.deadline + (self.shrink_grace_s if self.run_failed else 0.0)
            if self.run_calls and now >= limit:  # the budget is spent: end this run here
                self.cut_short = True
                pytest.skip(BUDGET_SPENT)
            self.run_calls += 1
            self.examples += 1
            self.hunted[nodeid] = self.hunted.get(nodeid, 0) + 1
            try:
                return inner(*args, **kwargs)
            except BaseException as exc:
                if type(exc).__name__ not in _NOT_FAILURES:
                    try:
                        example = jsonable(kwargs)
                    except TypeError:
                        example = None
                    shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
                    self.last_failing[nodeid] = (shown, example)
                    self.last_error[nodeid] = f"E   {type(exc).__name__}: {exc}"[:2000]
                    self.run_failed = True
                raise

        counted._pv_hunt = True  # type: ignore[attr-defined]
        fn.hypothesis.inner_test = counted

    def configure_run(self, item, max_examples: int) -> None:
        from hypothesis import settings

        fn = item.obj
        base = getattr(fn, "_hypothesis_internal_use_settings", None) or settings.default
        hunt = settings.get_profile(PROFILE)
        fn._hypothesis_internal_use_settings = settings(
            base,
            max_examples=max_examples,
            derandomize=False,
            database=hunt.database,
            deadline=None,
            print_blob=True,
            suppress_health_check=hunt.suppress_health_check,
        )

    def record_failure(self, item, report) -> None:
        shown, example = self.last_failing.get(item.nodeid, ("", None))
        marker = item.get_closest_marker("falsifier")
        if report is None:  # the budget ended the shrinking: the example found so far still fails
            text = (
                f"{self.last_error.get(item.nodeid, '')}\n"
                "(shrinking was cut short when the budget ran out: the example is failing, not minimal)"
            )
        else:
            text = report.longreprtext or ""
        self.failures.append(
            {
                "nodeid": item.nodeid,
                "falsifier": str(marker.args[0]) if marker and marker.args else "",
                "example": example,
                "example_repr": shown,
                "phase": report.when if report is not None else "call",
                "error": text[-4000:],
                "at": time.time(),
            }
        )


_worker: _Worker | None = None


def pytest_configure(config) -> None:
    global _worker
    if not _active():
        return
    _worker = _Worker()


def pytest_collection_modifyitems(session, config, items) -> None:
    if _worker is None:
        return
    keep = []
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            keep.append(item)
        else:
            _worker.skipped.append(item.nodeid)
    items[:] = keep


def pytest_runtest_logreport(report) -> None:
    if _worker is not None and report.failed:
        _worker.reports.setdefault(report.nodeid, report)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session) -> bool | None:
    if _worker is None:
        return None
    w = _worker
    if session.testsfailed:  # collection errors: say so rather than hunt a partial set
        w.error = f"{session.testsfailed} error(s) during collection"
        w.write(done=True)
        return True
    items = list(session.items)
    w.loop_start = time.time()
    per_example: dict[str, float] = {}
    failed: set[str] = set()
    w.write()
    while items and not w.stop_file.exists():
        for item in items:
            if item.nodeid in failed:
                continue
            if w.stop_file.exists() or (w.stopped() and w.ran_any):
                break
            left = w.deadline - time.time()
            speed = per_example.get(item.nodeid)
            n = FIRST_EXAMPLES if speed is None else int(min(w.slice_s, max(left, 0.0)) / max(speed, 1e-6))
            n = max(MIN_EXAMPLES, min(MAX_EXAMPLES, n))
            w.current = item.nodeid
            w.write()  # so the parent can name the test if it must stop this worker mid-run
            w.instrument(item)
            w.configure_run(item, n)
            w.run_calls, w.run_failed, w.cut_short = 0, False, False
            before, start = w.hunted.get(item.nodeid, 0), time.perf_counter()
            item.ihook.pytest_runtest_protocol(item=item, nextitem=None)
            w.ran_any = True
            calls = w.hunted.get(item.nodeid, 0) - before
            if not w.cut_short:  # a run ended by the deadline says nothing about the test's speed
                per_example[item.nodeid] = (time.perf_counter() - start) / max(calls, 1)
            w.runs += 1
            report = w.reports.pop(item.nodeid, None)
            if report is None and w.run_failed and w.cut_short:
                report_or_none = None  # failing, shrinking cut off by the budget: still a failure
            elif report is not None:
                report_or_none = report
            else:
                w.write()
                continue
            failed.add(item.nodeid)
            session.testsfailed += 1
            w.record_failure(item, report_or_none)
            if not w.keep_going:
                w.stop_file.touch()
            w.write()
        if len(failed) == len(items) or w.stopped():
            break
    w.current = ""
    w.write(done=True)
    return True
