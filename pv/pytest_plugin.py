"""pv's pytest plugin, registered as the `pv` entry point of the `pytest11` group.

Installed with pv, so pytest loads it in every project, and it changes nothing there until asked:

- always: registers the `falsifier(id, expensive=False)` marker, so `--strict-markers` accepts the
  generated tests, and drops the shrink phase of tests marked `expensive=True` (a kind whose every
  example is costly, e.g. one that builds a model: shrinking would rebuild it hundreds of times);
- only when a profile is selected — `--pv-profile NAME`, else $PV_PROFILE, else the `pv_profile`
  ini key — loads pv's hypothesis profile `pv-NAME`:
    ci    derandomized, no example database, no deadline: the same examples on every machine, and
          nothing written into the project (hypothesis' other on-disk caches go to a temporary
          directory for the session unless $HYPOTHESIS_STORAGE_DIRECTORY says where);
    dev   random, hypothesis' own database in the cwd, 100 examples;
    hunt  random, the shared database of `pv hunt` ($PV_HUNT_DB), large example counts;
  `pv gate` selects `ci`, `pv hunt` selects `hunt`; a user's own pytest run selects none;
- only with `--pv-report FILE` (what `pv gate` passes): appends one JSON line per event to FILE as it
  happens — session start, each test's start and end (outcome, times, message), collection errors,
  session finish — flushed line by line, so a crash of pytest (OOM kill, segfault, SIGKILL) keeps every
  verdict already earned and the last `start` without an `end` names the test that was running. Under
  xdist only the controller writes (it receives every worker's events). It also orders the session
  cheapest first, so a red gate turns red early: tests without an `xdist_group` first, in collection
  order, then the groups, larger groups first (one shared setup buys more verdicts), each kept together;
  under xdist the largest group leads, so one worker starts it while the others take the cheap tests.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from typing import IO

import pytest

PROFILES = ("ci", "dev", "hunt")
PROFILE_ENV = "PV_PROFILE"
HUNT_DB_ENV = "PV_HUNT_DB"
REPORT_ENV = "PV_GATE_REPORT"  # same as --pv-report, for runs that cannot add options
CI_MAX_EXAMPLES = 40
MARKER = (
    "falsifier(id, expensive=False): a generated pv falsifier test bound to a contract FALSIFY id; "
    "expensive=True runs it without shrinking"
)
# Generated tests of kinds with a GROUP carry `xdist_group`; pytest-xdist registers that marker, and a
# project without xdist (the core install has none) would fail them under --strict-markers.
XDIST_GROUP_MARKER = "xdist_group(name): falsifiers sharing one expensive setup run on one xdist worker"


def hypothesis_profile(name: str) -> str:
    """The name pv registers its profile `name` under in hypothesis (never hypothesis' own `ci`)."""
    return f"pv-{name}"


def register_profiles(hunt_database: str | None = None) -> None:
    """Register pv-ci, pv-dev and pv-hunt with hypothesis (registering loads nothing)."""
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        hypothesis_profile("ci"),
        derandomize=True,
        database=None,
        max_examples=CI_MAX_EXAMPLES,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(hypothesis_profile("dev"), max_examples=100, deadline=None)
    if hunt_database is not None:
        from hypothesis.database import DirectoryBasedExampleDatabase

        settings.register_profile(
            hypothesis_profile("hunt"),
            derandomize=False,
            database=DirectoryBasedExampleDatabase(hunt_database),
            max_examples=1000,
            deadline=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pv", "pv falsifier gate")
    group.addoption(
        "--pv-profile",
        choices=(*PROFILES, "none"),
        default=None,
        help=f"load pv's hypothesis profile (ci: derandomized, no database). Default: ${PROFILE_ENV}, "
        "else the pv_profile ini key, else none (hypothesis' own settings).",
    )
    group.addoption(
        "--pv-report",
        metavar="FILE",
        default=None,
        help="append one JSON line per test start/end to FILE as it happens (used by `pv gate`).",
    )
    parser.addini("pv_profile", "pv hypothesis profile for this project: ci | dev | hunt", default="")


def selected_profile(config: pytest.Config) -> str | None:
    """The pv profile this run asked for, or None: option, then environment, then ini."""
    for value in (
        config.getoption("pv_profile", None),
        os.environ.get(PROFILE_ENV),
        config.getini("pv_profile"),
    ):
        if value:
            if value == "none":
                return None
            if value not in PROFILES:
                raise pytest.UsageError(
                    f"pv profile {value!r} is unknown; use one of {', '.join(PROFILES)} (or none)"
                )
            return value
    return None


class _Report:
    """The streamed JSONL record of one session (controller side)."""

    def __init__(self, path: str) -> None:
        self.fh: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives for the session
        self.tests: dict[str, dict] = {}

    def write(self, record: dict) -> None:
        self.fh.write(json.dumps(record, allow_nan=True) + "\n")
        self.fh.flush()  # in the kernel now: a SIGKILL of this process no longer loses it

    def start(self, nodeid: str) -> None:
        now = time.time()
        self.tests[nodeid] = {
            "nodeid": nodeid,
            "outcome": "passed",
            "start": now,
            "stop": now,
            "duration": 0.0,
            "message": "",
        }
        self.write({"event": "start", "nodeid": nodeid, "t": now})

    def update(self, report: pytest.TestReport) -> None:
        rec = self.tests.get(report.nodeid)
        if rec is None:  # a report without a start (an xdist worker crash report): start it now
            self.start(report.nodeid)
            rec = self.tests[report.nodeid]
        start, stop = getattr(report, "start", None), getattr(report, "stop", None)
        if start:
            rec["start"] = min(rec["start"], start)
        if stop:
            rec["stop"] = max(rec["stop"], stop)
        rec["duration"] += float(getattr(report, "duration", 0.0) or 0.0)
        if report.when not in ("setup", "call", "teardown") and report.failed:
            # xdist's report for a worker that died under this test ("worker 'gw0' crashed while
            # running …"): the process died, the test did not fail an assertion
            rec["outcome"] = "crashed"
            rec["message"] = _short(report)
        elif report.failed:
            rec["outcome"] = "failed"
            rec["message"] = rec["message"] or f"{report.when}: {_short(report)}"
        elif report.skipped and rec["outcome"] != "failed":
            rec["outcome"] = "skipped"
            longrepr = report.longrepr
            rec["message"] = (
                str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
            )
        if report.when not in ("setup", "call", "teardown"):  # xdist's "???" crash report: final
            self.end(report.nodeid)

    def end(self, nodeid: str) -> None:
        rec = self.tests.pop(nodeid, None)
        if rec is not None:
            self.write({"event": "end", **rec})


_report: _Report | None = None
_storage_dir: str | None = None  # the temporary hypothesis storage this session made (ci profile)
STORAGE_ENV = "HYPOTHESIS_STORAGE_DIRECTORY"


def _private_storage() -> None:
    """Point hypothesis' storage (its constants cache; the database is off) at a temporary directory,
    so a ci run leaves no `.hypothesis/` behind. xdist workers inherit the variable from the controller."""
    global _storage_dir
    if os.environ.get(STORAGE_ENV):
        return
    _storage_dir = tempfile.mkdtemp(prefix="pv-hypothesis-")
    os.environ[STORAGE_ENV] = _storage_dir
    from hypothesis import configuration

    setter = getattr(configuration, "set_hypothesis_home_dir", None)
    if setter is not None:
        setter(_storage_dir)


def _short(report) -> str:
    text = str(getattr(report, "longreprtext", "") or "")
    lines = [ln for ln in text.splitlines() if ln.startswith("E ")] or text.splitlines()[-3:]
    return "\n".join(ln[1:].strip() if ln.startswith("E ") else ln for ln in lines[:12])


@pytest.hookimpl(trylast=True)  # after hypothesis' own plugin and every conftest: the explicit choice wins
def pytest_configure(config: pytest.Config) -> None:
    global _report
    config.addinivalue_line("markers", MARKER)
    if not config.pluginmanager.hasplugin("xdist"):
        config.addinivalue_line("markers", XDIST_GROUP_MARKER)
    profile = selected_profile(config)
    if profile is not None:
        from hypothesis import settings

        hunt_db = os.environ.get(HUNT_DB_ENV) or os.path.join(str(config.rootpath), ".pv", "hypothesis")
        register_profiles(hunt_database=hunt_db if profile == "hunt" else None)
        settings.load_profile(hypothesis_profile(profile))
        if profile == "ci":
            _private_storage()
    path = config.getoption("pv_report", None) or os.environ.get(REPORT_ENV)
    if path and not hasattr(config, "workerinput"):  # only the controller writes
        _report = _Report(path)
        _report.write({"event": "session", "pid": os.getpid(), "t": time.time(), "profile": profile})


def pytest_unconfigure(config: pytest.Config) -> None:
    global _report, _storage_dir
    if _report is not None and not hasattr(config, "workerinput"):
        _report.fh.close()
        _report = None
    if _storage_dir is not None:
        shutil.rmtree(_storage_dir, ignore_errors=True)
        if os.environ.get(STORAGE_ENV) == _storage_dir:
            del os.environ[STORAGE_ENV]
        _storage_dir = None


def _group(item) -> str:
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return ""
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", ""))


def order_cheapest_first(items: list, parallel: bool = False) -> None:
    """Ungrouped tests first (collection order), then xdist groups, larger first, each kept together.

    With `parallel` (xdist workers) the largest group goes first instead: one worker starts its shared
    setup at once while the others take the cheap tests, so neither waits for the other's work (longest
    job first), and the group's verdicts arrive ~the ungrouped tests' time earlier."""
    groups = [_group(item) for item in items]
    size = {g: groups.count(g) for g in set(groups)}
    first = {g: groups.index(g) for g in size}
    grouped = [g for g in size if g]
    lead = max(grouped, key=lambda g: (size[g], -first[g])) if parallel and grouped else None
    order = sorted(
        range(len(items)),
        key=lambda i: (groups[i] != lead, groups[i] != "", -size[groups[i]], first[groups[i]], i),
    )
    items[:] = [items[i] for i in order]


def _without_shrinking(item) -> None:
    from hypothesis import Phase, settings

    fn = item.obj
    base = getattr(fn, "_hypothesis_internal_use_settings", None) or settings.default
    if Phase.shrink in base.phases:
        fn._hypothesis_internal_use_settings = settings(
            base, phases=tuple(p for p in base.phases if p is not Phase.shrink)
        )


def pytest_collection_modifyitems(session, config: pytest.Config, items: list) -> None:
    for item in items:
        mark = item.get_closest_marker("falsifier")
        if (
            mark is not None
            and mark.kwargs.get("expensive")
            and getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        ):
            _without_shrinking(item)
    if config.getoption("pv_report", None) or os.environ.get(REPORT_ENV):  # a gate run (xdist workers too)
        order_cheapest_first(items, parallel=hasattr(config, "workerinput"))  # an xdist worker


def pytest_runtest_logstart(nodeid: str, location) -> None:
    if _report is not None:
        _report.start(nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _report is not None:
        _report.update(report)


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    if _report is not None:
        _report.end(nodeid)


def pytest_collectreport(report) -> None:
    if _report is not None and report.failed:
        _report.write({"event": "collect-error", "nodeid": report.nodeid, "message": _short(report)})


def pytest_sessionfinish(session, exitstatus) -> None:
    if _report is not None:
        _report.write({"event": "finish", "exitstatus": int(exitstatus), "t": time.time()})
