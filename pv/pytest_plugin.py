"""pytest plugin used by `pv gate`: writes one JSON record per test to $PV_GATE_REPORT.

Loaded with `-p pv.pytest_plugin`. Under xdist the hooks run in the controller, which receives every
worker's reports, so one file holds the whole session. Times are absolute (epoch seconds) so the gate
can turn them into offsets from its own start.

It also orders the session cheapest first, so a red gate turns red early (and `pv gate --exitfirst`
stops soon): tests without an `xdist_group` (no shared expensive setup) run first, in collection order,
then the groups, larger groups first (one shared setup buys more verdicts), each group kept together.
"""

from __future__ import annotations

import json
import os
import time

_results: dict[str, dict] = {}
_collect_errors: list[dict] = []
_session_start = 0.0


def _group(item) -> str:
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return ""
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", ""))


def pytest_collection_modifyitems(session, config, items) -> None:
    groups = [_group(item) for item in items]
    size = {g: groups.count(g) for g in set(groups)}
    first = {g: groups.index(g) for g in size}
    order = sorted(
        range(len(items)),
        key=lambda i: (groups[i] != "", -size[groups[i]], first[groups[i]], i),
    )
    items[:] = [items[i] for i in order]


def pytest_sessionstart(session) -> None:
    global _session_start
    _session_start = time.time()


def _short(report) -> str:
    text = str(getattr(report, "longreprtext", "") or "")
    lines = [ln for ln in text.splitlines() if ln.startswith("E ")] or text.splitlines()[-3:]
    return "\n".join(ln[1:].strip() if ln.startswith("E ") else ln for ln in lines[:12])


def pytest_runtest_logreport(report) -> None:
    rec = _results.setdefault(
        report.nodeid,
        {
            "nodeid": report.nodeid,
            "outcome": "passed",
            "start": None,
            "stop": None,
            "duration": 0.0,
            "message": "",
        },
    )
    start, stop = getattr(report, "start", None), getattr(report, "stop", None)
    if start is not None:
        rec["start"] = start if rec["start"] is None else min(rec["start"], start)
    if stop is not None:
        rec["stop"] = stop if rec["stop"] is None else max(rec["stop"], stop)
    rec["duration"] += float(getattr(report, "duration", 0.0) or 0.0)
    if report.failed:
        rec["outcome"] = "failed"
        rec["message"] = rec["message"] or f"{report.when}: {_short(report)}"
    elif report.skipped and rec["outcome"] != "failed":
        rec["outcome"] = "skipped"
        longrepr = report.longrepr
        rec["message"] = (
            str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        )


def pytest_collectreport(report) -> None:
    if report.failed:
        _collect_errors.append({"nodeid": report.nodeid, "message": _short(report)})


def pytest_sessionfinish(session, exitstatus) -> None:
    path = os.environ.get("PV_GATE_REPORT")
    if not path or hasattr(session.config, "workerinput"):  # only the controller writes
        return
    payload = {
        "session_start": _session_start,
        "session_stop": time.time(),
        "exitstatus": int(exitstatus),
        "tests": sorted(_results.values(), key=lambda r: r["nodeid"]),
        "collect_errors": _collect_errors,
    }
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)
