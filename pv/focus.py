"""Report on some files of a validated set: `pv validate --changed FILES` (the pre-commit hook).

API (stable):
    focus(report, files) -> Report      findings (and suppressions) located in `files`; the rest
                                        counted in Report.not_shown, never dropped silently

The whole set was loaded and checked, so a changed file's references into unchanged contracts are
resolved; only the reporting narrows. Files are matched by real path, however they were spelled.
The exit code follows the shown findings (Report.findings), so an unrelated problem in a contract
nobody touched does not fail the commit; the verdict says how many findings elsewhere were not shown.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from pv.findings import Report


def _key(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def focus(report: Report, files: Sequence[str]) -> Report:
    wanted = {_key(f) for f in files}
    spelled = tuple(dict.fromkeys(f for f in report.files if _key(f) in wanted))
    keys: dict[str, bool] = {}

    def inside(path: str) -> bool:
        hit = keys.get(path)
        if hit is None:
            hit = keys[path] = _key(path) in wanted
        return hit

    return dataclasses.replace(
        report,
        findings=tuple(f for f in report.findings if inside(f.location.path)),
        suppressed=tuple(s for s in report.suppressed if inside(s.finding.location.path)),
        not_shown=tuple(f for f in report.findings if not inside(f.location.path)),
        focus=spelled or tuple(files),
    )
