"""Output formats. Each is a pure `render(report, **opts) -> str`; the CLI picks one by name.

Options every renderer accepts (and ignores when irrelevant): strict, quiet, color, root.
A new format is one module plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from pv.reporters import github, junit, sarif, text
from pv.reporters import json as json_reporter

Render = Callable[..., str]

REPORTERS: dict[str, Render] = {
    "text": text.render,
    "json": json_reporter.render,
    "sarif": sarif.render,
    "github": github.render,
    "junit": junit.render,
}


def get_reporter(name: str) -> Render:
    try:
        return REPORTERS[name]
    except KeyError:
        raise KeyError(f"unknown format {name!r}; choose one of {', '.join(REPORTERS)}") from None
