"""`trainer report`: one self-contained HTML page about a run, plus a PNG of its loss curves.

build_report(run_dir) gathers (never prints): the config, the verdict (result.json), the step and epoch
records, `trainer qa`'s checks and a few samples from the best checkpoint. render_html(report) is a pure
function to text: inline CSS and inline SVG charts (trainer/svgplot.py), no script, no external asset,
and a Content-Security-Policy that forbids the browser to fetch anything. render_png uses matplotlib's
Agg backend (no display needed).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from trainer.errors import DataError, TrainerError
from trainer.qa import QaReport, qa_run
from trainer.runlog import CONFIG_FILE, RESULT_FILE, TRAIN_LOG, read_log
from trainer.svgplot import Series, fmt, line_chart

# The browser may fetch nothing at all: only the inline style is allowed.
CSP = "default-src 'none'; style-src 'unsafe-inline'"
SECTIONS = ("verdict", "curves", "samples", "qa", "config")
# (record field, chart title, y label) of the per-step curves after the loss chart.
STEP_CURVES = (
    ("lr", "learning rate", "lr"),
    ("grad_norm", "gradient norm (before clipping)", "L2 norm"),
    ("tokens_per_sec", "throughput", "tokens / s"),
)


@dataclass(frozen=True)
class RunReport:
    run_dir: str
    config: dict[str, Any]
    result: dict[str, Any] | None
    steps: list[dict[str, Any]]
    epochs: list[dict[str, Any]]
    qa: QaReport | None
    qa_error: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    samples_note: str = ""


def build_report(
    run_dir: str | Path,
    *,
    num_samples: int = 3,
    max_new_tokens: int = 64,
    prompt: str = "",
    seed: int = 0,
    tokenizer: str | None = None,
) -> RunReport:
    run = Path(run_dir)
    if not (run / CONFIG_FILE).is_file():
        raise DataError(f"no {CONFIG_FILE}: not a trainer run directory", path=str(run / CONFIG_FILE))
    config = _read_json(run / CONFIG_FILE)
    result = _read_json(run / RESULT_FILE) if (run / RESULT_FILE).is_file() else None
    records = read_log(run / TRAIN_LOG, torn_tail_ok=True) if (run / TRAIN_LOG).is_file() else []
    steps = [r for r in records if r.get("event") is None]
    epochs = [r for r in records if r.get("event") == "epoch"]
    if not steps and not epochs:
        raise DataError(f"{TRAIN_LOG} is missing or empty: the run logged no step, nothing to report",
                        path=str(run / TRAIN_LOG))  # fmt: skip
    try:
        qa, qa_error = qa_run(run), None
    except TrainerError as exc:  # qa refusing the directory is itself a finding to show
        qa, qa_error = None, str(exc)
    samples, note = _samples(run, num_samples, max_new_tokens, prompt, seed, tokenizer)
    return RunReport(str(run), config, result, steps, epochs, qa, qa_error, samples, note)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read JSON: {exc}", path=str(path)) from exc
    if not isinstance(data, dict):
        raise DataError("must be a JSON object", path=str(path))
    return data


def _samples(
    run: Path, n: int, max_new_tokens: int, prompt: str, seed: int, tokenizer: str | None
) -> tuple[list[dict[str, Any]], str]:
    if n == 0:
        return [], "samples were not requested (--samples 0)"
    from trainer import checkpoint
    from trainer.inference import load_trained, sample

    if not checkpoint.list_checkpoints(run):
        return [], "no checkpoint in this run (a synthetic run writes none), so no samples"
    try:
        trained = load_trained(run, "best", tokenizer=tokenizer)
    except TrainerError as exc:  # a moved tokenizer or a damaged checkpoint: the rest is still a report
        return [], f"no samples: {exc}"
    got = sample(trained, [prompt], num_samples=n, max_new_tokens=max_new_tokens, seed=seed)
    note = (f"{n} sample(s) from the best checkpoint, {trained.label}; temperature 0.8, top-k 50, "
            f"seed {seed}, at most {max_new_tokens} new tokens")  # fmt: skip
    return [s.to_dict() for s in got], note


# ------------------------------------------------------------------------------------------ rendering


def loss_series(report: RunReport) -> list[Series]:
    return [
        Series("train loss", [r["step"] for r in report.steps], [r["train_loss"] for r in report.steps]),
        Series("val loss", [r["step"] for r in report.epochs], [r["val_loss"] for r in report.epochs], True),
    ]


def charts(report: RunReport) -> list[str]:
    out = [line_chart("loss", loss_series(report), y_label="nats / token")]
    for key, title, unit in STEP_CURVES:
        pts = [(r["step"], r[key]) for r in report.steps if isinstance(r.get(key), int | float)]
        out.append(line_chart(title, [Series(key, [p[0] for p in pts], [p[1] for p in pts])], y_label=unit))
    return out


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1340px;
color:#1b1b1b;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#666}.status{display:inline-block;padding:2px 8px;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#2e7d32}.bad{background:#c62828}.na{background:#777}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(650px,1fr));gap:8px}
.chart{background:#fff;font-size:11px}.chart-title{font-size:13px;font-weight:600}
.plot-area{fill:#fafafa;stroke:#bbb}.grid{stroke:#e4e4e4}.axis{stroke:#888}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;word-break:break-word;margin:4px 0 12px}
"""


