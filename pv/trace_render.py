"""Renderers of a pv.trace.Trace: Markdown tables, and one self-contained HTML page (inline CSS + SVG,
no scripts, no external assets).

The graph is laid out here in five columns (AC | gate | invariant | falsifier | test); each node sits at
the mean row of what points into it (one barycentre pass), so edges mostly run left to right without
crossing. Dangling nodes and edges are drawn in the warning colour, inert ones dashed grey.
"""

from __future__ import annotations

from html import escape

from pv.trace import COLUMN_TITLES, COLUMNS, DANGLING, INERT, Trace

ROW_H = 30  # px per node row
NODE_H = 22
COL_W = (150, 170, 200, 260, 430)  # widths per column; tests have long node ids
GAP = 70  # horizontal room for edges between columns
PAD = 20
CHAR_W = 6.6  # monospace 11px glyph width, to clip labels that would overflow their box

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}
code{font:12px ui-monospace,monospace}
.legend span{display:inline-block;padding:0 8px;margin-right:10px;border-radius:3px}
.ok{background:#ddf4ff;border:1px solid #54aeff} .dangling{background:#ffebe9;border:1px solid #cf222e}
.inert{background:#f6f8fa;border:1px dashed #8c959f}
svg text{font:11px ui-monospace,monospace} svg .head{font:bold 12px system-ui,sans-serif}
.scroll{overflow-x:auto;border:1px solid #d0d7de;padding:8px}
"""

FILL = {
    "ok": ("#ddf4ff", "#54aeff", ""),
    DANGLING: ("#ffebe9", "#cf222e", ""),
    INERT: ("#f6f8fa", "#8c959f", "4 3"),
}


def _layout(trace: Trace) -> dict[tuple[str, str], tuple[float, float]]:
    """(x, y) of every node's top-left corner."""
    xs, x = {}, PAD
    for kind, w in zip(COLUMNS, COL_W, strict=True):
        xs[kind] = x
        x += w + GAP
    into: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for e in trace.edges:
        into.setdefault(e.dst, []).append(e.src)
    rows: dict[tuple[str, str], float] = {}
    for kind in COLUMNS:
        column = [n for n in trace.nodes if n.kind == kind]

        def bary(n, idx):
            parents = [rows[p] for p in into.get(n.key, []) if p in rows]
            return (sum(parents) / len(parents) if parents else float("inf"), idx)

        ranked = sorted(enumerate(column), key=lambda t: bary(t[1], t[0]))
        for i, (_, n) in enumerate(ranked):
            rows[n.key] = i
    top = PAD + 24  # room for the column headings
    return {key: (xs[key[0]], top + r * ROW_H) for key, r in rows.items()}


def _clip(text: str, width: float) -> str:
    room = max(4, int((width - 10) / CHAR_W))
    return text if len(text) <= room else text[: room - 1] + "…"


def render_svg(trace: Trace) -> str:
    pos = _layout(trace)
    width = PAD * 2 + sum(COL_W) + GAP * (len(COLUMNS) - 1)
    per_col = [sum(1 for n in trace.nodes if n.kind == k) for k in COLUMNS]
    height = PAD * 2 + 24 + max([1, *per_col]) * ROW_H
    colw = dict(zip(COLUMNS, COL_W, strict=True))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="traceability graph">'
    ]
    for kind in COLUMNS:
        pos_x = PAD + sum(COL_W[: COLUMNS.index(kind)]) + GAP * COLUMNS.index(kind)
        out.append(
            f'<text class="head" x="{pos_x}" y="{PAD + 10}">{escape(COLUMN_TITLES[kind])} '
            f"({per_col[COLUMNS.index(kind)]})</text>"
        )
    for e in trace.edges:
        if e.src not in pos or e.dst not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        x1 += colw[e.src[0]]
        y1 += NODE_H / 2
        y2 += NODE_H / 2
        mid = (x1 + x2) / 2
        colour = "#cf222e" if e.dangling else "#8c959f"
        dash = ' stroke-dasharray="5 3"' if e.dangling else ""
        out.append(
            f'<path d="M{x1:.0f},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2:.0f},{y2:.0f}" '
            f'fill="none" stroke="{colour}" stroke-width="1.2"{dash}/>'
        )
    for n in trace.nodes:
        x, y = pos[n.key]
        w = colw[n.kind]
        fill, stroke, dash = FILL.get(n.status, FILL["ok"])
        tip = "\n".join(filter(None, [n.id, n.label, *n.notes, str(n.location) if n.location else ""]))
        out.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{x}" y="{y}" width="{w}" height="{NODE_H}" rx="4" fill="{fill}" stroke="{stroke}"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
            f'<text x="{x + 5}" y="{y + 15}">{escape(_clip(n.id, w))}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def render_html(trace: Trace) -> str:
    chain_rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td{_cls(trace, k, i)}>{escape(i) if i else '—'}</td>"
            for k, i in zip(COLUMNS, row, strict=True)
        )
        + "</tr>"
        for row in trace.chains
    )
    problems = "\n".join(
        f'<tr><td class="{p.status}">{p.status}</td><td>{escape(p.kind)}</td>'
        f"<td><code>{escape(p.id)}</code></td>"
        f"<td><code>{escape(str(p.location) if p.location else '—')}</code></td>"
        f"<td>{escape(p.message)}</td></tr>"
        for p in trace.problems
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pv trace</title><style>{STYLE}</style></head>
<body>
<h1>pv trace</h1>
<p>{escape(summary_line(trace))}</p>
<p class="legend"><span class="ok">ok</span>
<span class="dangling">dangling: resolves nowhere, or nothing hangs off it</span>
<span class="inert">inert: prose only, never executes</span> Hover a node for its statement.</p>
<div class="scroll">{render_svg(trace)}</div>
<h2>Chains ({len(trace.chains)})</h2>
<table><tr>{"".join(f"<th>{escape(COLUMN_TITLES[k])}</th>" for k in COLUMNS)}</tr>
{chain_rows}
</table>
<h2>Problems ({len(trace.problems)})</h2>
{_table(PROBLEM_HEAD, problems) if trace.problems else "<p>None.</p>"}
</body></html>
"""


PROBLEM_HEAD = "<tr><th>status</th><th>what</th><th>id</th><th>where</th><th>why</th></tr>"


def _table(head: str, rows: str) -> str:
    return f"<table>{head}\n{rows}</table>"


def _cls(trace: Trace, kind: str, id_: str) -> str:
    node = trace.node(kind, id_) if id_ else None
    return f' class="{node.status}"' if node is not None and node.status != "ok" else ""


# ---------------------------------------------------------------- markdown


def summary_line(trace: Trace) -> str:
    c = trace.counts
    executable = sum(
        1
        for n in trace.nodes
        if n.kind == "falsifier" and n.status != INERT and any("→" in note for note in n.notes)
    )
    return (
        f"{trace.contracts} contract(s): {c['ac']} acceptance criteria, {c['gate']} gates, "
        f"{c['invariant']} invariants, {c['falsifier']} falsifiers ({executable} executable), "
        f"{c['test']} tests — {trace.dangling} dangling, {trace.inert} inert"
    )


def _cell(trace: Trace, kind: str, id_: str) -> str:
    if not id_:
        return "—"
    node = trace.node(kind, id_)
    text = f"`{id_}`" if kind == "test" else id_
    if node is None:
        return text
    if node.status == DANGLING:
        return f"⚠ {text} (dangling)"
    if node.status == INERT:
        return f"○ {text} (inert)"
    return text


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(trace: Trace) -> str:
    lines = [
        "# pv trace",
        "",
        summary_line(trace),
        "",
        "Legend: ⚠ dangling (a reference that resolves nowhere, or nothing hangs off it) · "
        "○ inert (never executes: prose only)",
        "",
        "## Chains",
        "",
        "| AC | gate | invariant | falsifier | test |",
        "|---|---|---|---|---|",
    ]
    for row in trace.chains:
        cells = [_cell(trace, kind, id_) for kind, id_ in zip(COLUMNS, row, strict=True)]
        lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
    evidence = [(e.src[1], e.dst[1]) for e in trace.edges if e.src[0] == "gate" and e.dst[0] == "test"]
    if evidence:
        lines += ["", "## Gate evidence", "", "| gate | test |", "|---|---|"]
        lines += [f"| {g} | {_md(_cell(trace, 'test', t))} |" for g, t in evidence]
    lines += ["", f"## Problems ({len(trace.problems)})", ""]
    if trace.problems:
        lines += ["| status | what | id | where | why |", "|---|---|---|---|---|"]
        for p in trace.problems:
            where = str(p.location) if p.location else "—"
            lines.append(f"| {p.status} | {p.kind} | {_md(p.id)} | {_md(where)} | {_md(p.message)} |")
    elif not trace.counts.get("invariant"):  # "every invariant is backed" would be vacuously true
        lines.append("None, but nothing was traced either: these contracts define no invariants.")
    else:
        n = trace.counts.get("invariant", 0)
        lines.append(f"None: every reference resolves and all {n} invariants have an executable falsifier.")
    return "\n".join(lines) + "\n"
