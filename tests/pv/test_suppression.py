"""Rule selection ([tool.pv] select / ignore / per-file-ignores, CLI overrides) and inline
`# pv: ignore[...]` comments: what is suppressed, what is reported about the comments, and that
every suppression is counted in every output format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from pv.cli import cli
from pv.config import load_config
from pv.errors import ConfigError
from pv.findings import Report
from pv.inline import scan
from pv.reporters import REPORTERS, github
from pv.selection import RuleSelection, SelectorError, glob_regex, with_overrides
from pv.validate import validate_paths

TOK = "contracts/tokenizer.yaml"
# Two unattacked invariants (PV501 warnings) on lines of their own, for suppressions to aim at.
UNATTACKED = (
    "  - {id: INV-TOK-003, statement: Unattacked.}\n"
    "  - {id: INV-TOK-004, statement: Also unattacked.}\n"
    "failure_modes:"
)


def edit(root: Path, old: str, new: str, file: str = TOK) -> None:
    p = root / file
    text = p.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {file}"
    p.write_text(text.replace(old, new, 1))


def configure(root: Path, toml: str) -> None:
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + toml)


def run(root: Path, **kw) -> Report:
    return validate_paths(["contracts"], config=load_config(root), use_cache=kw.pop("use_cache", False), **kw)


def line_of(root: Path, needle: str, file: str = TOK) -> int:
    lines = (root / file).read_text().splitlines()
    return next(i for i, ln in enumerate(lines, 1) if needle in ln)


def ids(findings) -> list[str]:
    return sorted(f.rule_id for f in findings)


@pytest.fixture
def unattacked(good_tree: Path) -> Path:
    edit(good_tree, "failure_modes:", UNATTACKED)
    return good_tree


# ---- the comment scanner ----------------------------------------------------------------------------


def test_scan_trailing_own_line_stacked_and_justification() -> None:
    text = (
        "a: 1  # pv: ignore[PV501] covered by the soak test\n"
        "# pv: ignore[PV306]\n"
        "# a plain comment between\n"
        "\n"
        "# PV: Ignore[unattacked-invariant,PV101]\n"
        "b: 2\n"
    )
    got = scan(text)
    assert not got.problems
    (t, own, stacked) = got.directives
    assert (t.line, t.col, t.target, t.rules, t.justification) == (
        1,
        7,
        1,
        ("PV501",),
        "covered by the soak test",
    )
    assert (own.line, own.target, own.rules) == (2, 6, ("PV306",))
    assert (stacked.line, stacked.target, stacked.rules) == (5, 6, ("unattacked-invariant", "PV101"))


def test_scan_hash_inside_scalars_is_not_a_comment() -> None:
    text = (
        "a: '# pv: ignore[PV501]'\n"
        'b: "x # pv: ignore[PV501]\n  # pv: ignore[PV502] still the string"\n'
        "c: |  # pv: ignore[PV503]\n"
        "  # pv: ignore[PV504] block content\n"
        "  text # pv: ignore[PV505]\n"
        "d: url#pv:ignore[PV506]\n"
        "e: 1\n"
    )
    got = scan(text)
    assert [(d.line, d.rules) for d in got.directives] == [(4, ("PV503",))]  # only the header comment
    assert got.directives[0].target == 4


def test_scan_problems_and_fast_path() -> None:
    text = "a: 1  # pv: ignore\nb: 2  # pv: ignore[ ]\nc: 3  # pv: noqa[PV501]\nd: 4\n"
    got = scan(text)
    assert got.directives == ()
    assert [p.line for p in got.problems] == [1, 2, 3]
    assert "blanket" in got.problems[0].message and "noqa" in got.problems[2].message
    assert scan("a: 1  # an ordinary comment\n") == scan("")


_NOISE = st.builds(
    lambda a, b: f"{a} # pv: ignore[PV502] {b}",  # a directive-looking comment inside the content
    *[st.text(st.sampled_from(list("# pv:ignore[PV501],'\"\\ ab\n\t|>-")), max_size=30)] * 2,
)


@given(_NOISE, st.sampled_from(["double", "single", "block"]))
def test_scan_never_reads_scalar_content_as_a_comment(noise: str, style: str) -> None:
    """Whatever a string holds, written as a YAML scalar it yields no directive; a real trailing
    comment after it is still found, on its line."""
    if style == "double":
        scalar = json.dumps(noise)
    elif style == "single":
        scalar = "'" + noise.replace("'", "''") + "'"
    else:
        if any(ch in noise for ch in "\t\r") or noise != noise.strip("\n "):
            return  # block scalars keep tabs and edge whitespace literally; not this property's subject
        scalar = "|\n" + "\n".join("  " + ln for ln in noise.split("\n"))
    text = f"a: {scalar}\nb: 1  # pv: ignore[PV501]\n"
    loaded = yaml.safe_load(text)
    assert loaded["a"].rstrip("\n") == noise.rstrip("\n") or style != "block"
    got = scan(text)
    assert [(d.rules, d.target) for d in got.directives] == [(("PV501",), text.count("\n"))]
    assert got.problems == ()


def test_scan_directive_at_end_covers_nothing() -> None:
    (d,) = scan("a: 1\n# pv: ignore[PV501]\n\n").directives
    assert d.target == 0


# ---- inline suppression in a run --------------------------------------------------------------------


def test_inline_trailing_and_own_line_suppress_and_are_counted(unattacked: Path) -> None:
    edit(unattacked, "statement: Unattacked.}", "statement: Unattacked.}  # pv: ignore[PV501] known gap")
    edit(unattacked, "  - {id: INV-TOK-004", "  # pv: ignore[unattacked-invariant]\n  - {id: INV-TOK-004")
    report = run(unattacked)
    assert report.findings == ()
    assert [(s.by, s.finding.rule_id) for s in report.suppressed] == [("inline", "PV501")] * 2
    first = report.suppressed[0]
    assert first.reason == f"`# pv: ignore[PV501]` on line {line_of(unattacked, 'INV-TOK-003')}: known gap"


def test_unused_suppression_is_reported_where_the_comment_is(good_tree: Path) -> None:
    edit(good_tree, "  - id: INV-TOK-001\n", "  - id: INV-TOK-001  # pv: ignore[PV501, PV306]\n")
    report = run(good_tree)
    assert ids(report.findings) == ["PV801", "PV801"]
    assert {f.location.line for f in report.findings} == {line_of(good_tree, "INV-TOK-001  #")}
    assert [f.message.split(":")[0] for f in report.findings] == [
        "no PV306 finding on this line",
        "no PV501 finding on this line",
    ]
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1


def test_unknown_rule_and_prefix_in_a_comment_are_invalid(good_tree: Path) -> None:
    edit(good_tree, "  - id: INV-TOK-001\n", "  - id: INV-TOK-001  # pv: ignore[PV599, PV5]\n")
    msgs = [f.message for f in run(good_tree).findings]
    assert len(msgs) == 2 and all("PV802" not in m for m in msgs)
    assert ids(run(good_tree).findings) == ["PV802", "PV802"]
    assert any("'PV599' matches no rule" in m for m in msgs) and any("is a prefix" in m for m in msgs)


def test_blanket_suppression_is_refused_and_suppresses_nothing(unattacked: Path) -> None:
    edit(unattacked, "statement: Unattacked.}", "statement: Unattacked.}  # pv: ignore")
    report = run(unattacked)
    assert ids(report.findings) == ["PV501", "PV501", "PV802"]
    assert report.suppressed == ()


def test_comment_for_a_rule_the_config_ignores_is_unused(unattacked: Path) -> None:
    configure(unattacked, 'ignore = ["PV5"]\n')
    edit(unattacked, "statement: Unattacked.}", "statement: Unattacked.}  # pv: ignore[PV501]")
    report = run(unattacked)
    (f,) = report.findings
    assert f.rule_id == "PV801" and "off for this file (ignore PV5)" in f.message
    assert {s.by for s in report.suppressed} == {"config"}


def test_load_failures_cannot_be_suppressed(good_tree: Path) -> None:
    (good_tree / "contracts" / "bad.yaml").write_text("a: [1  # pv: ignore[PV004]\n")
    configure(good_tree, '[tool.pv.per-file-ignores]\n"contracts/bad.yaml" = ["PV"]\n')
    assert ids(run(good_tree).findings) == ["PV004"]


# ---- configuration ----------------------------------------------------------------------------------


def test_select_prefix_and_ignore_by_name(unattacked: Path) -> None:
    configure(unattacked, 'select = ["PV3", "PV4"]\n')
    report = run(unattacked)
    assert report.findings == ()
    assert [(s.by, s.reason) for s in report.suppressed] == [("config", "not selected")] * 2
    (unattacked / "pyproject.toml").write_text(
        (unattacked / "pyproject.toml")
        .read_text()
        .replace('select = ["PV3", "PV4"]', 'ignore = ["unattacked-invariant"]')
    )
    assert [s.reason for s in run(unattacked).suppressed] == ["ignore unattacked-invariant"] * 2


@pytest.mark.parametrize(
    ("select", "ignore", "reported"),
    [
        (["PV5"], ["PV501"], False),  # the more specific ignore wins
        (["PV501"], ["PV5"], True),  # the more specific select wins
        (["PV5"], ["PV5"], False),  # a tie goes to ignore
        (["ALL"], ["PV"], False),
        (["unattacked-invariant"], ["PV5"], True),  # a name is as specific as it gets
    ],
)
def test_most_specific_selector_decides(good_config, select, ignore, reported: bool) -> None:
    import dataclasses

    sel = RuleSelection.for_config(
        dataclasses.replace(good_config, select=tuple(select), ignore=tuple(ignore))
    )
    assert (sel.reason("PV501", "contracts/x.yaml") is None) is reported


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("contracts/tokenizer.yaml", "contracts/tokenizer.yaml", True),
        ("tokenizer.yaml", "contracts/deep/tokenizer.yaml", True),  # no '/': the name, anywhere
        ("contracts/*.yaml", "contracts/deep/x.yaml", False),  # '*' stays in one segment
        ("contracts/**/*.yaml", "contracts/deep/x.yaml", True),
        ("contracts/**/*.yaml", "contracts/x.yaml", True),
        ("contracts/legacy", "contracts/legacy/a/b.yaml", True),  # a directory covers what is below
        ("contracts/legacy", "contracts/legacy2.yaml", False),
        ("contracts/[ab].yaml", "contracts/b.yaml", True),
        ("contracts/[!ab].yaml", "contracts/b.yaml", False),
    ],
)
def test_per_file_glob(pattern: str, path: str, hit: bool) -> None:
    assert bool(glob_regex(pattern).fullmatch(path)) is hit


def test_per_file_ignores_are_relative_to_the_project_root(
    unattacked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(
        unattacked, '[tool.pv.per-file-ignores]\n"contracts/tok*.yaml" = ["PV501"]\n"model.yaml" = ["PV5"]\n'
    )
    monkeypatch.chdir(unattacked / "contracts")  # findings now read "tokenizer.yaml": still matched
    report = validate_paths(["."], config=load_config(unattacked), use_cache=False)
    assert report.findings == ()
    assert {s.reason for s in report.suppressed} == {"per-file-ignores 'contracts/tok*.yaml': PV501"}


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        (
            'ignore = ["PV599"]\n',
            "[tool.pv].ignore: 'PV599' matches no rule. Rules starting with PV5: PV501 … PV506.",
        ),
        ('select = ["PV7"]\n', "[tool.pv].select: 'PV7' matches no rule"),
        ('ignore = ["unatacked-invariant"]\n', "Did you mean unattacked-invariant"),
        ("ignore = [501]\n", "must be a list of rule ids"),
        ('ignore = ["PV00"]\n', "names only load rules (PV0xx), which cannot be ignored"),
        ('per-file-ignores = ["x"]\n', "per-file-ignores must be a table of glob = [rule ids]"),
        (
            '[tool.pv.per-file-ignores]\n"x.yaml" = ["PV9999"]\n',
            "per-file-ignores.'x.yaml': 'PV9999' matches no",
        ),
        ("per_file_ignores = {}\n", "Did you mean per-file-ignores?"),
    ],
)
def test_bad_selection_config_is_a_clear_error(good_tree: Path, toml: str, needle: str) -> None:
    configure(good_tree, toml)
    with pytest.raises(ConfigError) as exc:
        load_config(good_tree)
    assert needle in str(exc.value) and "pyproject.toml" in str(exc.value)


def test_cli_overrides_replace_or_extend_the_config(good_config) -> None:
    import dataclasses

    cfg = dataclasses.replace(good_config, select=("PV3",), ignore=("PV301",))
    assert with_overrides(cfg, select=["pv5"]).select == ("PV5",)
    assert with_overrides(cfg, extend_select=["PV4"]).select == ("PV3", "PV4")
    assert with_overrides(cfg, ignore=[]).ignore == ()
    assert with_overrides(cfg, extend_ignore=["PV302"]).ignore == ("PV301", "PV302")
    assert with_overrides(good_config, extend_select=["PV4"]).select == ("ALL", "PV4")
    with pytest.raises(SelectorError, match="--extend-ignore: 'PV0' names only load rules"):
        with_overrides(cfg, extend_ignore=["PV0"])


def test_cli_flags_and_show_suppressed(unattacked: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["validate", "--no-cache", "--strict"])
    assert out.exit_code == 1
    out = runner.invoke(cli, ["validate", "--no-cache", "--strict", "--ignore", "PV501,PV306"])
    assert out.exit_code == 0, out.output
    assert out.output.endswith("0 errors, 0 warnings (2 suppressed by config)\n")
    out = runner.invoke(cli, ["validate", "--no-cache", "--ignore", "PV501", "--show-suppressed"])
    assert out.output.count("[suppressed by config: ignore PV501]") == 2
    out = runner.invoke(cli, ["validate", "--select", "PV5O1"])
    assert (
        out.exit_code == 2
        and "--select: 'PV5O1' matches no rule. Did you mean" in out.output
        and "PV501" in out.output
    )


# ---- counts in every format, and the cache ---------------------------------------------------------


@pytest.fixture
def mixed(unattacked: Path) -> Report:
    """One finding suppressed by config, one inline, one PV801 reported."""
    configure(unattacked, '[tool.pv.per-file-ignores]\n"contracts/tokenizer.yaml" = ["PV501"]\n')
    edit(unattacked, "binds_to: AC-TOK-001", "binds_to: AC-TOK-009  # pv: ignore[PV302] pending AC")
    edit(unattacked, "  - id: INV-TOK-001\n", "  - id: INV-TOK-001  # pv: ignore[PV101]\n")
    report = run(unattacked)
    assert ids(report.findings) == ["PV801"]
    assert sorted(s.by for s in report.suppressed) == ["config", "config", "inline"]
    return report


def test_verdict_line_counts_suppressions(mixed: Report) -> None:
    out = REPORTERS["text"](mixed)
    assert out.splitlines()[-1].endswith("0 errors, 1 warning (3 suppressed: 2 by config, 1 inline)")
    assert "suppressed" not in "".join(out.splitlines()[:-1])  # listed only with --show-suppressed


def test_json_sarif_junit_github_carry_the_counts(mixed: Report) -> None:
    doc = json.loads(REPORTERS["json"](mixed))
    c = doc["counts"]
    assert (c["suppressed"], c["suppressed_by_config"], c["suppressed_inline"]) == (3, 2, 1)
    assert sorted(s["suppressed_by"] for s in doc["suppressed"]) == ["config", "config", "inline"]
    assert any(s["reason"].endswith("pending AC") for s in doc["suppressed"]) and doc["focus"] is None

    run_ = json.loads(REPORTERS["sarif"](mixed))["runs"][0]
    marked = [r for r in run_["results"] if "suppressions" in r]
    assert len(run_["results"]) == 4 and len(marked) == 3
    assert sorted(r["suppressions"][0]["kind"] for r in marked) == ["external", "external", "inSource"]
    assert all(r["suppressions"][0]["status"] == "accepted" for r in marked)
    assert run_["properties"]["counts"]["suppressed_inline"] == 1
    assert "3 suppressed" in run_["properties"]["summary"]

    props = {p.get("name"): p.get("value") for p in ET.fromstring(REPORTERS["junit"](mixed)).iter("property")}
    assert (props["suppressed_by_config"], props["suppressed_inline"]) == ("2", "1")
    assert "(3 suppressed: 2 by config, 1 inline)" in props["verdict"]
    assert REPORTERS["junit"](mixed).count("suppressed inline: `# pv: ignore[PV302]`") == 1

    gh = REPORTERS["github"](mixed)
    assert gh.count("::warning") == 1 and "(3 suppressed: 2 by config, 1 inline)" in gh.splitlines()[-1]
    summary = github.render_step_summary(mixed)
    assert "<summary>3 suppressed</summary>" in summary and summary.count("| config: ") == 2


def test_sarif_log_with_suppressions_is_schema_shaped(mixed: Report) -> None:
    """The suppression objects use only SARIF 2.1.0's properties and values."""
    for r in json.loads(REPORTERS["sarif"](mixed))["runs"][0]["results"]:
        for s in r.get("suppressions", []):
            assert set(s) <= {"kind", "status", "justification", "guid", "location", "properties"}
            assert s["kind"] in ("inSource", "external") and s["status"] in (
                "accepted",
                "underReview",
                "rejected",
            )


