"""The digest as Markdown, HTML or PDF.

The digest is first laid out as blocks (headings, paragraphs, tables, images), which each
format writes its own way: Markdown and HTML carry the charts as PNG data URIs (one
self-contained file; Markdown may instead write them as files beside it), the PDF
(fpdf2, with matplotlib's DejaVu Sans for any Unicode text) places them on the page.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxray.exceptions import QueryError
from cxray.reports._charts import charts
from cxray.reports._digest import Digest

__all__ = ["FORMATS", "MEDIA_TYPES", "render"]

FORMATS = ("html", "pdf", "md")
MEDIA_TYPES = {"html": "text/html", "pdf": "application/pdf", "md": "text/markdown"}


@dataclass(frozen=True)
class _Block:
    kind: str  # "h1" | "h2" | "p" | "note" | "table" | "image"
    text: str = ""
    head: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    image: bytes = b""
    widths: tuple[float, ...] = ()  # the PDF's relative column widths (default: even)


# ----------------------------------------------------------------------------- numbers
def _num(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.{digits}f}"


def _interval(lo: Any, hi: Any, digits: int = 1) -> str:
    if lo is None or hi is None:
        return "—"
    return f"[{_num(lo, digits)}, {_num(hi, digits)}]"


def _signed(x: Any, digits: int = 1) -> str:
    return "—" if x is None else f"{x:+,.{digits}f}"


def _p(x: Any) -> str:
    if x is None:
        return "—"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


STATUS = {"on_target": "on target", "watch": "watch", "action": "action", None: "—"}


# ------------------------------------------------------------------------------ layout
def _blocks(digest: Digest, images: dict[str, bytes]) -> list[_Block]:
    p = digest.period
    out = [
        _Block("h1", f"{digest.title}: {p.label}"),
        _Block(
            "p",
            f"Period {p.start} to {p.end}, compared with {p.previous_start} to "
            f"{p.previous_end}. Generated {digest.generated_at:%Y-%m-%d %H:%M} UTC"
            + ("." if digest.pii else "; personal data masked."),
        ),
    ]
    for s in digest.sections:
        out.append(_Block("h2", s.title))
        if not s.available:
            out.append(_Block("note", s.note or "not available"))
            continue
        out.extend(_SECTIONS[s.key](s.data, images))
        if s.note:
            out.append(_Block("note", s.note))
    return out


def _kpis(d: dict[str, Any], images: dict[str, bytes]) -> list[_Block]:
    sig = d["significant"]
    summary = (
        f"{d['on_target']} KPIs on target, {d['watch']} to watch, {d['action']} needing "
        f"action. {len(sig)} significant change{'s' if len(sig) != 1 else ''} "
        f"(Benjamini-Hochberg across the digest's KPIs, FDR {d['fdr']:g})."
    )
    bench = any(r.get("benchmark") is not None for r in d["rows"])
    head = ["KPI", "value", "95% CI", "n", "previous", "change", "q", "status", "target"]
    if bench:
        head += ["benchmark", "gap [95% CI]"]
    rows = []
    for r in d["rows"]:
        change = _signed(r["change"]) + (" *" if r["significant"] else "")
        row = [
            f"{r['title']} ({r['unit']})" if r.get("unit") else r["title"],
            _num(r["estimate"]) if not r["suppressed"] else "—",
            _interval(r["ci_low"], r["ci_high"])
            if not r["suppressed"]
            else (r["reason"] or "").split(";")[0],
            _num(r["n"]),
            _num(r["previous"]),
            change,
            _p(r["q_value"]),
            STATUS.get(r["status"], str(r["status"])),
            _num(r["target"]),
        ]
        if bench:
            gap = r.get("gap")
            row += [
                _num(r.get("benchmark")),
                "—"
                if gap is None
                else f"{_signed(gap)} {_interval(r.get('gap_ci_low'), r.get('gap_ci_high'))}",
            ]
        rows.append(tuple(row))
    widths = (2.6, 1.0, 1.6, 0.9, 1.0, 0.9, 0.8, 1.1, 0.9) + ((1.0, 2.0) if bench else ())
    out = [
        _Block("p", summary),
        _Block("table", head=tuple(head), rows=tuple(rows), widths=widths),
    ]
    out.append(_Block("note", f"* significant. Method: {d['method']}."))
    for name in ("trend", "changes"):
        if name in images:
            out.append(_Block("image", name, image=images[name]))
    return out


def _drivers(d: dict[str, Any], images: dict[str, bytes]) -> list[_Block]:
    rows = tuple(
        (r["driver"], _num(r["share"]), _interval(r["ci_low"], r["ci_high"]),
         str(r.get("direction") or ""), str(r.get("priority") or ""))
        for r in d["rows"]
    )  # fmt: skip
    out = [
        _Block("p", f"n = {_num(d['n'])} responses; {d['method']}."),
        _Block("table", head=("driver", "share %", "95% CI", "direction", "priority"), rows=rows),
    ]
    if "drivers" in images:
        out.append(_Block("image", "drivers", image=images["drivers"]))
    return out


def _themes(d: dict[str, Any], images: dict[str, bytes]) -> list[_Block]:
    rows = tuple(
        (str(r["theme"]), _num(r["volume"]), _num(100 * r["share"]) if r["share"] is not None
         else "—", _interval(*(100 * x if x is not None else None
                               for x in (r["share_ci_low"], r["share_ci_high"]))),
         _num(r["sentiment"], 2))
        for r in d["rows"]
    )  # fmt: skip
    out = [_Block("table", head=("theme", "comments", "share %", "95% CI", "sentiment"), rows=rows)]
    if "themes" in images:
        out.append(_Block("image", "themes", image=images["themes"]))
    return out


def _emerging(d: dict[str, Any], images: dict[str, bytes]) -> list[_Block]:
    if not d["rows"]:
        return [_Block("p", f"{_num(d.get('n_cases'))} cases looked at.")]
    head = tuple(d["rows"][0].keys())
    rows = tuple(tuple(_cell(r.get(k)) for k in head) for r in d["rows"])
    return [_Block("table", head=head, rows=rows)]


def _cell(x: Any) -> str:
    if isinstance(x, tuple) and len(x) == 2:
        return _interval(*x, 0)
    if isinstance(x, float) and abs(x) >= 1000:
        return _num(x, 0)
    if isinstance(x, float):
        return _num(x, 3 if abs(x) < 1 else 1)
    return "—" if x is None else str(x)


def _est(e: Any, digits: int = 1, scale: float = 1.0) -> str:
    if not isinstance(e, dict) or e.get("estimate") is None:
        reason = e.get("reason") if isinstance(e, dict) else None
        return f"— ({reason})" if reason else "—"
    v = e["estimate"] * scale
    lo, hi = e.get("ci_low"), e.get("ci_high")
    ci = _interval(lo * scale if lo is not None else None, hi * scale if hi is not None else None)
    return f"{_num(v, digits)} {ci}, n = {_num(e.get('n'))}"


def _loop(d: dict[str, Any], images: dict[str, bytes]) -> list[_Block]:
    f = d.get("followups") or {}
    out = [
        _Block(
            "p",
            f"{_num(d['alerts'])} alerts fired; {_num(f.get('opened'))} follow-ups opened, "
            f"{_num(f.get('pending'))} pending.",
        ),
        _Block(
            "table",
            head=("measure", "estimate [95% CI], n"),
            rows=(
                ("follow-up rate %", _est(d.get("followup_rate"))),
                ("median hours to contact", _est(d.get("time_to_contact"))),
                ("SLA met %", _est(d.get("sla_met"))),
            ),
        ),
    ]
    if d["by_rule"]:
        out.append(
            _Block(
                "table",
                head=("rule", "alerts"),
                rows=tuple((str(r["rule"]), _num(r["alerts"])) for r in d["by_rule"]),
            )
        )
    if d["latest"]:
        out.append(
            _Block(
                "table",
                head=("latest alerts", "rule", "fired"),
                rows=tuple((str(a["title"]), str(a["rule"]), a["fired_at"]) for a in d["latest"]),
            )
        )
    return out


def _churn(d: dict[str, Any], images: dict[str, bytes]) -> list[_Block]:
    mean = d.get("mean_probability")
    text = (
        f"{_num(d.get('customers'))} active customers scored by model {d['model_id']}; "
        f"expected share leaving within the horizon {_num(100 * mean if mean else None)}% "
        f"{_interval(*(100 * x if x is not None else None for x in (d['ci_low'], d['ci_high'])))}."
    )
    rows = tuple((str(r["customer_id"]), _num(r["probability"], 3)) for r in d["top"])
    return [
        _Block("p", text),
        _Block("table", head=("most at risk", "probability"), rows=rows),
    ]


def _value(d: dict[str, Any], images: dict[str, bytes]) -> list[_Block]:
    out = [
        _Block(
            "p",
            f"Revenue at risk {_num(d.get('estimate'), 0)} "
            f"{_interval(d.get('ci_low'), d.get('ci_high'), 0)} over {_num(d.get('n'))} "
            f"customers; {d.get('method')}.",
        )
    ]
    if d["groups"]:
        head = tuple(d["groups"][0].keys())
        rows = tuple(tuple(_cell(g.get(k)) for k in head) for g in d["groups"])
        out.append(_Block("table", head=head, rows=rows))
    return out


_SECTIONS = {
    "kpis": _kpis,
    "drivers": _drivers,
    "themes": _themes,
    "emerging": _emerging,
    "loop": _loop,
    "churn": _churn,
    "value": _value,
}


# ------------------------------------------------------------------------------ formats
def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _md(blocks: list[_Block], files: Path | None) -> str:
    lines: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            lines += [f"# {b.text}", ""]
        elif b.kind == "h2":
            lines += [f"## {b.text}", ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "note":
            lines += [f"_{b.text}_", ""]
        elif b.kind == "table":
            esc = [str(h).replace("|", "\\|") for h in b.head]
            lines.append("| " + " | ".join(esc) + " |")
            lines.append("|" + "---|" * len(b.head))
            for r in b.rows:
                lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
            lines.append("")
        elif b.kind == "image":
            if files is not None:
                files.mkdir(parents=True, exist_ok=True)
                (files / f"{b.text}.png").write_bytes(b.image)
                lines += [f"![{b.text}]({files.name}/{b.text}.png)", ""]
            else:
                lines += [f"![{b.text}]({_data_uri(b.image)})", ""]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem;display:block;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left}th{background:#f6f8fa}
.note{color:#57606a;font-style:italic}img{max-width:100%;height:auto;display:block}
"""


