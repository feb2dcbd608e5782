"""`trainer report`: the HTML's structure (everywhere) and how a real browser draws it (where Chromium is).

The structure checks parse the page with the standard library's HTMLParser: the sections, one <svg> per
chart, one polyline per series with exactly one point per record, and no reference that would make a
browser fetch anything.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main
from trainer.report import SECTIONS
from trainer.runlog import read_log
from trainer.svgplot import Series, line_chart, nice_ticks

CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Collects what the tests look at: sections, svgs, polylines by series, and every URL attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.svgs = 0
        self.polylines: dict[str, list[int]] = {}
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag == "svg":
            self.svgs += 1
        if tag == "polyline":
            points = (a.get("points") or "").split()
            self.polylines.setdefault(a.get("data-series") or "", []).append(len(points))
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action", "data")]


@pytest.fixture(scope="module")
def report(tiny_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    out = tmp_path_factory.mktemp("report")
    html_path, png_path = out / "r.html", out / "r.png"
    res = CliRunner().invoke(main, ["report", str(tiny_run_dir), "-o", str(html_path), "--samples", "2",
                                    "--max-new-tokens", "24"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"report -> {html_path}" in res.stdout
    return html_path, png_path, html_path.read_text(encoding="utf-8")


def test_sections_and_one_svg_per_curve(report) -> None:
    page = Page()
    page.feed(report[2])
    assert page.sections == list(SECTIONS)
    assert page.svgs == 4  # loss (train + val), lr, grad norm, tokens/s


def test_each_polyline_has_one_point_per_record(report, tiny_run_dir: Path) -> None:
    records = read_log(tiny_run_dir / "train.jsonl")
    steps = [r for r in records if "event" not in r]
    epochs = [r for r in records if r.get("event") == "epoch"]
    page = Page()
    page.feed(report[2])
    assert page.polylines == {"train loss": [len(steps)], "val loss": [len(epochs)], "lr": [len(steps)],
                              "grad_norm": [len(steps)], "tokens_per_sec": [len(steps)]}  # fmt: skip


def test_self_contained_no_network(report) -> None:
    page = Page()
    page.feed(report[2])
    text = report[2]
    assert page.urls == []  # no src/href at all: nothing to load
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert not re.search(r"url\(|@import", text)
    assert "default-src 'none'" in text  # and the browser is told to fetch nothing


def test_verdict_config_qa_and_samples_are_shown(report, tiny_run_dir: Path) -> None:
    text = report[2]
    result = json.loads((tiny_run_dir / "result.json").read_text())
    assert result["status"] in text and html.escape(result["reason"]) in text
    assert "11/11 checks passed" in text  # trainer qa's own summary line
    assert text.count("<h3>sample ") == 2 and "from the best checkpoint" in text
    for key in ("num_steps", "seq_length", "lr"):
        assert f"<td>{key}</td>" in text


def test_png_of_the_loss_curves_next_to_the_html(report) -> None:
    png = report[1].read_bytes()
    assert png.startswith(PNG_MAGIC)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (800, 450)


def test_html_escapes_what_the_run_wrote(tiny_run_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["device"] = "<script>alert(1)</script>"
    (run / "config.json").write_text(json.dumps(cfg))
    res = CliRunner().invoke(main, ["report", str(run), "--samples", "0", "--no-png"])
    assert res.exit_code == 0, res.output
    text = (run / "report.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert not (run / "report.png").exists()
    assert "samples were not requested" in text


def test_samples_that_cannot_be_drawn_are_explained_not_fatal(tiny_run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    argv = ["report", str(tiny_run_dir), "-o", str(out), "--no-png", "--tokenizer", str(tmp_path / "gone")]
    res = CliRunner().invoke(main, argv)
    assert res.exit_code == 0, res.output
    assert "no samples: " in out.read_text() and "pass --tokenizer DIR" in out.read_text()


def test_a_run_without_a_log_is_an_error(tmp_path: Path, tiny_run_dir: Path) -> None:
    (tmp_path / "config.json").write_text((tiny_run_dir / "config.json").read_text())
    res = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert res.exit_code == 8 and "logged no step" in res.stderr
    assert not (tmp_path / "report.html").exists()
    res = CliRunner().invoke(main, ["report", str(tmp_path / "absent")])
    assert res.exit_code == 8 and "no config.json" in res.stderr


def test_nice_ticks_and_a_flat_series() -> None:
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(5.3, 6.2) == [5.4, 5.6, 5.8, 6.0, 6.2]
    svg = line_chart("flat", [Series("s", [1, 2, 3], [2.0, 2.0, 2.0])])
    assert svg.count("<polyline") == 1 and "nan" not in svg
    assert "no data" in line_chart("empty", [Series("s", [], [])])


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian: apt-get install chromium)")
def test_chromium_draws_the_report(report, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    argv = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            f"--user-data-dir={tmp_path / 'p'}", "--window-size=1400,1000", f"--screenshot={shot}",
            report[0].as_uri()]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    from PIL import Image  # matplotlib's own dependency

    img = Image.open(shot).convert("RGB")
    assert img.size == (1400, 1000)
    # The charts are drawn: their plot areas (#fafafa) and the train-loss blue (#1f77b4) are on screen.
    colors = {c for _, c in img.getcolors(maxcolors=1 << 20)}
    assert (250, 250, 250) in colors
    assert any(abs(r - 31) < 12 and abs(g - 119) < 12 and abs(b - 180) < 12 for r, g, b in colors)