def test_changing_the_ignore_list_misses_the_report_cache(unattacked: Path) -> None:
    def cached_run() -> Report:
        return validate_paths(["contracts"], config=load_config(unattacked), documents=False)

    first = cached_run()
    assert ids(first.findings) == ["PV501", "PV501"] and not first.extra["report_cached"]
    again = cached_run()
    assert again.extra["report_cached"] and again.findings == first.findings
    configure(unattacked, 'ignore = ["PV501"]\n')
    changed = cached_run()
    assert not changed.extra["report_cached"] and changed.findings == ()
    hit = cached_run()  # the suppressions themselves come back from the cache
    assert hit.extra["report_cached"] and hit.suppressed == changed.suppressed and len(hit.suppressed) == 2
    edit(unattacked, "statement: Unattacked.}", "statement: Unattacked.}  # pv: ignore[PV501]")
    assert ids(cached_run().findings) == ["PV801"]  # the comment is in the content: a miss too


# ---- pv rules / pv explain ----------------------------------------------------------------------------


def test_rules_show_the_project_selection(good_tree: Path) -> None:
    configure(good_tree, 'ignore = ["PV5", "PV9"]\n')
    out = CliRunner().invoke(cli, ["rules"]).output
    row = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    assert " on " in row["PV101"] and " always " in row["PV004"] and "off (ignore PV5)" in row["PV501"]
    off = [rid for rid in row if rid.startswith(("PV5", "PV9"))]
    assert all("off (ignore PV" in row[rid] for rid in off)
    assert out.splitlines()[-1].startswith(f"{len(row)} rules, {len(row) - len(off)} selected ([tool.pv] in ")
    rows = json.loads(CliRunner().invoke(cli, ["rules", "--format", "json"]).output)
    by_id = {r["id"]: r for r in rows}
    assert by_id["PV501"]["selected"] is False and by_id["PV004"]["selection"] == "always"


def test_explain_says_how_to_suppress() -> None:
    out = CliRunner().invoke(cli, ["explain", "PV501"]).output
    assert "`# pv: ignore[PV501] why`" in out and 'ignore = ["PV501"]' in out and "--show-suppressed" in out
    assert "cannot be suppressed" in CliRunner().invoke(cli, ["explain", "yaml-syntax"]).output