def _html(blocks: list[_Block]) -> str:
    e = html.escape
    title = next((b.text for b in blocks if b.kind == "h1"), "cxray digest")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for b in blocks:
        if b.kind in ("h1", "h2"):
            parts.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "note":
            parts.append(f"<p class='note'>{e(b.text)}</p>")
        elif b.kind == "table":
            head = "".join(f"<th>{e(str(h))}</th>" for h in b.head)
            body = "".join(
                "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in b.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b.kind == "image":
            parts.append(f"<img alt='{e(b.text)} chart' src='{_data_uri(b.image)}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _pdf(blocks: list[_Block]) -> bytes:
    import io

    import matplotlib
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVu", "I", str(fonts / "DejaVuSans-Oblique.ttf"))
    pdf.set_title(next((b.text for b in blocks if b.kind == "h1"), "cxray digest"))
    pdf.set_creator("cxray")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for b in blocks:
        if b.kind == "h1":
            pdf.set_font("DejaVu", "B", 15)
            pdf.multi_cell(width, 8, b.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif b.kind == "h2":
            pdf.ln(3)
            pdf.set_font("DejaVu", "B", 12)
            pdf.multi_cell(width, 7, b.text, new_x="LMARGIN", new_y="NEXT")
        elif b.kind in ("p", "note"):
            pdf.set_font("DejaVu", "I" if b.kind == "note" else "", 9)
            pdf.multi_cell(width, 5, b.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif b.kind == "table":
            size = 7 if len(b.head) > 6 else 8
            pdf.set_font("DejaVu", "", size)
            first = 2.6 if len(b.head) > 3 else 1.6
            with pdf.table(
                width=width,
                col_widths=b.widths or (first, *([1.0] * (len(b.head) - 1))),
                line_height=size * 0.55,
                headings_style=FontFace(emphasis="BOLD", fill_color=(246, 248, 250)),
                text_align="LEFT",
            ) as table:
                table.row([str(h) for h in b.head])
                for r in b.rows:
                    table.row([str(c) for c in r])
            pdf.ln(2)
        elif b.kind == "image":
            # a PNG's width and height: the first chunk (IHDR), bytes 16-23
            w_px = int.from_bytes(b.image[16:20], "big")
            h_px = int.from_bytes(b.image[20:24], "big")
            w = min(width, w_px / 110 * 25.4)
            h = w * h_px / w_px
            if pdf.get_y() + h > pdf.h - pdf.b_margin:
                pdf.add_page()
            pdf.image(io.BytesIO(b.image), w=w, h=h)
            pdf.ln(2)
    return bytes(pdf.output())


def render(digest: Digest, fmt: str, *, files: Path | None = None) -> bytes:
    """The digest as ``fmt`` (``html``, ``pdf``, ``md``), its charts as PNG images.

    ``files``: for Markdown, a folder the charts are written to (linked relative to the
    Markdown file beside it) instead of data URIs."""
    if fmt not in FORMATS:
        raise QueryError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    images = digest.__dict__.get("_charts")
    if images is None:  # drawn once per digest, whichever formats it is rendered in
        images = charts(digest)
        object.__setattr__(digest, "_charts", images)
    blocks = _blocks(digest, images)
    if fmt == "md":
        return _md(blocks, files).encode("utf-8")
    if fmt == "html":
        return _html(blocks).encode("utf-8")
    return _pdf(blocks)