def _verdict(report: RunReport) -> str:
    res = report.result
    if res is None:
        return (
            '<p><span class="status na">NO RESULT</span> result.json is missing: the run did not finish.</p>'
        )
    cls = "ok" if res.get("status") == "OK" else "bad"
    rows = [("reason", res.get("reason")), ("exit code", res.get("exit_code")), ("drive", res.get("drive")),
            ("epochs / steps", f"{res.get('epochs')} / {res.get('steps')}"),
            ("best val loss", _num(res.get("best_val_loss"))),
            ("final val loss", _num(res.get("final_val_loss"))),
            ("target val loss", _num(res.get("target_val_loss"))),
            ("wall seconds", _num(res.get("wall_seconds")))]  # fmt: skip
    return f'<p><span class="status {cls}">{escape(str(res.get("status")))}</span></p>' + _table(rows)


def _num(v: Any) -> str:
    return fmt(float(v)) if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def _table(rows: list[tuple[str, Any]], head: tuple[str, ...] = ()) -> str:
    h = "".join(f"<th>{escape(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{f'<tr>{h}</tr>' if h else ''}{body}</table>"


def _qa(report: RunReport) -> str:
    if report.qa is None:
        return f"<p>qa refused the directory: {escape(str(report.qa_error))}</p>"
    rows = [
        ("N/A" if c.ok is None else ("PASS" if c.ok else "FAIL"), c.name, c.detail) for c in report.qa.checks
    ]
    return f"<p>{escape(report.qa.summary())}</p>" + _table(rows, ("", "check", "detail"))


def _samples_html(report: RunReport) -> str:
    parts = [f'<p class="muted">{escape(report.samples_note)}</p>']
    for i, s in enumerate(report.samples, 1):
        prompt = s["prompt"] or "(empty: a new document)"
        parts.append(f"<h3>sample {i} <span class='muted'>prompt {escape(repr(prompt))}, "
                     f"{s['new_tokens']} tokens, stopped at {escape(s['stopped'])}</span></h3>"
                     f"<pre>{escape(s['prompt'])}<b>{escape(s['completion'])}</b></pre>")  # fmt: skip
    return "".join(parts)


def render_html(report: RunReport) -> str:
    name = Path(report.run_dir).name or report.run_dir
    drive = "synthetic (scripted loss, no model)" if report.config.get("synthetic") else "real"
    summary = (f"model {report.config.get('model')}, {len(report.steps)} step records, "
               f"{len(report.epochs)} epochs, drive {drive}")  # fmt: skip
    config_rows = sorted(report.config.items())
    sections = {
        "verdict": _verdict(report),
        "curves": '<div class="charts">' + "".join(charts(report)) + "</div>",
        "samples": _samples_html(report),
        "qa": _qa(report),
        "config": _table([(k, json.dumps(v)) for k, v in config_rows], ("field", "value")),
    }
    body = "".join(f'<section id="{key}"><h2>{key}</h2>{sections[key]}</section>' for key in SECTIONS)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>trainer report: {escape(name)}</title><style>{CSS}</style></head><body>"
        f'<h1>trainer report: {escape(name)}</h1><p class="muted">{escape(report.run_dir)} · '
        f"{escape(summary)}</p>{body}</body></html>\n"
    )


def render_png(report: RunReport) -> bytes:
    """The loss curves (train per step, val per epoch) as a PNG, for READMEs and issues."""
    try:
        from matplotlib.figure import Figure  # a bare Figure renders PNG with Agg: no pyplot, no display
    except ImportError as exc:
        raise DataError("the PNG needs matplotlib (pip install matplotlib), or pass --no-png") from exc
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot()
    for s in loss_series(report):
        ax.plot(s.xs, s.ys, marker="o" if s.markers else None, markersize=4, linewidth=1.4, label=s.name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats / token)")
    ax.set_title(f"{Path(report.run_dir).name}: loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
