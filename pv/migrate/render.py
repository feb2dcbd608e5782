"""Text of the migrated contract (YAML, canonical key order) and of its `*.migration.md` report."""

from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString

from pv.migrate.common import Migration

ORDER = (
    "schema",
    "id",
    "version",
    "status",
    "kind",
    "title",
    "summary",
    "depends_on",
    "references",
    "changelog",
    "constants",
    "constraints",
    "acceptance_criteria",
    "invariants",
    "failure_modes",
    "gates",
    "falsifiers",
)


FOLD_AT = 88  # prose longer than this is written as a folded block, broken at spaces


def _fold(text: str) -> str:
    """Long one-line prose as a `>-` block: reads back to the same string, no trailing blanks."""
    if len(text) <= FOLD_AT or "\n" in text or "  " in text or text != text.strip():
        return text
    out = FoldedScalarString(text)
    pos, last = [], 0
    for i, ch in enumerate(text):
        if ch == " " and i - last > FOLD_AT - 12:
            pos.append(i)
            last = i
    out.fold_pos = pos  # type: ignore[attr-defined]
    return out


def _prose_blocks(node: object) -> object:
    if isinstance(node, dict):
        return {k: _prose_blocks(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_prose_blocks(v) for v in node]
    return _fold(node) if isinstance(node, str) else node


def _quote_dates(data: dict) -> dict:
    # Quoted so YAML 1.1 readers (PyYAML) keep dates as strings, as the schema requires.
    for entry in data.get("changelog", []):
        entry["date"] = DoubleQuotedScalarString(entry["date"])
    return data


def render_yaml(m: Migration, source: str, report_name: str) -> str:
    data = _quote_dates(_prose_blocks({k: m.data[k] for k in ORDER if k in m.data}))  # type: ignore[arg-type]
    yaml = YAML()
    yaml.width = 4096  # no plain-scalar wrapping (it leaves trailing blanks); long prose is folded
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(data, buf)
    head = [
        f"# Migrated by `pv migrate` from {source} ({m.dialect} dialect).",
        f"# {len(m.unmapped)} source field(s) were not mapped; they are listed, with their values, in",
        f"# {report_name}. Review the notes there before relying on this file.",
    ]
    return "\n".join(head) + "\n" + buf.getvalue()


def _yaml_block(value: object) -> str:
    yaml = YAML()
    yaml.width = 100
    buf = io.StringIO()
    yaml.dump({"value": value}, buf)
    return buf.getvalue()


def render_report(m: Migration, source: str, output: str) -> str:
    lines = [
        f"# Migration report: {source}",
        "",
        f"- Source dialect: {m.dialect}",
        f"- Output: {output} (schema pv/v1)",
        f"- Unmapped source fields: {len(m.unmapped)}",
        "",
        "## Decisions to review",
        "",
    ]
    lines += [f"- {n}" for n in m.notes] or ["- none"]
    lines += ["", "## Fields not carried into the v1 file", ""]
    if not m.unmapped:
        lines.append("Everything was mapped.")
    for u in m.unmapped:
        where = f"line {u.line}" if u.line else "line unknown"
        lines += [f"### `{u.path}` ({where})", "", f"{u.reason}.", ""]
        lines += ["```yaml", _yaml_block(u.value).rstrip("\n"), "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
